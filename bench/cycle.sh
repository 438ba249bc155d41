#!/usr/bin/env bash
# An Entra-shaped initial cycle through nginx (bench/lua/entra_cycle.lua: per user a filter GET then
# a POST, the groups likewise, memberships in PATCHes of 20, a tenth of the users updated) into a
# fresh tenant whose every group grants a role, as after Entra's setup; then every acknowledged
# write is read back with SQL (Tests/Operations/verify_cycle.py); then memberships are changed
# concurrently on groups that share members (bench/lua/overlap.lua), as in an Okta-shaped cycle.
# Prints CYCLE_REQUESTS=, CYCLE_SECONDS=, CYCLE_RPS=, CYCLE_ERRORS= (non-2xx answers and socket
# errors: a fresh tenant's cycle meets no 409 and no 404), CYCLE_CREATE_P50= and CYCLE_MEMBERS_P50=
# (ms: the cycle's POST /Users and its 20-member PATCHes) and CYCLE_VERIFIED=yes|no, then
# verify_cycle.py's lines, then OVERLAP_RPS=, OVERLAP_P50=, OVERLAP_P99= (ms), OVERLAP_ERRORS=,
# OVERLAP_DEADLOCKS= and OVERLAP_GROUPS_PER_USER= (memberships per member at the end).
# Needs the stack (./deploy/quickstart.sh); the cycle stays under the dev stack's nginx limits (5,000
# requests a second a tenant), which bench/run.sh lifts for its faster runs.
# Usage: bench/cycle.sh [users, default 20000] [groups, default 50] [clients, default 16]
source "$(dirname "$0")/../deploy/dev-stack/stack.sh"
source "$(dirname "$0")/wrk-results.sh"
set +e
users=${1:-20000}
groups=${2:-50}
clients=${3:-16}
# Each connection makes groups of its own and puts its own users in them.
[ "$groups" -ge "$clients" ] || die "bench/cycle.sh: at least as many groups as clients, please"
URL="http://$HTTP_LISTEN"
ADMIN_DB=$(cat "$LOCAL_DIR/admin_database_url")
SCIMCTL="$PROJECT_DIR/.build/$BUILD_CONFIG/scimctl"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

tenant="cycle-$(date +%s)"
"$SCIMCTL" tenant create "$tenant" --name "Benchmark (Entra-shaped cycle)" --enable-scim >/dev/null
token=$("$SCIMCTL" key create "$tenant" --name cycle --scope scim | sed -n 's/^SCIM_TOKEN=//p')
# A role for each group the cycle makes, mapped by name before the groups arrive.
psql "$ADMIN_DB" -q -v ON_ERROR_STOP=1 <<SQL
with t as (select id from scim.tenants where slug = '$tenant'),
     roles as (insert into app.roles (tenant_id, name)
               select t.id, format('cycle role %s', lpad(g::text, 3, '0')) from t, generate_series(0, $groups - 1) g
               returning tenant_id, id, name)
insert into scim.group_role_mappings (tenant_id, match_by, match_value, role_id)
select r.tenant_id, 'displayName', replace(r.name, 'cycle role', 'cycle group'), r.id from roles r;
SQL

started=$(date +%s.%N)
CYCLE_PREFIX="/scim/v2/$tenant" CYCLE_TOKEN="$token" CYCLE_NAME=cycle CYCLE_USERS=$users CYCLE_GROUPS=$groups \
    CYCLE_THREADS=$clients CYCLE_OUT="$WORK" \
    wrk -t"$clients" -c"$clients" -d10m --timeout 30s -s "$PROJECT_DIR/bench/lua/entra_cycle.lua" "$URL" >"$WORK/wrk" 2>&1 &
wrk_pid=$!
# wrk runs for its whole -d even when every thread has stopped: it is told to end once all have.
while [ "$(ls "$WORK"/*.done 2>/dev/null | wc -l)" -lt "$clients" ] && kill -0 "$wrk_pid" 2>/dev/null; do sleep 0.1; done
finished=$(date +%s.%N)
kill -INT "$wrk_pid" 2>/dev/null
wait "$wrk_pid"

