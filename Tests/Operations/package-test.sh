#!/usr/bin/env bash
# The Debian package, as an operator meets it (README: Deploy on a Debian server). As root:
#  1. deploy/package/build.sh builds it; dpkg -i installs it; the `scim` user, the units, the
#     settings file, the migrations and the nginx snippets are where the README says.
#  2. systemd-analyze verifies the units and scores them.
#  3. The README's steps on Debian's own PostgreSQL cluster (15/main, peer authentication): create
#     the database, migrate as postgres, the responder's role, then scim-fcgi as user `scim` on
#     /run/scim/scim.sock, activated the systemd way; a tenant and key made with scimctl; a SCIM
#     request through the socket with cgi-fcgi.
# deploy/test.sh then runs the end-to-end suite against the installed binaries.
source "$(dirname "$0")/../../deploy/dev-stack/stack.sh"
[ "$(id -u)" -eq 0 ] || die "the package test installs a package: run it as root"
# The installed programs read /etc/scim/scim.env, as on a server (the dev stack points them elsewhere).
unset SCIM_CONFIG_FILE
work=$(mktemp -d)
activate_pid=""
cluster_started=false
cleanup() {
    local status=$?
    if [ -n "$activate_pid" ]; then kill "$activate_pid" 2>/dev/null || true; wait "$activate_pid" 2>/dev/null || true; fi
    if $cluster_started; then pg_ctlcluster 15 main stop >/dev/null 2>&1 || true; fi
    rm -rf "$work"
    exit "$status"
}
trap cleanup EXIT
check() { local what=$1; shift; if "$@"; then echo "   ok: $what"; else die "$what"; fi; }

say "1. building and installing the package"
deb=$("$PROJECT_DIR/deploy/package/build.sh" "$work")
ls -la "$deb"
dpkg-deb --info "$deb" | sed -n '/Package:/,/Description:/p'
dpkg -i "$deb" >/dev/null
check "the scim system user exists" getent passwd scim
check "/usr/bin/scim-fcgi runs without a Swift toolchain's libraries" \
    bash -c '! ldd /usr/lib/scim-server/scim-fcgi | grep -qi swift'
check "scimctl --version" bash -c 'scimctl --version | grep -q "SCIM 2.0"'
check "the migrations are installed" test -f /usr/share/scim-server/sql/20261129000100_create_scim_schema.sql
check "the nginx snippets are installed" bash -c 'for s in scim-fastcgi scim-error-codes scim-error-pages scim-admin-access scim-metrics-access; do test -f /etc/nginx/snippets/$s.conf || exit 1; done'
check "the settings file is a conffile" grep -q /etc/scim/scim.env /var/lib/dpkg/info/scim-server.conffiles

say "2. the systemd units"
check "systemd-analyze verify" systemd-analyze verify /lib/systemd/system/scim-fcgi.socket /lib/systemd/system/scim-fcgi.service
systemd-analyze security --offline=yes /lib/systemd/system/scim-fcgi.service 2>/dev/null | tail -n 1

say "3. the README's steps on Debian's PostgreSQL cluster"
if ! pg_lsclusters -h | awk '$1 == 15 && $2 == "main"' | grep -q online; then
    pg_ctlcluster 15 main start
    cluster_started=true
fi
runuser -u postgres -- psql -qc "drop database if exists scim" >/dev/null
runuser -u postgres -- createdb scim
(cd / && runuser -u postgres -- scimctl migrate) | tail -n 2
runuser -u postgres -- psql -d scim -qc "do \$\$ begin if not exists (select 1 from pg_roles where rolname = 'scim') then create role scim login in role scim_responder; end if; end \$\$"
check "the settings check passes as the service user" runuser -u scim -- scim-fcgi --config /etc/scim/scim.env --check-config
install -d -o scim -g www-data -m 0755 /run/scim
rm -f /run/scim/scim.sock
runuser -u scim -- systemd-socket-activate -l /run/scim/scim.sock /usr/bin/scim-fcgi --config /etc/scim/scim.env >"$work/responder.log" 2>&1 &
activate_pid=$!
for _ in $(seq 1 50); do [ -S /run/scim/scim.sock ] && break; sleep 0.1; done
(cd / && runuser -u postgres -- scimctl tenant create acme --enable-scim)
token=$(cd / && runuser -u postgres -- scimctl key create acme --name "Entra ID" --scope scim | sed -n 's/^SCIM_TOKEN=//p')
[ -n "$token" ] || die "scimctl key create printed no token"
request() {
    env -i REQUEST_METHOD="$1" REQUEST_URI="$2" CONTENT_TYPE=application/scim+json CONTENT_LENGTH="${#3}" \
        HTTP_AUTHORIZATION="Bearer $token" HTTP_HOST=scim.example.com HTTPS=on SERVER_PORT=443 \
        cgi-fcgi -bind -connect /run/scim/scim.sock <<<"$3"
}
created=$(request POST /scim/v2/acme/Users '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ada@example.com"}')
echo "$created" | head -n 1
check "a user is created through the installed responder" grep -q '^Status: 201' <<<"$created"
check "its location uses SCIM_PUBLIC_URL from /etc/scim/scim.env" grep -q 'Location: https://scim.example.com/scim/v2/acme/Users/' <<<"$created"
found=$(request GET '/scim/v2/acme/Users?filter=userName%20eq%20%22ada@example.com%22' '')
check "and found by Entra's filter" grep -q '"totalResults":1' <<<"$found"
stored=$(runuser -u postgres -- psql -d scim -Atc "select count(*) from scim.users u join scim.tenants t on t.id = u.tenant_id where t.slug = 'acme'")
check "and stored in PostgreSQL (count $stored)" test "$stored" = 1
# The console's templates must come from the package, not from the build folder the binary was
# linked in (its path is compiled in as a fallback): hide that folder while the page is asked for.
built="$PROJECT_DIR/.build/package/release/scim-server_SCIMConsole.resources"
mv "$built" "$built.hidden"
page=$(request GET '/console/sign-in?tenant=acme' '')
mv "$built.hidden" "$built"
check "the console's sign-in page renders from the installed templates" grep -q '<title>Sign in' <<<"$page"
say "the package installs and serves"
