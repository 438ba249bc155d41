#!/usr/bin/env bash
# Socket activation, as the systemd units in deploy/systemd/ use it, on a machine whose init is not
# systemd. With the stack up (deploy/test.sh runs this), the dev responder is stopped and:
#  1. systemd's own systemd-socket-activate passes the socket (LISTEN_FDS) to scim-fcgi: requests
#     through nginx are served.
#  2. A holder keeps the socket as systemd's socket unit does, while the service is restarted three
#     times under a steady load through nginx: every request must be answered 200.
# The dev responder is started again afterwards.
source "$(dirname "$0")/../../deploy/dev-stack/stack.sh"
work=$(mktemp -d)
holder_pid=""
activate_pid=""
cleanup() {
    local status=$?
    if [ -n "$activate_pid" ]; then kill "$activate_pid" 2>/dev/null || true; wait "$activate_pid" 2>/dev/null || true; fi
    if [ -n "$holder_pid" ]; then kill "$holder_pid" 2>/dev/null || true; wait "$holder_pid" 2>/dev/null || true; fi
    rm -rf "$work"
    responder_start >/dev/null 2>&1 || say "could not restart the dev responder"
    exit "$status"
}
trap cleanup EXIT

responder="$PROJECT_DIR/.build/$BUILD_CONFIG/scim-fcgi"
sock=$(responder_socket)
base="http://$HTTP_LISTEN"
slug="activation-$(date +%s%N | tail -c 9)"
scimctl tenant create "$slug" --enable-scim >/dev/null
token=$(scimctl key create "$slug" --name "socket activation" --scope scim | sed -n 's/^SCIM_TOKEN=//p')
[ -n "$token" ] || die "no token"
get_users() { curl -s -m 30 -o /dev/null -w '%{http_code}\n' -H "Authorization: Bearer $token" "$base/scim/v2/$slug/Users?count=1"; }

responder_stop

say "1. systemd-socket-activate passes the socket to scim-fcgi"
rm -f "$sock"
SCIM_WORKERS=2 systemd-socket-activate -l "$sock" -E DATABASE_URL="$(cat "$LOCAL_DIR/database_url")" -E SCIM_CONFIG_FILE=/dev/null \
    -E SCIM_WORKERS "$responder" >"$work/activate.log" 2>&1 &
activate_pid=$!
for _ in $(seq 1 50); do [ -S "$sock" ] && break; sleep 0.1; done
chmod 666 "$sock"
code=""
for _ in $(seq 1 50); do code=$(get_users); [ "$code" = 200 ] && break; sleep 0.1; done
[ "$code" = 200 ] || { cat "$work/activate.log"; die "a request through the activated responder got $code"; }
kill "$activate_pid"; wait "$activate_pid" 2>/dev/null || true
activate_pid=""
echo "   served 200 on the socket systemd-socket-activate passed"

say "2. three restarts under load, the socket held open as systemd's socket unit holds it"
DATABASE_URL="$(cat "$LOCAL_DIR/database_url")" SCIM_WORKERS=2 \
    python3 "$PROJECT_DIR/Tests/Operations/socket-holder.py" "$sock" "$work/holder.pid" -- "$responder" >"$work/holder.log" 2>&1 &
holder_pid=$!
for _ in $(seq 1 50); do code=$(get_users); [ "$code" = 200 ] && break; sleep 0.1; done
[ "$code" = 200 ] || { cat "$work/holder.log"; die "the held socket was not served ($code)"; }
load() { while [ ! -e "$work/stop" ]; do get_users; done >"$work/codes.$1"; }
load_pids=()
for client in 1 2 3 4 5 6 7 8; do load "$client" & load_pids+=($!); done
for restart in 1 2 3; do
    sleep 1
    kill -HUP "$holder_pid"
done
sleep 1
touch "$work/stop"
wait "${load_pids[@]}"
kill "$holder_pid"; wait "$holder_pid" 2>/dev/null || true
holder_pid=""
grep -E '^(restart|service)' "$work/holder.log"
cat "$work"/codes.* >"$work/codes"
total=$(wc -l <"$work/codes")
ok=$(grep -c '^200$' "$work/codes" || true)
echo "   requests $total, 200: $ok, other: $(sort "$work/codes" | uniq -c | grep -v ' 200$' | tr '\n' ' ')"
restarts=$(grep -c '^restart' "$work/holder.log" || true)
[ "$restarts" -eq 3 ] || die "the service was restarted $restarts times, not 3"
grep -q 'restart 3: service exited 0' "$work/holder.log" || die "the service did not exit 0 on SIGTERM"
[ "$total" -ge 100 ] || die "the load sent only $total requests"
[ "$ok" -eq "$total" ] || die "requests failed across the restarts"
say "socket activation: all $total requests answered 200 across 3 restarts"
