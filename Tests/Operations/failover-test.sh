#!/usr/bin/env bash
# libpq multi-host connection strings with target_session_attrs=read-write, against two local
# clusters: the stack's own (the primary) and a streaming standby made from it here.
#  1. The responder's DATABASE_URL lists the standby FIRST: libpq must skip it (read-only) and
#     write to the primary.
#  2. A failover: the old primary turns read-only (as a demoted primary comes back), the standby is
#     promoted. Writes arriving on connections still open to the old primary fail there with
#     SQLSTATE 25006; the responder treats that as a lost connection, reconnects, lands on the new
#     primary and retries: every write is answered 201 and stored there, none on the old primary.
# The standby is removed and the stack's cluster made writable again afterwards.
source "$(dirname "$0")/../../deploy/dev-stack/stack.sh"
[ -z "${DATABASE_URL:-}" ] || { say "the failover test needs the local cluster (DATABASE_URL is set)"; exit 0; }
STANDBY_PORT="${SCIM_STANDBY_PORT:-54331}"
standby="$(pg_root)/standby"
sock=$(pg_socket_dir)
psql_primary() { run_as_pg "$(pg_bin)/psql" -h "$sock" -p "$PG_PORT" -U scim -d scim -qAtX "$@"; }
psql_standby() { run_as_pg "$(pg_bin)/psql" -h "$sock" -p "$STANDBY_PORT" -U scim -d scim -qAtX "$@"; }
cleanup() {
    local status=$?
    run_as_pg "$(pg_bin)/pg_ctl" -D "$standby" -m immediate -w stop >/dev/null 2>&1 || true
    rm -rf "$standby"
    psql_primary -c "alter system reset default_transaction_read_only" -c "select pg_reload_conf()" >/dev/null 2>&1 || true
    responder_start >/dev/null 2>&1 || say "could not restart the dev responder"
    exit "$status"
}
trap cleanup EXIT

say "1. a streaming standby of the stack's cluster on port $STANDBY_PORT"
run_as_pg "$(pg_bin)/pg_ctl" -D "$standby" -m immediate -w stop >/dev/null 2>&1 || true
rm -rf "$standby"
run_as_pg "$(pg_bin)/pg_basebackup" -h "$sock" -p "$PG_PORT" -U scim -D "$standby" -R -X stream -c fast
cat >>"$standby/postgresql.conf" <<CONF
port = $STANDBY_PORT
CONF
run_as_pg "$(pg_bin)/pg_ctl" -D "$standby" -l "$standby/standby.log" -w start >/dev/null
[ "$(psql_standby -c 'select pg_is_in_recovery()')" = t ] || die "the standby is not in recovery"

# The standby first: libpq must pass over it for a read-write session.
url="postgresql:///scim?host=$sock,$sock&port=$STANDBY_PORT,$PG_PORT&user=scim_app&target_session_attrs=read-write"
SCIM_RESPONDER_DATABASE_URL="$url" responder_start
slug="failover-$(date +%s%N | tail -c 9)"
scimctl tenant create "$slug" --enable-scim >/dev/null
token=$(scimctl key create "$slug" --name failover --scope scim | sed -n 's/^SCIM_TOKEN=//p')
base="http://$HTTP_LISTEN/scim/v2/$slug"
create() {
    curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $token" -H 'Content-Type: application/scim+json' \
        -d "{\"schemas\":[\"urn:ietf:params:scim:schemas:core:2.0:User\"],\"userName\":\"$1\"}" "$base/Users"
}
stored() { "psql_$1" -c "select count(*) from scim.users u join scim.tenants t on t.id = u.tenant_id where t.slug = '$slug' and u.user_name like '$2%'"; }
for i in 1 2 3 4 5; do [ "$(create "before-$i@example.com")" = 201 ] || die "a write before the failover failed"; done
[ "$(stored primary before-)" = 5 ] || die "the writes did not reach the primary"
echo "   5 users written through a URL listing the standby first: on the primary"

say "2. failover: the old primary turns read-only, the standby is promoted"
target=$(psql_primary -c "select pg_current_wal_lsn()")
for _ in $(seq 1 100); do
    [ "$(psql_standby -c "select pg_last_wal_replay_lsn() >= '$target'::pg_lsn")" = t ] && break
    sleep 0.1
done
[ "$(stored standby before-)" = 5 ] || die "the standby has not replayed the first writes"
log_offset=$(stat -c %s "$LOG_DIR/scim-fcgi.log")
psql_primary -c "alter system set default_transaction_read_only = on" -c "select pg_reload_conf()" >/dev/null
run_as_pg "$(pg_bin)/pg_ctl" -D "$standby" -w promote >/dev/null
[ "$(psql_standby -c 'select pg_is_in_recovery()')" = f ] || die "the standby was not promoted"
codes=""
for i in $(seq 1 20); do codes+="$(create "after-$i@example.com") "; done
echo "   statuses after the failover: $(tr ' ' '\n' <<<"$codes" | grep -v '^$' | sort | uniq -c | tr -s ' \n' ' ')"
# Requests, and idle workers looking for background work, meet the old primary's 25006 first; either
# way the transaction reconnects and runs again on the new primary.
read_only_errors=$(tail -c +"$((log_offset + 1))" "$LOG_DIR/scim-fcgi.log" | grep -c 'reconnecting to retry transaction.*25006' || true)
echo "   transactions that met the read-only old primary (25006) and ran again on the new one: $read_only_errors"
[ "$(tr ' ' '\n' <<<"$codes" | grep -c '^201$')" = 20 ] || die "writes failed across the failover"
[ "$(stored standby after-)" = 20 ] || die "the new primary does not hold the 20 writes"
[ "$(stored primary after-)" = 0 ] || die "writes landed on the old primary"
[ "$read_only_errors" -ge 1 ] || die "no write met the old primary's read-only error: the 25006 path was not exercised"
say "failover: 20 of 20 writes answered 201 and stored on the new primary, none on the old"
