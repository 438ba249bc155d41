#!/usr/bin/env bash
# A database made with the migrations of an older commit (before two applied files were edited),
# upgraded to this one by `scimctl migrate`, then the PostgreSQL suite run on it: what a deployment
# that started early lives through. deploy/test.sh runs it with the stack up.
#   Tests/Upgrade/upgrade-test.sh [COMMIT]   (default: 0c23807, the application directory's first migrations)
source "$(dirname "$0")/../../deploy/dev-stack/stack.sh"
commit=${1:-0c23807}
[ -z "${DATABASE_URL:-}" ] || { say "the upgrade test needs the local cluster (DATABASE_URL is set)"; exit 0; }
git -C "$PROJECT_DIR" cat-file -e "$commit^{commit}" 2>/dev/null || die "commit $commit is not in this clone's history"
old=$(mktemp -d)
trap 'rm -rf "$old"' EXIT
git -C "$PROJECT_DIR" archive "$commit" deploy/sql | tar -x -C "$old"
database=scim_upgrade
admin_url=$(local_database_url scim | sed "s|/scim?|/$database?|")
app_url=$(local_database_url scim_app | sed "s|/scim?|/$database?|")
run_as_pg "$(pg_bin)/psql" -h "$(pg_socket_dir)" -p "$PG_PORT" -U scim -d postgres -qc "drop database if exists $database" >/dev/null
run_as_pg "$(pg_bin)/psql" -h "$(pg_socket_dir)" -p "$PG_PORT" -U scim -d postgres -qc "create database $database" >/dev/null
say "migrating a new database to $commit ($(ls "$old/deploy/sql" | wc -l) files), then to this commit"
# That commit did not have row-level security yet: its state is allowed on the way.
"$PROJECT_DIR/.build/$BUILD_CONFIG/scimctl" migrate --database-url "$admin_url" --dir "$old/deploy/sql" --allow-without-row-level-security 2>/dev/null
"$PROJECT_DIR/.build/$BUILD_CONFIG/scimctl" migrate --database-url "$admin_url"
state=$(psql "$admin_url" -Atc "select pg_get_constraintdef(oid) like '%superseded%' from pg_constraint where conname = 'reapply_jobs_state_check'")
trigger=$(psql "$admin_url" -Atc "select count(*) from pg_trigger where tgname = 'api_keys_keep_revoked'")
[ "$state" = "t" ] && [ "$trigger" = "1" ] || die "the upgraded database lacks what the edited migrations added (state: $state, trigger: $trigger)"
say "migrating as an owner who is not a superuser: row-level security cannot be switched on, and migrate says so"
plain=scim_plain
run_as_pg "$(pg_bin)/psql" -h "$(pg_socket_dir)" -p "$PG_PORT" -U scim -d postgres -q >/dev/null <<SQL
drop database if exists $plain;
do \$\$ begin if not exists (select 1 from pg_roles where rolname = 'scim_plain_owner') then create role scim_plain_owner login; end if; end \$\$;
create database $plain owner scim_plain_owner;
SQL
plain_url=$(local_database_url scim_plain_owner | sed "s|/scim?|/$plain?|")
plain_status=0
"$PROJECT_DIR/.build/$BUILD_CONFIG/scimctl" migrate --database-url "$plain_url" 2>"$old/plain.err" || plain_status=$?
cat "$old/plain.err"
[ "$plain_status" -ne 0 ] && grep -q "row-level security is OFF" "$old/plain.err" || die "migrate did not fail loudly without row-level security (exit $plain_status)"
# Captured first: `| grep -q` would stop reading at the warning, and scimctl's later output would
# then die of SIGPIPE, failing the pipeline for no fault of migrate's.
allowed=$("$PROJECT_DIR/.build/$BUILD_CONFIG/scimctl" migrate --database-url "$plain_url" --allow-without-row-level-security 2>&1) \
    || die "--allow-without-row-level-security did not let migrate succeed: $allowed"
grep -q "warning: row-level security is OFF" <<<"$allowed" || die "--allow-without-row-level-security gave no warning: $allowed"
run_as_pg "$(pg_bin)/psql" -h "$(pg_socket_dir)" -p "$PG_PORT" -U scim -d postgres -qc "drop database $plain" >/dev/null

say "the PostgreSQL suite on the upgraded database"
cd "$PROJECT_DIR"
SCIM_TEST_DATABASE_URL="$admin_url" SCIM_TEST_APP_DATABASE_URL="$app_url" swift test --no-parallel --filter SCIMPostgresTests
