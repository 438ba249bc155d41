#!/usr/bin/env bash
# Measures the server against the database ceiling ../shared/bench/README.md defines, taken in the
# same run on this machine (bench/ceiling.sh: a scratch cluster and pgbench with the shared scripts):
#   - GET /Users?filter=userName eq and POST /Users with the shared wrk scripts against a fresh
#     tenant of 10,000 users created through POST, at 16 clients: the two ratios; and req/s at
#     1, 4, 16 and 64 clients, drawn with the ceilings in bench/throughput.svg;
#   - for comparison, pgbench running our own match and insert statements on our own tables, and
#     nginx answering by itself;
#   - a one-member PATCH on a 100,000-member group against the same PATCH on a 10-member group;
#   - paging the 100,000-user tenant with startIndex and count=100 as Okta imports (every page in
#     turn): the last pages against the first, the first against a one-user filter GET, and a jump
#     straight to the last page; totalResults on the first and last page;
#   - 20-member PATCHes (Entra's batches) against a create, and in a 1,000-user against the
#     100,000-user tenant (every user holding a role through a group in both);
#   - an Entra-shaped initial cycle of 20,000 users (bench/cycle.sh), every write read back, its
#     20-member PATCHes against its creates (the issue's measure: both under the cycle's load), then
#     concurrent membership PATCHes on groups that share members (deadlocks counted);
#   - the workers' memory after about 100,000 and about 1,000,000 GET requests of a long run.
# Needs the stack: ./deploy/quickstart.sh first. Usage: bench/run.sh [seconds per run, default 10]
# Appends a dated table to bench/results.md. Loopback only; every run is bounded in time.
source "$(dirname "$0")/../deploy/dev-stack/stack.sh"
source "$(dirname "$0")/wrk-results.sh"
# A failed measurement shows as an empty cell in the table rather than ending the run.
set +e
seconds=${1:-10}
command -v wrk >/dev/null || as_root apt-get install -y -qq wrk >/dev/null
PGBENCH="$(pg_bin)/pgbench"
URL="http://$HTTP_LISTEN"
DB=$(cat "$LOCAL_DIR/database_url")
# Fixtures are written and read as the owner: the responder's role sees one tenant per transaction
# (row-level security). pgbench runs as the responder's role, scoping its transactions as it does.
ADMIN_DB=$(cat "$LOCAL_DIR/admin_database_url")
SCIMCTL="$PROJECT_DIR/.build/$BUILD_CONFIG/scimctl"
WORK=$(mktemp -d)
# The per-tenant rate limit (200/s by default) would measure nginx's limiter, not the server: lift
# it for the run, and put it back afterwards.
SCIM_TENANT_RATE=1000000 SCIM_ADDRESS_RATE=1000000 nginx_start
trap 'rm -rf "$WORK"; nginx_start' EXIT

SHARED=${SCIM_SHARED_BENCH:-$PROJECT_DIR/../shared/bench}
say "the database ceiling (scratch cluster, shared pgbench scripts): $seconds s each"
eval "$("$PROJECT_DIR/bench/ceiling.sh" "$seconds" 16 | grep -E '^(SELECT|INSERT)_TPS=[0-9.]+$')"

say "a fresh tenant of 10,000 users, created through POST /Users"
SHARED_TENANT="bench-$(date +%s)"
"$SCIMCTL" tenant create "$SHARED_TENANT" --name "Benchmark (shared scripts)" --enable-scim >/dev/null
SHARED_TOKEN=$("$SCIMCTL" key create "$SHARED_TENANT" --name bench --scope scim | sed -n 's/^SCIM_TOKEN=//p')
seq 1 10000 | xargs -P 16 -I{} curl -s -o /dev/null -w '%{http_code}\n' -X POST "$URL/scim/v2/$SHARED_TENANT/Users" \
    -H "Authorization: Bearer $SHARED_TOKEN" -H 'Content-Type: application/scim+json' \
    -d '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bench.user{}@example.com","active":true}' \
    | sort | uniq -c >"$WORK/preload"
