#!/usr/bin/env bash
# High availability, end to end (root: it makes network namespaces). deploy/ha/scenario.sh brings
# up the monitor, a primary with a synchronous standby, two responder hosts with PgBouncer, and
# nginx; an Entra-shaped initial cycle (entra_cycle.py) runs through nginx while the scenario kills
# the primary's host (SIGKILL), then stops a responder host (SIGTERM), starts it again and kills it
# (SIGKILL). Afterwards every acknowledged
# user, group, membership and update is read back from the new primary with SQL (verify_cycle.py),
# which fails on anything lost or duplicated, on an object the client gave up on, and on any read
# that failed once the responder hosts' turn came (nginx passes reads to the other host).
#   SCIM_HA_USERS (default 3000) sets the cycle's size; bench/ha.sh runs the long form.
#   SCIM_HA_POOL=direct runs it with each responder's libpq choosing the primary itself (a multi-host
#   URL with target_session_attrs=read-write) instead of PgBouncer pointed by the follower.
set -euo pipefail
cd "$(dirname "$0")/../.."
scenario=deploy/ha/scenario.sh
users="${SCIM_HA_USERS:-3000}"
groups=$(( users / 100 > 0 ? users / 100 : 1 ))
log_dir=.local/log
mkdir -p "$log_dir"
report="$log_dir/ha-cycle.json"
cleanup() {
    local status=$?
    [ "$status" -eq 0 ] || { "$scenario" status || true; }
    "$scenario" down >/dev/null 2>&1 || true
    exit "$status"
}
trap cleanup EXIT

"$scenario" up >"$log_dir/ha-up.log" 2>&1 || { tail -n 30 "$log_dir/ha-up.log"; exit 1; }
url=$(sed -n 's/^SCIM_URL=//p' "$log_dir/ha-up.log")
token=$(sed -n 's/^SCIM_TOKEN=//p' "$log_dir/ha-up.log")
database_url=$(sed -n 's/^DATABASE_URL=//p' "$log_dir/ha-up.log")
first_primary=$("$scenario" status | sed -n 's/^primary: //p')
echo "==> scenario up (pool: ${SCIM_HA_POOL:-pgbouncer}): primary $first_primary; an Entra-shaped cycle of $users users and $groups groups, 8 connections"

# The primary dies early in the user creates; once the cycle has moved on, responder host 1 is
# stopped the orderly way, started again, and later killed.
python3 Tests/Operations/entra_cycle.py --url "$url" --token "$token" --users "$users" --groups "$groups" \
    --concurrency 8 --prefix ha --report "$report" \
    --event "0.15=$scenario kill-primary" --event "0.35=$scenario stop-responder 1" \
    --event "0.45=$scenario start-responder 1" --event "0.65=$scenario kill-responder 1"

new_primary=$("$scenario" status | sed -n 's/^primary: //p')
echo "==> primary before: $first_primary, after: $new_primary"
[ -n "$new_primary" ] && [ "$new_primary" != "$first_primary" ] || { echo "error: no failover happened"; exit 1; }

# Read back with SQL through the owner's multi-host URL: target_session_attrs=read-write lands on
# the new primary (the old one is dead).
echo "==> read back from the new primary ($new_primary) with SQL"
responder_stopped_at=$(python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(next(t for t, c in r['events'] if 'stop-responder' in c))" "$report")
python3 Tests/Operations/verify_cycle.py "$report" "$database_url" demo ha --reads-safe-after "$responder_stopped_at"
echo "==> high availability: nothing lost or duplicated across the primary's death and a responder host stopped, restarted and killed mid-cycle"
