#!/usr/bin/env bash
# A connection lost during COMMIT (the database committed; the responder never heard so): the
# responder must answer 503 with an unknown outcome, not retry the write itself, and the client's
# retry must be safe as Entra makes it: the create answers 409 and the user is found by filter,
# stored exactly once. The responder reaches PostgreSQL through commit_cutter.py, which drops the
# connection after PostgreSQL has answered a COMMIT, once, when armed.
source "$(dirname "$0")/../../deploy/dev-stack/stack.sh"
[ -z "${DATABASE_URL:-}" ] || { say "the commit-loss test needs the local cluster (DATABASE_URL is set)"; exit 0; }
CUTTER_PORT="${SCIM_CUTTER_PORT:-54339}"
arm="$RUN_DIR/cut-next-commit"
mkdir -p "$RUN_DIR"
python3 "$PROJECT_DIR/Tests/Operations/commit_cutter.py" "$CUTTER_PORT" "$(pg_socket_dir)/.s.PGSQL.$PG_PORT" "$arm" &
cutter=$!
cleanup() {
    local status=$?
    kill "$cutter" 2>/dev/null || true
    rm -f "$arm"
    responder_start >/dev/null 2>&1 || say "could not restart the dev responder"
    exit "$status"
}
trap cleanup EXIT

SCIM_RESPONDER_DATABASE_URL="postgresql://scim_app@127.0.0.1:$CUTTER_PORT/scim?sslmode=disable" responder_start
slug="commit-loss-$(date +%s%N | tail -c 9)"
scimctl tenant create "$slug" --enable-scim >/dev/null
token=$(scimctl key create "$slug" --name commit-loss --scope scim | sed -n 's/^SCIM_TOKEN=//p')
base="http://$HTTP_LISTEN/scim/v2/$slug"
body='{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"NAME"}'
post() {
    curl -s -o "$RUN_DIR/commit-loss-body.json" -w '%{http_code}' -X POST -H "Authorization: Bearer $token" \
        -H 'Content-Type: application/scim+json' -d "${body/NAME/$1}" "$base/Users"
}
stored() {
    psql "$(cat "$LOCAL_DIR/admin_database_url")" -qAtX -c "select count(*) from scim.users u join scim.tenants t on t.id = u.tenant_id where t.slug = '$slug' and lower(u.user_name) = lower('$1')"
}
sleep 1  # the fresh workers' start-up work (log maintenance) commits first

# Idle workers commit too (read counts, maintenance); a cut they consumed leaves the create
# answered 201, so the create is tried again under a new name.
for attempt in 1 2 3; do
    name="cut-$attempt@example.com"
    touch "$arm"
    status=$(post "$name")
    [ "$status" = 201 ] && [ ! -f "$arm" ] && continue
    break
done
echo "   the create whose COMMIT lost its connection: HTTP $status: $(cat "$RUN_DIR/commit-loss-body.json")"
[ "$status" = 503 ] || die "expected 503 for a connection lost during COMMIT, got $status"
grep -q 'outcome is unknown' "$RUN_DIR/commit-loss-body.json" || die "the 503 does not say the outcome is unknown"
grep -q '"schemas"' "$RUN_DIR/commit-loss-body.json" || die "the 503 is not a SCIM error"
[ "$(stored "$name")" = 1 ] || die "the database did not commit the create (the cutter drops the connection only after COMMIT's answer)"
echo "   PostgreSQL holds the user once: the write committed though the responder could not know"

status=$(post "$name")
echo "   the client's retry of the create: HTTP $status"
[ "$status" = 409 ] || die "the retried create should answer 409 (uniqueness), got $status"
found=$(curl -s -H "Authorization: Bearer $token" "$base/Users?filter=userName%20eq%20%22$name%22")
echo "   found by filter: $(python3 -c 'import json,sys; r=json.loads(sys.argv[1]); print(r["totalResults"], [u["userName"] for u in r["Resources"]])' "$found")"
[ "$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["totalResults"])' "$found")" = 1 ] || die "the user is not found exactly once by filter"
[ "$(stored "$name")" = 1 ] || die "the retry stored the user again"
say "commit lost: 503 with an unknown outcome, the retry answered 409, the user found by filter and stored once"