shared_wrk() { # kind clients output
    SCIM_PREFIX="/scim/v2/$SHARED_TENANT" SCIM_TOKEN="$SHARED_TOKEN" SCIM_USER_COUNT=10000 \
        wrk -t"$(( $2 < 2 ? 1 : 2 ))" -c"$2" -d"${seconds}s" -s "$SHARED/scim_$1.lua" "$URL" >"$3" 2>&1
}
for clients in 1 4 16 64; do
    say "shared GET and POST scripts, $clients clients: $seconds s each"
    shared_wrk get_filter "$clients" "$WORK/get-$clients"
    shared_wrk post_users "$clients" "$WORK/post-$clients"
done

# The users of a benchmark tenant (t in the DO blocks below), the same shape at every size.
bench_users() { # count
    cat <<SQL
insert into scim.users (tenant_id, user_name, external_id, display_name, attributes)
        select t, 'user' || i || '@example.com', 'ext-' || i, 'User ' || i,
               jsonb_build_object('userName', 'user' || i || '@example.com', 'displayName', 'User ' || i,
                   'name', jsonb_build_object('givenName', 'Given', 'familyName', 'Family' || i),
                   'emails', jsonb_build_array(jsonb_build_object('value', 'user' || i || '@example.com', 'type', 'work', 'primary', true)))
        from generate_series(1, $1) i;
SQL
}
say "preparing the bench tenant (100,000 users, a 100,000-member and a 10-member group)"
"$SCIMCTL" tenant show bench >/dev/null 2>&1 || "$SCIMCTL" tenant create bench --name "Benchmark" --enable-scim >/dev/null
for prefix in $("$SCIMCTL" key list bench | awk 'NR>1 && $3 == "active" {print $1}'); do "$SCIMCTL" key revoke bench "$prefix" >/dev/null; done
export BENCH_TOKEN=$("$SCIMCTL" key create bench --name bench --scope scim | sed -n 's/^SCIM_TOKEN=//p')
psql "$ADMIN_DB" -q -v ON_ERROR_STOP=1 <<SQL
do \$\$
declare t uuid := (select id from scim.tenants where slug = 'bench');
begin
    delete from scim.users where tenant_id = t and user_name like 'new-%';
    if (select count(*) from scim.users where tenant_id = t) <> 100000 then
        delete from scim.users where tenant_id = t;
        delete from scim.groups where tenant_id = t;
        $(bench_users 100000)
    end if;
    if not exists (select 1 from scim.groups where tenant_id = t and display_name = 'Big') then
        insert into scim.groups (tenant_id, display_name, attributes) values (t, 'Big', '{"displayName":"Big"}'), (t, 'Small', '{"displayName":"Small"}');
        insert into scim.group_members (tenant_id, group_id, member_id)
        select t, (select id from scim.groups where tenant_id = t and display_name = 'Big'), id from scim.users where tenant_id = t;
        insert into scim.group_members (tenant_id, group_id, member_id)
        select t, (select id from scim.groups where tenant_id = t and display_name = 'Small'), id from scim.users where tenant_id = t limit 10;
    end if;
end \$\$;
analyze scim.users; analyze scim.group_members;
SQL
TENANT=$(psql "$ADMIN_DB" -Atc "select id from scim.tenants where slug = 'bench'")
psql "$ADMIN_DB" -Atc "select id from scim.users where tenant_id = '$TENANT' order by random() limit 2000" >"$WORK/ids"
BIG=$(psql "$ADMIN_DB" -Atc "select id from scim.groups where tenant_id = '$TENANT' and display_name = 'Big'")
SMALL=$(psql "$ADMIN_DB" -Atc "select id from scim.groups where tenant_id = '$TENANT' and display_name = 'Small'")
export BENCH_IDS="$WORK/ids" BENCH_USERS=100000 BENCH_RUN=$(date +%s)

latency() { awk '/Latency/ {print $2; exit}' "$1"; }
# The shared scripts print a summary line of their own with the median.
p50() { grep -o 'p50=[0-9.]*ms' "$1" | head -1 | cut -d= -f2; }
non2xx() { awk '/Non-2xx/ {n = $NF} END {print n + 0}' "$1"; }

