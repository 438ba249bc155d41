#!/usr/bin/env bash
# What nginx passes on to the next responder host when one fails, with the site's own locations
# (deploy/nginx/scim-dev.conf.in, as deploy/nginx/scim-site.conf): a second nginx whose upstream is a
# host that dies mid-request (dying_fastcgi_host.py: reads the whole request, closes unanswered)
# with the stack's real responder as its backup.
#  - GET is passed on (idempotent, nothing to run twice): answered by the real responder.
#  - POST and PATCH the dying host received are not passed on: 502, and the database unchanged.
#  - PUT and DELETE are not passed on either (nginx would, as HTTP calls them idempotent; the
#    /.scim-write-once location stops it): 502, the database unchanged, the answer a SCIM error.
#  - A host that refuses the connection never got the request: a POST, PUT or DELETE goes to the
#    next host (a PUT or DELETE through @scim-write-unsent, which checks that nothing was sent).
source "$(dirname "$0")/../../deploy/dev-stack/stack.sh"
DYING_PORT="${SCIM_DYING_HOST_PORT:-9101}"
real_socket=$(responder_socket)
stack_listen=$HTTP_LISTEN
admin_url=$(cat "$LOCAL_DIR/admin_database_url")
LOCAL_DIR="$PROJECT_DIR/.local/upstream-test"
LOG_DIR="$LOCAL_DIR/log"
HTTP_LISTEN="${SCIM_UPSTREAM_TEST_LISTEN:-127.0.0.1:8096}"
received="$LOCAL_DIR/received"
mkdir -p "$LOCAL_DIR"
: >"$received"
dying=""
start_dying_host() { python3 "$PROJECT_DIR/Tests/Operations/dying_fastcgi_host.py" "$DYING_PORT" "$received" & dying=$!; sleep 0.5; }
cleanup() {
    local status=$?
    [ -z "$dying" ] || kill "$dying" 2>/dev/null || true
    nginx_stop >/dev/null 2>&1 || true
    exit "$status"
}
trap cleanup EXIT

# max_fails=0: the dying host is never set aside, so every request meets it first.
NGINX_UPSTREAM_SERVERS="server 127.0.0.1:$DYING_PORT max_fails=0; server unix:$real_socket backup;" nginx_start
slug="upstream-$(date +%s%N | tail -c 9)"
scimctl tenant create "$slug" --enable-scim >/dev/null
token=$(scimctl key create "$slug" --name upstream --scope scim | sed -n 's/^SCIM_TOKEN=//p')
base="http://$HTTP_LISTEN/scim/v2/$slug"
user='{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"NAME"}'
send() { # method path [body]
    curl -s -o /dev/null -w '%{http_code}' -X "$1" -H "Authorization: Bearer $token" -H 'Content-Type: application/scim+json' \
        ${3:+-d "$3"} "$base$2"
}
users() { psql "$admin_url" -qAtX -c "select count(*) from scim.users u join scim.tenants t on t.id = u.tenant_id where t.slug = '$slug' and u.user_name like '$1'"; }
expect() { # what got wanted
    if [ "$2" = "$3" ]; then echo "   $1: $2"; else die "$1: expected $3, got $2"; fi
}
# One user made through the real responder directly (the stack's nginx), to change and delete.
id=$(curl -s -X POST -H "Authorization: Bearer $token" -H 'Content-Type: application/scim+json' -d "${user/NAME/kept@example.com}" \
    "http://$stack_listen/scim/v2/$slug/Users" \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')

say "1. the first host reads each request whole, then dies"
start_dying_host
expect "GET, passed on to the next host" "$(send GET "/Users?filter=userName%20eq%20%22kept@example.com%22")" 200
expect "POST the host received" "$(send POST /Users "${user/NAME/posted@example.com}")" 502
expect "   users it would have made" "$(users posted@example.com)" 0
patch='{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"displayName","value":"Patched"}]}'
expect "PATCH the host received" "$(send PATCH "/Users/$id" "$patch")" 502
expect "PUT the host received" "$(send PUT "/Users/$id" "${user/NAME/renamed@example.com}")" 502
expect "   users renamed" "$(users renamed@example.com)" 0
expect "DELETE the host received" "$(send DELETE "/Users/$id")" 502
answer=$(curl -s -X DELETE -H "Authorization: Bearer $token" "$base/Users/$id")
expect "   its answer is a SCIM error" "$(grep -c '"schemas":\["urn:ietf:params:scim:api:messages:2.0:Error"\]' <<<"$answer")" 1
expect "   the user is still there" "$(users kept@example.com)" 1
expect "what the dying host received" "$(tr '\n' ' ' <"$received")" "GET POST PATCH PUT DELETE DELETE "
kill "$dying"; wait "$dying" 2>/dev/null || true; dying=""

say "2. a host that refuses connections (it receives nothing) beside the real one, in turn"
NGINX_UPSTREAM_SERVERS="server 127.0.0.1:$DYING_PORT max_fails=0; server unix:$real_socket max_fails=0;" nginx_start
sleep 0.5
refused_before=$(grep -c 'connect() failed' "$LOG_DIR/nginx-error.log" || true)
for i in 1 2 3 4; do
    expect "PUT $i, passed on when its host refused" "$(send PUT "/Users/$id" "${user/NAME/kept@example.com}")" 200
done
expect "POST, passed on when its host refused" "$(send POST /Users "${user/NAME/refused@example.com}")" 201
expect "   users made, once" "$(users refused@example.com)" 1
expect "DELETE, passed on when its host refused" "$(send DELETE "/Users/$id")" 204
expect "   the user is gone" "$(users kept@example.com)" 0
refused_writes=$(tail -n +"$((refused_before + 1))" "$LOG_DIR/nginx-error.log" | grep 'connect() failed' | grep -c -E 'request: "(PUT|DELETE|POST)' || true)
echo "   connections the first host refused, each write then sent to the next: $refused_writes"
[ "$refused_writes" -ge 1 ] || die "no write met the refusing host: the pass-on was not exercised"
say "nginx passes on only what cannot run twice"