requests=$(awk '/requests in/ {print $1; exit}' "$WORK/wrk")
seconds=$(awk -v a="$started" -v b="$finished" 'BEGIN {printf "%.1f", b - a}')
echo "CYCLE_REQUESTS=$requests"
echo "CYCLE_SECONDS=$seconds"
echo "CYCLE_RPS=$(awk -v n="$requests" -v s="$seconds" 'BEGIN {printf "%.0f", n / s}')"
echo "CYCLE_ERRORS=$(errors "$WORK/wrk")"
# The issue's measure of a membership PATCH: its median latency against a create's in the same
# cycle. wrk keeps one latency for all requests, so the medians come from nginx's access log
# (request time, whole milliseconds), which it writes once a second.
sleep 1.5
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) printf "%.1f", 1000 * v[int((NR + 1) / 2)] }'; }
cycle_lines() { grep -F "\"$1 /scim/v2/$tenant/$2" "$LOG_DIR/nginx-access.log" | awk '$5 ~ /^2/ { print $7 }'; }
echo "CYCLE_CREATE_P50=$(cycle_lines POST 'Users"' | median)"
echo "CYCLE_MEMBERS_P50=$(cycle_lines PATCH Groups/ | median)"
grep -E "Non-2xx|Socket errors" "$WORK/wrk"
python3 "$PROJECT_DIR/bench/cycle_report.py" "$WORK" "$users" "$groups" "$seconds" "$requests" >"$WORK/report.json"
if python3 "$PROJECT_DIR/Tests/Operations/verify_cycle.py" "$WORK/report.json" "$ADMIN_DB" "$tenant" cycle >"$WORK/verify" 2>&1; then
    echo "CYCLE_VERIFIED=yes"
else
    echo "CYCLE_VERIFIED=no"
fi
cat "$WORK/verify"
# Then memberships overlapping as in an Okta-shaped cycle (every user ending in several groups):
# 20-member adds and removes on random groups at the same concurrency, for OVERLAP_SECONDS
# (default 10); deadlocks PostgreSQL reports meanwhile are counted from its log.
psql "$ADMIN_DB" -Atc "select g.id from scim.groups g join scim.tenants t on t.id = g.tenant_id where t.slug = '$tenant'" >"$WORK/groups"
psql "$ADMIN_DB" -Atc "select u.id from scim.users u join scim.tenants t on t.id = u.tenant_id where t.slug = '$tenant'" >"$WORK/ids"
pg_log="$(pg_root)/postgres.log"
deadlocks_before=$(grep -c "deadlock detected" "$pg_log" 2>/dev/null)
BENCH_TOKEN="$token" BENCH_PREFIX="/scim/v2/$tenant" BENCH_GROUPS="$WORK/groups" BENCH_IDS="$WORK/ids" \
    wrk -t2 -c"$clients" -d"${OVERLAP_SECONDS:-10}s" -s "$PROJECT_DIR/bench/lua/overlap.lua" "$URL" >"$WORK/overlap" 2>&1
echo "OVERLAP_RPS=$(grep -o 'rps=[0-9.]*' "$WORK/overlap" | cut -d= -f2)"
echo "OVERLAP_P50=$(grep -o 'p50=[0-9.]*' "$WORK/overlap" | cut -d= -f2)"
echo "OVERLAP_P99=$(grep -o 'p99=[0-9.]*' "$WORK/overlap" | cut -d= -f2)"
echo "OVERLAP_ERRORS=$(errors "$WORK/overlap")"
echo "OVERLAP_DEADLOCKS=$(( $(grep -c "deadlock detected" "$pg_log" 2>/dev/null) - deadlocks_before ))"
echo "OVERLAP_GROUPS_PER_USER=$(psql "$ADMIN_DB" -Atc "select round(count(*)::numeric / nullif(count(distinct m.member_id), 0), 2) from scim.group_members m join scim.tenants t on t.id = m.tenant_id where t.slug = '$tenant'")"
# The tenant goes (a bench run would otherwise leave 20,000 more users behind each time).
psql "$ADMIN_DB" -q -c "delete from scim.tenants where slug = '$tenant'"