say "nginx alone: $seconds s"
wrk -t2 -c32 -d"${seconds}s" "$URL/bench/static" >"$WORK/static" 2>&1
say "match query through the stack: $seconds s"
wrk -t2 -c32 -d"${seconds}s" -s "$PROJECT_DIR/bench/lua/match.lua" "$URL" >"$WORK/match" 2>&1
# The statements one match request runs, as the responder sends them: the key check (which scopes
# the round trip to the tenant) and the list query in one pipeline, a transaction of its own (the
# to_char formats spelled with chr(58) for ':' since pgbench reads ":name" as a variable).
BENCH_PREFIX=$(echo "$BENCH_TOKEN" | cut -d_ -f2)
BENCH_HASH=$(printf %s "$BENCH_TOKEN" | sha256sum | cut -c1-64)
cat >"$WORK/match.sql" <<SQL
\set n random(1, 100000)
\startpipeline
select k.id, k.scopes, t.id as tenant_id, t.scim_enabled, t.schema_version, t.mapping_version,
       set_config('scim.tenant_id', t.id::text, true) as scoped_tenant,
       (k.last_used_at is null or k.last_used_at < now() - interval '1 minute') as stale
  from scim.api_keys k join scim.tenants t on t.id = k.tenant_id
 where k.prefix = '$BENCH_PREFIX' and t.slug = 'bench' and k.secret_hash = '\\x$BENCH_HASH'::bytea
   and k.revoked_at is null and (k.expires_at is null or k.expires_at > now());
