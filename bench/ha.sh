#!/usr/bin/env bash
# What high availability costs and how long a failover takes, in one run (root: the scenario makes
# network namespaces). Against the database ceiling ../shared/bench/README.md defines (bench/ceiling.sh,
# measured now), with the shared wrk scripts through nginx into deploy/ha/scenario.sh's topology
# (two responder hosts of 2 workers, PgBouncer on each, a primary and a standby):
#   - GET and POST at 16 clients with synchronous replication, then with the standby out of the
#     write quorum (asynchronous), then with PgBouncer in session mode, then without PgBouncer
#     (each responder's libpq on the primary);
#   - the failover: an Entra-shaped cycle (Tests/Operations/entra_cycle.py) while the primary's host
#     is killed, then a responder host; how long clients waited for a successful answer, and
#     nothing lost (verify_cycle.py reads it all back from the new primary with SQL).
# Appends a dated table to bench/results.md. Usage: bench/ha.sh [seconds per wrk run, default 10]
source "$(dirname "$0")/../deploy/dev-stack/stack.sh"
source "$(dirname "$0")/wrk-results.sh"
set +e
seconds=${1:-10}
users=${SCIM_HA_BENCH_USERS:-6000}
[ "$(id -u)" -eq 0 ] || die "bench/ha.sh makes network namespaces: run it as root"
command -v wrk >/dev/null || as_root apt-get install -y -qq wrk >/dev/null
SHARED=${SCIM_SHARED_BENCH:-$PROJECT_DIR/../shared/bench}
scenario="$PROJECT_DIR/deploy/ha/scenario.sh"
WORK=$(mktemp -d)
trap '"$scenario" down >/dev/null 2>&1; rm -rf "$WORK"' EXIT
# nginx's per-key and per-address limits would be what is measured: lifted for the run.
export SCIM_TENANT_RATE=1000000 SCIM_ADDRESS_RATE=1000000

say "the database ceiling (scratch cluster, shared pgbench scripts): $seconds s each"
eval "$("$PROJECT_DIR/bench/ceiling.sh" "$seconds" 16 | grep -E '^(SELECT|INSERT)_TPS=[0-9.]+$')"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "n/a" }'; }

