#!/usr/bin/env bash
# A database made with the migrations of an older commit (before two applied files were edited),
# upgraded to this one by `scimctl migrate`, then the PostgreSQL suite run on it: what a deployment
# that started early lives through. deploy/test.sh runs it with the stack up.
#   Tests/Upgrade/upgrade-test.sh [COMMIT]   (default: 0c23807, the application directory's first migrations)
source "$(dirname "$0")/../../deploy/lib/stack.sh"
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
"$PROJECT_DIR/.build/$BUILD_CONFIG/scimctl" migrate --database-url "$admin_url" --dir "$old/deploy/sql"
"$PROJECT_DIR/.build/$BUILD_CONFIG/scimctl" migrate --database-url "$admin_url"
state=$(psql "$admin_url" -Atc "select pg_get_constraintdef(oid) like '%superseded%' from pg_constraint where conname = 'reapply_jobs_state_check'")
trigger=$(psql "$admin_url" -Atc "select count(*) from pg_trigger where tgname = 'api_keys_keep_revoked'")
[ "$state" = "t" ] && [ "$trigger" = "1" ] || die "the upgraded database lacks what the edited migrations added (state: $state, trigger: $trigger)"
say "the PostgreSQL suite on the upgraded database"
cd "$PROJECT_DIR"
SCIM_TEST_DATABASE_URL="$admin_url" SCIM_TEST_APP_DATABASE_URL="$app_url" swift test --no-parallel --filter SCIMPostgresTests
