#!/usr/bin/env bash
# Brings the whole SCIM server up on this machine and prints a demo endpoint and token:
#   ./deploy/quickstart.sh          start (again: harmless; rebuilds and restarts)
#   ./deploy/quickstart.sh stop     stop nginx, the responder and the local PostgreSQL
#   ./deploy/quickstart.sh status   what is running
# Without DATABASE_URL, PostgreSQL runs as a local cluster under .local/ in the project folder.
source "$(dirname "$0")/dev-stack/stack.sh"

case "${1:-up}" in
    up|start)
        stack_up
        if ! scimctl tenant show demo >/dev/null 2>&1; then
            scimctl tenant create demo --name "Demo tenant" --enable-scim >/dev/null
        fi
        # A fresh demo key each run (the old one is revoked): secrets are never stored, so an old
        # one cannot be shown again.
        for prefix in $(scimctl key list demo | awk '/quickstart-demo|quickstart-admin/ {print $1}'); do
            scimctl key revoke demo "$prefix" >/dev/null 2>&1 || true
        done
        token=$(scimctl key create demo --name quickstart-demo --scope scim | sed -n 's/^SCIM_TOKEN=//p')
        admin_token=$(scimctl key create demo --name quickstart-admin --scope admin | sed -n 's/^SCIM_TOKEN=//p')
        # A one-time link for the demo administrator of the console (a new one each run; for a
        # console user who already has a password it sets a new one).
        invite_url=$(scimctl console invite demo --email admin@demo.example.com | sed -n 's/^CONSOLE_INVITE_URL=//p')
        console_url="http://$HTTP_LISTEN/console/sign-in?tenant=demo"
        url="http://$HTTP_LISTEN/scim/v2/demo"
        admin_url="http://$HTTP_LISTEN/admin/v1/demo"
        cat <<MSG

The SCIM server is running.
  Endpoint URL (Entra "Tenant URL"):  $url
  Secret token (shown once):          $token
  Admin API:                          $admin_url
  Admin token (shown once):           $admin_token

The admin console, in a browser:
  Sign in:                            $console_url
  Invitation for admin@demo.example.com (choose a password; single use, 24 hours):
    $invite_url

Try it:
  curl -s -H "Authorization: Bearer $token" "$url/Users?filter=userName%20eq%20%22nobody%22"
  curl -s -H "Authorization: Bearer $admin_token" "$admin_url/column-mappings"

SCIM_URL=$url
SCIM_TOKEN=$token
ADMIN_URL=$admin_url
ADMIN_TOKEN=$admin_token
CONSOLE_URL=$console_url
CONSOLE_INVITE_URL=$invite_url
MSG
        ;;
    stop|down)
        stack_down
        ;;
    status)
        pid=$(responder_pid) && echo "responder: running (pid $pid)" || echo "responder: stopped"
        [ -f "$LOCAL_DIR/nginx/nginx.pid" ] && kill -0 "$(cat "$LOCAL_DIR/nginx/nginx.pid")" 2>/dev/null \
            && echo "nginx: running on http://$HTTP_LISTEN" || echo "nginx: stopped"
        if [ -z "${DATABASE_URL:-}" ]; then
            run_as_pg "$(pg_bin)/pg_ctl" -D "$(pg_root)/data" status >/dev/null 2>&1 \
                && echo "postgresql: running (local cluster)" || echo "postgresql: stopped"
        fi
        ;;
    db-stop) db_stop "${2:-fast}" ;;
    responder-start) responder_start ;;
    # Re-renders and reloads nginx's config (e.g. SCIM_TENANT_RATE=5 ./deploy/quickstart.sh nginx-reload).
    nginx-reload) nginx_start ;;
    db-start) db_start ;;
    *)
        echo "usage: $0 [up|stop|status]" >&2
        exit 2
        ;;
esac