up() { # pool
    say "scenario up (pool: $1)"
    SCIM_HA_POOL=$1 "$scenario" up >"$WORK/up.log" 2>&1 || { tail -n 20 "$WORK/up.log" >&2; die "the scenario did not come up"; }
    URL=$(sed -n 's/^SCIM_URL=//p' "$WORK/up.log"); TOKEN=$(sed -n 's/^SCIM_TOKEN=//p' "$WORK/up.log")
    DATABASE=$(sed -n 's/^DATABASE_URL=//p' "$WORK/up.log")
    ORIGIN=${URL%%/scim/*}; PREFIX=${URL#"$ORIGIN"}
    say "10,000 users through POST /Users"
    seq 1 10000 | xargs -P 16 -I{} curl -s -o /dev/null -X POST "$URL/Users" \
        -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/scim+json' \
        -d '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bench.user{}@example.com","active":true}'
}
measure() { # label
    say "$1: GET and POST, 16 clients, $seconds s each"
    for kind in get_filter post_users; do
        SCIM_PREFIX="$PREFIX" SCIM_TOKEN="$TOKEN" SCIM_USER_COUNT=10000 \
            wrk -t2 -c16 -d"${seconds}s" -s "$SHARED/scim_$kind.lua" "$ORIGIN" >"$WORK/$1-$kind" 2>&1
    done
}

up pgbouncer
measure sync
"$scenario" replication async >&2
measure async
"$scenario" replication sync >&2
say "failover: an Entra-shaped cycle of $users users; the primary's host killed at 30%, a responder host at 70%"
python3 "$PROJECT_DIR/Tests/Operations/entra_cycle.py" --url "$URL" --token "$TOKEN" --users "$users" --groups $(( users / 100 )) \
    --concurrency 8 --prefix failover --report "$WORK/cycle.json" \
    --event "0.3=$scenario kill-primary" --event "0.7=$scenario kill-responder 1" >"$WORK/cycle.out" 2>&1
python3 "$PROJECT_DIR/Tests/Operations/verify_cycle.py" "$WORK/cycle.json" "$DATABASE" demo failover >"$WORK/verify.out" 2>&1
verify_status=$?
cat "$WORK/cycle.out" "$WORK/verify.out" >&2
outage() { python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print(next(o['seconds'] for o in r['outages'] if sys.argv[2] in o['event']))" "$WORK/cycle.json" "$1"; }
failover_seconds=$(outage kill-primary)
responder_seconds=$(outage kill-responder)
lost=$(awk '/^lost:/ {print $2}' "$WORK/verify.out")
duplicated=$(awk '/^duplicated:/ {print $2}' "$WORK/verify.out")
cycle_rate=$(grep -o '([0-9]* req/s)' "$WORK/cycle.out" | tr -dc 0-9)
"$scenario" down >/dev/null 2>&1
up pgbouncer-session
measure session
"$scenario" down >/dev/null 2>&1
up direct
measure direct

row() { # label description
    local get post
    get=$(rps "$WORK/$1-get_filter"); post=$(rps "$WORK/$1-post_users")
    printf '| %s | %s (%s errors) | %s | %s (%s errors) | %s |\n' "$2" "${get:-}" "$(errors "$WORK/$1-get_filter")" \
        "$(ratio "${get:-0}" "$SELECT_TPS")" "${post:-}" "$(errors "$WORK/$1-post_users")" "$(ratio "${post:-0}" "$INSERT_TPS")"
}
{
    echo
    echo "## High availability, $(date -u +%Y-%m-%d\ %H:%M) UTC, commit $(git -C "$PROJECT_DIR" rev-parse --short HEAD), $(nproc) cores"
    echo
    echo "bench/ha.sh $seconds: deploy/ha/scenario.sh (nginx, 2 responder hosts x 2 workers, PgBouncer on each,"
    echo "pg_auto_failover primary + standby), shared wrk scripts at 16 clients against a tenant of 10,000 users."
    echo "Ceiling in the same run: pgbench SELECT $SELECT_TPS tps, INSERT $INSERT_TPS tps."
    echo
    echo "| configuration | GET req/s | GET ratio | POST req/s | POST ratio |"
    echo "|---|---:|---:|---:|---:|"
    row sync "synchronous standby, PgBouncer"
    row async "asynchronous standby, PgBouncer"
    row session "synchronous standby, PgBouncer in session mode"
    row direct "synchronous standby, no PgBouncer"
    echo
    echo "Synchronous replication costs POST $(ratio "$(rps "$WORK/sync-post_users")" "$(rps "$WORK/async-post_users")")x of the asynchronous rate;"
    echo "PgBouncer in transaction mode gives GET $(ratio "$(rps "$WORK/sync-get_filter")" "$(rps "$WORK/direct-get_filter")")x and POST $(ratio "$(rps "$WORK/sync-post_users")" "$(rps "$WORK/direct-post_users")")x of the rates without it;"
    echo "in session mode GET $(ratio "$(rps "$WORK/session-get_filter")" "$(rps "$WORK/direct-get_filter")")x and POST $(ratio "$(rps "$WORK/session-post_users")" "$(rps "$WORK/direct-post_users")")x."
    echo "Failover (Entra-shaped cycle of $users users at ${cycle_rate:-?} req/s): the primary's host killed, clients"
    echo "waited ${failover_seconds:-?} s for a successful answer; a responder host killed, ${responder_seconds:-?} s."
    echo "Lost: ${lost:-?}, duplicated: ${duplicated:-?} (read back from the new primary with SQL)."
} | tee -a "$PROJECT_DIR/bench/results.md"
[ "$verify_status" -eq 0 ] || die "the failover cycle lost or duplicated writes; see above"