select r.id, r.attributes::text as attributes, r.version,
       to_char(r.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24' || chr(58) || 'MI' || chr(58) || 'SS.MS"Z"') as created,
       to_char(r.updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24' || chr(58) || 'MI' || chr(58) || 'SS.MS"Z"') as modified,
       (select jsonb_agg(jsonb_build_object('value', g.id, 'display', g.display_name, 'type', 'direct') order by g.display_name)::text
          from scim.group_members m join scim.groups g on g.tenant_id = m.tenant_id and g.id = m.group_id
         where m.tenant_id = r.tenant_id and m.member_id = r.id) as groups, 1 as total
  from scim.users r
 where r.tenant_id = '$TENANT'::uuid and (lower(r.user_name) = lower('user' || :n || '@example.com'))
 limit 100;
\endpipeline
SQL
say "pgbench, the same SELECT: $seconds s"
"$PGBENCH" "$DB" -n -M prepared -c32 -j2 -T "$seconds" -f "$WORK/match.sql" >"$WORK/pg-match" 2>&1
say "creates through the stack: $seconds s"
wrk -t2 -c32 -d"${seconds}s" -s "$PROJECT_DIR/bench/lua/create.lua" "$URL" >"$WORK/create" 2>&1
cat >"$WORK/insert.sql" <<SQL
begin;
select set_config('scim.tenant_id', '$TENANT', true);
insert into scim.users (tenant_id, user_name, attributes)
values (current_setting('scim.tenant_id')::uuid, 'new-pg-' || gen_random_uuid() || '@example.com',
        jsonb_build_object('userName', 'x', 'name', jsonb_build_object('givenName', 'New', 'familyName', 'User'), 'active', true,
            'emails', jsonb_build_array(jsonb_build_object('value', 'n@example.com', 'type', 'work', 'primary', true))));
commit;
SQL
say "pgbench, the same INSERT: $seconds s"
"$PGBENCH" "$DB" -n -M prepared -c32 -j2 -T "$seconds" -f "$WORK/insert.sql" >"$WORK/pg-insert" 2>&1
say "one-member PATCH, 10-member group then 100,000-member group: $seconds s each, one client"
BENCH_GROUP=$SMALL wrk -t1 -c1 -d"${seconds}s" -s "$PROJECT_DIR/bench/lua/member.lua" "$URL" >"$WORK/small" 2>&1
BENCH_GROUP=$BIG wrk -t1 -c1 -d"${seconds}s" -s "$PROJECT_DIR/bench/lua/member.lua" "$URL" >"$WORK/big" 2>&1
say "20-member PATCHes (add 20, remove them again) in the 100,000-user tenant and in a 1,000-user one, and creates: $seconds s each, one client"
# The same shape of tenant at two sizes, each with an empty group the PATCHes fill and empty again.
psql "$ADMIN_DB" -q -v ON_ERROR_STOP=1 <<SQL
do \$\$
declare t uuid;
begin
    if not exists (select 1 from scim.tenants where slug = 'bench-1k') then
        insert into scim.tenants (slug, name, scim_enabled) values ('bench-1k', 'Benchmark (1,000 users)', true);
    end if;
    t := (select id from scim.tenants where slug = 'bench-1k');
    if (select count(*) from scim.users where tenant_id = t) <> 1000 then
        delete from scim.users where tenant_id = t;
        $(bench_users 1000)
    end if;
    -- As after Entra's cycle: every user has its application user, and the group grants a role,
    -- so each membership change refreshes its members' role assignments.
    for t in select id from scim.tenants where slug in ('bench', 'bench-1k') loop
        -- Users deleted by an earlier run leave their application users behind (unlinked, under the
        -- same names the new users take).
        delete from app.users where tenant_id = t and scim_user_id is null;
        insert into app.users (tenant_id, scim_user_id, username, active)
        select u.tenant_id, u.id, u.user_name, true from scim.users u
        where u.tenant_id = t and not exists (select 1 from app.users a where a.tenant_id = t and a.scim_user_id = u.id);
        delete from scim.groups where tenant_id = t and display_name = 'Team20';
        insert into scim.groups (tenant_id, display_name, attributes) values (t, 'Team20', '{"displayName":"Team20"}');
        if not exists (select 1 from app.roles where tenant_id = t and name = 'Team20 role') then
            insert into app.roles (tenant_id, name) values (t, 'Team20 role');
            insert into scim.group_role_mappings (tenant_id, match_by, match_value, role_id)
            select t, 'displayName', 'Team20', id from app.roles where tenant_id = t and name = 'Team20 role';
        end if;
        -- And every user already holds a role through a group ('Big', all of the tenant), so a
        -- refresh meets a tenant full of group-derived roles, as a real one is.
        if not exists (select 1 from scim.groups where tenant_id = t and display_name = 'Big') then
            insert into scim.groups (tenant_id, display_name, attributes) values (t, 'Big', '{"displayName":"Big"}');
            insert into scim.group_members (tenant_id, group_id, member_id)
            select t, (select id from scim.groups where tenant_id = t and display_name = 'Big'), id from scim.users where tenant_id = t;
        end if;
        if not exists (select 1 from app.roles where tenant_id = t and name = 'Everyone') then
            insert into app.roles (tenant_id, name) values (t, 'Everyone');
            insert into scim.group_role_mappings (tenant_id, match_by, match_value, role_id)
            select t, 'displayName', 'Big', id from app.roles where tenant_id = t and name = 'Everyone';
        end if;
        insert into app.role_assignments (tenant_id, user_id, role_id, source, group_id, assigned_by)
        select t, a.id, r.id, 'group', g.id, 'provisioning'
          from scim.groups g
          join scim.group_members m on m.tenant_id = t and m.group_id = g.id
          join app.users a on a.tenant_id = t and a.scim_user_id = m.member_id
          join app.roles r on r.tenant_id = t and r.name = 'Everyone'
         where g.tenant_id = t and g.display_name = 'Big'
        on conflict do nothing;
    end loop;
end \$\$;
analyze scim.users; analyze app.users; analyze scim.group_members; analyze app.role_assignments;
SQL
for prefix in $("$SCIMCTL" key list bench-1k | awk 'NR>1 && $3 == "active" {print $1}'); do "$SCIMCTL" key revoke bench-1k "$prefix" >/dev/null; done
SMALL_TENANT_TOKEN=$("$SCIMCTL" key create bench-1k --name bench --scope scim | sed -n 's/^SCIM_TOKEN=//p')
psql "$ADMIN_DB" -Atc "select u.id from scim.users u join scim.tenants t on t.id = u.tenant_id where t.slug = 'bench-1k'" >"$WORK/ids-1k"
team20() { psql "$ADMIN_DB" -Atc "select g.id from scim.groups g join scim.tenants t on t.id = g.tenant_id where t.slug = '$1' and g.display_name = 'Team20'"; }
[ -n "$(team20 bench)" ] && [ -n "$(team20 bench-1k)" ] || die "bench/run.sh: the Team20 groups were not made (see the SQL error above)"
BENCH_TENANT=bench BENCH_GROUP=$(team20 bench) wrk -t1 -c1 -d"${seconds}s" -s "$PROJECT_DIR/bench/lua/members20.lua" "$URL" >"$WORK/members20-big" 2>&1
BENCH_TOKEN=$SMALL_TENANT_TOKEN BENCH_IDS="$WORK/ids-1k" BENCH_TENANT=bench-1k BENCH_GROUP=$(team20 bench-1k) \
    wrk -t1 -c1 -d"${seconds}s" -s "$PROJECT_DIR/bench/lua/members20.lua" "$URL" >"$WORK/members20-small" 2>&1
# Names of their own: the 32-client creates above used this run's.
BENCH_RUN=$((BENCH_RUN + 1)) wrk -t1 -c1 -d"${seconds}s" -s "$PROJECT_DIR/bench/lua/create.lua" "$URL" >"$WORK/create-1" 2>&1
psql "$ADMIN_DB" -qc "delete from scim.users where tenant_id = '$TENANT' and user_name like 'new-%'"
say "paging the 100,000-user tenant (count=100): a walk of every page as Okta imports, a jump to the last page, a one-user filter"
# Okta imports a tenant page by page with startIndex: the last page of that walk must cost about
# what the first does. A jump straight to the last page has no mark to start from (the OFFSET walk).
median_ms() { # path
    for _ in $(seq 1 21); do
        curl -s -o /dev/null -w '%{time_total}\n' -H "Authorization: Bearer $BENCH_TOKEN" "$URL/scim/v2/bench$1"
    done | sort -n | awk '{t[NR] = $1} END {printf "%.1f", t[int((NR + 1) / 2)] * 1000}'
}
total_of() { curl -s -H "Authorization: Bearer $BENCH_TOKEN" "$URL/scim/v2/bench$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["totalResults"])'; }
# Two walks: the first one meets every worker's first executions of the statement (planned anew
# each, before the prepared statement settles on its plan); the second is measured.
for walk in 1 2; do
    for start in $(seq 1 100 99901); do
        curl -s -o /dev/null -w "$start %{time_total}\n" -H "Authorization: Bearer $BENCH_TOKEN" "$URL/scim/v2/bench/Users?startIndex=$start&count=100"
    done >"$WORK/walk"
done
walk_median() { sort -k2 -n | awk '{t[NR] = $2} END {printf "%.1f", t[int((NR + 1) / 2)] * 1000}'; }
FIRST_PAGE_MS=$(head -n 20 "$WORK/walk" | walk_median)
LAST_PAGE_MS=$(tail -n 20 "$WORK/walk" | walk_median)
WALK_SECONDS=$(awk '{s += $2} END {printf "%.1f", s}' "$WORK/walk")
# count=99: a page no walk of 100 marked.
JUMP_MS=$(median_ms "/Users?startIndex=99902&count=99")
ONE_USER_MS=$(median_ms "/Users?filter=userName%20eq%20%22user54321@example.com%22")
PAGE_TOTALS="$(total_of "/Users?startIndex=1&count=100") / $(total_of "/Users?startIndex=99901&count=100")"

say "an Entra-shaped initial cycle: 20,000 users and 50 groups (each granting a role) into a fresh tenant, 16 clients"
# The rate the issue measured when it was filed (605 req/s, same shape and concurrency) is the base.
eval "$("$PROJECT_DIR/bench/cycle.sh" 20000 50 16 | tee "$WORK/cycle" | grep -E '^(CYCLE|OVERLAP)_[A-Z0-9_]+=[0-9a-z.]+$')"

say "worker memory: GET filters (16 clients) until about 100,000 requests, then on to about 1,000,000"
# The sum of the workers' resident memory at both points (they served this run's earlier requests too).
worker_rss_kb() {
    for pid in $(pgrep -P "$(cat "$RUN_DIR/scim-fcgi.pid")"); do awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; done | awk '{s += $1} END {print s + 0}'
}
served=0 rounds=0 RSS_FIRST_KB="" SERVED_FIRST=0 LONG_ERRORS=0
while [ "$served" -lt 1000000 ] && [ "$rounds" -lt 60 ]; do
    rounds=$((rounds + 1))
    shared_wrk get_filter 16 "$WORK/long"
    served=$((served + $(awk '/requests in/ {print $1; exit}' "$WORK/long")))
    LONG_ERRORS=$((LONG_ERRORS + $(errors "$WORK/long")))
    if [ -z "$RSS_FIRST_KB" ] && [ "$served" -ge 100000 ]; then RSS_FIRST_KB=$(worker_rss_kb) SERVED_FIRST=$served; fi
done
RSS_LAST_KB=$(worker_rss_kb)

pg_tps() { awk '/^tps/ {print $3; exit}' "$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'; }
"$PROJECT_DIR/bench/chart.sh" "$SELECT_TPS" "$INSERT_TPS" \
    "$(for c in 1 4 16 64; do printf '%s:%s ' "$c" "$(rps "$WORK/get-$c")"; done)" \
    "$(for c in 1 4 16 64; do printf '%s:%s ' "$c" "$(rps "$WORK/post-$c")"; done)" >"$PROJECT_DIR/bench/throughput.svg"
{
    echo
    echo "## $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, ${seconds}s per run, workers=$WORKERS, commit $(git -C "$PROJECT_DIR" rev-parse --short HEAD)"
    echo
    echo "Ceiling (../shared/bench, scratch cluster, 16 clients): SELECT $SELECT_TPS tps, INSERT $INSERT_TPS tps."
    echo "Preload of 10,000 users through POST /Users: $(tr -s ' \n' ' ' <"$WORK/preload")(count and status)."
    echo
    echo "| measurement | req/s | ceiling | ratio | p50 latency | errors |"
    echo "|---|---:|---:|---:|---:|---:|"
    for c in 1 4 16 64; do
        echo "| GET filter userName eq, $c clients | $(rps "$WORK/get-$c") | $SELECT_TPS | $(ratio "$(rps "$WORK/get-$c")" "$SELECT_TPS") | $(p50 "$WORK/get-$c") | $(errors "$WORK/get-$c") |"
    done
    for c in 1 4 16 64; do
        echo "| POST /Users, $c clients | $(rps "$WORK/post-$c") | $INSERT_TPS | $(ratio "$(rps "$WORK/post-$c")" "$INSERT_TPS") | $(p50 "$WORK/post-$c") | $(errors "$WORK/post-$c") |"
    done
    echo
    echo "**GET ratio $(ratio "$(rps "$WORK/get-16")" "$SELECT_TPS"), POST ratio $(ratio "$(rps "$WORK/post-16")" "$INSERT_TPS")** (16 clients, against the shared ceiling)."
    echo
    echo "| against ourselves | result | baseline (same run) | ratio |"
    echo "|---|---:|---:|---:|"
    echo "| match \`userName eq\` req/s (32 clients, 100,000-user tenant) | $(rps "$WORK/match") | pgbench, our SELECT on our tables: $(pg_tps "$WORK/pg-match") tps | $(ratio "$(rps "$WORK/match")" "$(pg_tps "$WORK/pg-match")") |"
    echo "| match req/s vs nginx alone | $(rps "$WORK/match") | nginx static: $(rps "$WORK/static") | $(ratio "$(rps "$WORK/match")" "$(rps "$WORK/static")") |"
    echo "| create req/s (32 clients) | $(rps "$WORK/create") | pgbench, our INSERT on our tables: $(pg_tps "$WORK/pg-insert") tps | $(ratio "$(rps "$WORK/create")" "$(pg_tps "$WORK/pg-insert")") |"
    echo "| paging 100,000 users, count=100, the second walk of 1,000 pages ($WALK_SECONDS s): last 20 pages, median ms | $LAST_PAGE_MS | first 20 pages: $FIRST_PAGE_MS | $(ratio "$LAST_PAGE_MS" "$FIRST_PAGE_MS") (target <= 2) |"
    echo "| first pages of the walk, median ms | $FIRST_PAGE_MS | one-user filter GET: $ONE_USER_MS | $(ratio "$FIRST_PAGE_MS" "$ONE_USER_MS") (target <= 5); totalResults $PAGE_TOTALS |"
    echo "| a jump to the last page (startIndex=99902, count=99: no mark), median ms | $JUMP_MS | first pages: $FIRST_PAGE_MS | $(ratio "$JUMP_MS" "$FIRST_PAGE_MS") |"
    echo "| 20-member PATCH (add 20, then remove them), 100,000-user tenant, p50 ms | $(p50 "$WORK/members20-big") | a create, same tenant, one client: $(p50 "$WORK/create-1") | $(ratio "$(p50 "$WORK/members20-big" | tr -d ms)" "$(p50 "$WORK/create-1" | tr -d ms)") (target <= 2) |"
    echo "| 20-member PATCH, 100,000-user tenant, p50 ms | $(p50 "$WORK/members20-big") | 1,000-user tenant: $(p50 "$WORK/members20-small") | $(ratio "$(p50 "$WORK/members20-big" | tr -d ms)" "$(p50 "$WORK/members20-small" | tr -d ms)") (target <= 1.5) |"
    echo "| Entra-shaped cycle (bench/cycle.sh: 20,000 users, 50 groups each granting a role, 16 clients; $CYCLE_REQUESTS requests in $CYCLE_SECONDS s), req/s | $CYCLE_RPS | the issue's cycle when filed: 605 | $(ratio "$CYCLE_RPS" 605) (target >= 5); errors $CYCLE_ERRORS; every acknowledged write read back: $CYCLE_VERIFIED |"
    echo "| the cycle's own 20-member PATCHes (adds to groups granting a role), p50 ms, nginx's request time | $CYCLE_MEMBERS_P50 | the cycle's creates: $CYCLE_CREATE_P50 | $(ratio "$CYCLE_MEMBERS_P50" "$CYCLE_CREATE_P50") (the issue's measure: target <= 2) |"
    echo "| then overlapping membership PATCHes (20 random users added to or removed from a random group of the cycle's, 16 clients, 10 s): p99 ms | $OVERLAP_P99 | p50: $OVERLAP_P50 | $OVERLAP_RPS req/s; errors $OVERLAP_ERRORS; deadlocks $OVERLAP_DEADLOCKS; $OVERLAP_GROUPS_PER_USER groups per member at the end |"
    echo "| one-member PATCH, 100,000-member group, mean latency | $(latency "$WORK/big") | 10-member group: $(latency "$WORK/small") | $(ratio "$(rps "$WORK/small")" "$(rps "$WORK/big")") (req/s small/big) |"
    echo
    echo "| workers' resident memory (sum), KB, after $served requests of the long run | $RSS_LAST_KB | after $SERVED_FIRST: $RSS_FIRST_KB | $(ratio "$RSS_LAST_KB" "$RSS_FIRST_KB") (target <= 1.1); errors $LONG_ERRORS |"
    echo
    echo "Non-2xx answers: match $(non2xx "$WORK/match"), create $(non2xx "$WORK/create"), PATCH $(non2xx "$WORK/small") / $(non2xx "$WORK/big"), 20-member PATCH $(non2xx "$WORK/members20-big") / $(non2xx "$WORK/members20-small"), one-client create $(non2xx "$WORK/create-1")."
} | tee -a "$PROJECT_DIR/bench/results.md"
