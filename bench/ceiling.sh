#!/usr/bin/env bash
# The database ceiling that ../shared/bench/README.md defines, measured now on this machine: a
# scratch PostgreSQL cluster (shared_buffers=512MB, everything else default, fsync and
# synchronous_commit on), the shared schema and 100,000 preloaded users, then pgbench with the
# shared SELECT and INSERT scripts. Prints SELECT_TPS= and INSERT_TPS= lines; removes the cluster.
# Usage: bench/ceiling.sh [seconds per pgbench run, default 10] [clients, default 16]
source "$(dirname "$0")/../deploy/dev-stack/stack.sh"
seconds=${1:-10}
clients=${2:-16}
SHARED=${SCIM_SHARED_BENCH:-$PROJECT_DIR/../shared/bench}
[ -f "$SHARED/pg_schema.sql" ] || die "the shared bench scripts are not at $SHARED (set SCIM_SHARED_BENCH)"
bin=$(pg_bin)
scratch=$(mktemp -d /var/tmp/scim-ceiling.XXXXXX)
chown "$(pg_user)" "$scratch"
port=$(( 55400 + RANDOM % 500 ))
while ss -ltn "sport = :$port" 2>/dev/null | grep -q LISTEN; do port=$(( port + 1 )); done
cleanup() {
    run_as_pg "$bin/pg_ctl" -D "$scratch/data" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$scratch"
}
trap cleanup EXIT

run_as_pg "$bin/initdb" -D "$scratch/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
run_as_pg "$bin/pg_ctl" -D "$scratch/data" -l "$scratch/postgres.log" -w -t 60 \
    -o "-p $port -k $scratch -c listen_addresses=127.0.0.1 -c shared_buffers=512MB" start >/dev/null
psql_scratch() { run_as_pg "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -q "$@"; }
psql_scratch -f "$SHARED/pg_schema.sql" >/dev/null
psql_scratch -f "$SHARED/pg_preload.sql" >/dev/null
tps() { awk '/^tps/ {print $3; exit}' "$1"; }
for kind in select insert; do
    run_as_pg "$bin/pgbench" -h 127.0.0.1 -p "$port" -U postgres -n -M prepared -c "$clients" -j 2 -T "$seconds" \
        -f "$SHARED/pg_$kind.sql" postgres >"$scratch/$kind.out" 2>&1
    value=$(tps "$scratch/$kind.out")
    [ -n "$value" ] || { cat "$scratch/$kind.out" >&2; die "pgbench ($kind) gave no tps"; }
    echo "${kind^^}_TPS=$value"
done
