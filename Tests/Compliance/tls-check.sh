#!/usr/bin/env bash
# Runs the production nginx site (deploy/nginx/scim-site.conf, unchanged but for ports, paths and
# a throwaway certificate) on loopback in front of the running responder, and checks what a client
# meets: TLS 1.2 with Entra's ECDHE-GCM suites and TLS 1.3 accepted; TLS 1.0/1.1, non-ECDHE and
# CBC suites refused; HSTS, no version in Server, HTTP redirected, SCIM errors as SCIM JSON.
# Usage: Tests/Compliance/tls-check.sh   (deploy/test.sh calls it; needs the stack up)
set -uo pipefail
source "$(dirname "$0")/../../deploy/dev-stack/stack.sh"
# Each check reports on its own; one failing does not end the run.
set +e
work=$(mktemp -d)
https_port=18443
http_port=18080
failures=0
check() {  # check DESCRIPTION COMMAND...: passes when COMMAND succeeds
    local description=$1
    shift
    if "$@" >/dev/null 2>&1; then echo "  ok   $description"; else echo "  FAIL $description"; failures=$((failures + 1)); fi
}
refuses() { ! "$@"; }
handshake() {  # handshake OPENSSL-OPTIONS...: prints the negotiated protocol and cipher
    openssl s_client -connect "127.0.0.1:$https_port" -servername scim.example.com "$@" </dev/null 2>/dev/null \
        | grep -E '^(New|    Protocol|    Cipher)' | tr '\n' ' '
}
negotiates() { local expected=$1; shift; handshake "$@" | grep -q -- "$expected"; }

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=scim.example.com" \
    -keyout "$work/key.pem" -out "$work/cert.pem" >/dev/null 2>&1
mkdir -p "$work/snippets" "$work/logs"
cp "$PROJECT_DIR/deploy/nginx/scim-fastcgi.conf" "$PROJECT_DIR/deploy/nginx/scim-error-codes.conf" "$PROJECT_DIR/deploy/nginx/scim-error-pages.conf" \
   "$PROJECT_DIR/deploy/nginx/scim-admin-access.conf" "$PROJECT_DIR/deploy/nginx/scim-metrics-access.conf" "$work/snippets/"
sed -e "s|listen 443 ssl http2;|listen 127.0.0.1:$https_port ssl http2;|" -e "/listen \[::\]/d" \
    -e "s|listen 80;|listen 127.0.0.1:$http_port;|" \
    -e "s|/etc/letsencrypt/live/scim.example.com/fullchain.pem|$work/cert.pem|" -e "s|/etc/letsencrypt/live/scim.example.com/privkey.pem|$work/key.pem|" \
    -e "s|unix:/run/scim/scim.sock|unix:$(responder_socket)|" -e "s|/var/log/nginx/|$work/logs/|g" \
    -e "s|include snippets/|include $work/snippets/|" "$PROJECT_DIR/deploy/nginx/scim-site.conf" >"$work/site.conf"
cat >"$work/nginx.conf" <<CONF
$( [ "$(id -u)" -eq 0 ] && echo "user root root;" )
pid $work/nginx.pid;
error_log $work/logs/error.log warn;
events { worker_connections 64; }
http {
    include /etc/nginx/mime.types;
    client_body_temp_path $work/body;
    fastcgi_temp_path $work/fastcgi;
    include $work/site.conf;
}
CONF
trap 'nginx -p "$work" -c "$work/nginx.conf" -s stop 2>/dev/null; sleep 0.2; rm -rf "$work"' EXIT

echo "TLS check of deploy/nginx/scim-site.conf on 127.0.0.1:$https_port"
check "the production site configuration passes nginx -t" nginx -t -q -p "$work" -c "$work/nginx.conf"
nginx -p "$work" -c "$work/nginx.conf" || { echo "  FAIL nginx did not start"; exit 1; }
sleep 0.3
for cipher in ECDHE-RSA-AES128-GCM-SHA256 ECDHE-RSA-AES256-GCM-SHA384; do
    check "TLS 1.2 with $cipher (an Entra suite)" negotiates "Cipher is $cipher" -tls1_2 -cipher "$cipher"
done
check "TLS 1.3" negotiates "TLSv1.3" -tls1_3
check "TLS 1.1 refused" refuses negotiates "Cipher is" -tls1_1 -cipher 'DEFAULT:@SECLEVEL=0'
check "TLS 1.0 refused" refuses negotiates "Cipher is" -tls1 -cipher 'DEFAULT:@SECLEVEL=0'
for cipher in AES128-GCM-SHA256 AES256-SHA ECDHE-RSA-AES128-SHA DHE-RSA-AES128-GCM-SHA256; do
    check "TLS 1.2 with $cipher refused (not ECDHE-AEAD)" refuses negotiates "Cipher is" -tls1_2 -cipher "$cipher"
done
headers=$(curl -sk -D - -o "$work/body.json" "https://127.0.0.1:$https_port/scim/v2/demo/Users" -H 'Host: scim.example.com')
check "HSTS header" grep -qi '^strict-transport-security: max-age=63072000' <<<"$headers"
check "no nginx version in Server" grep -qi '^server: nginx\s*$' <<<"$headers"
check "unauthenticated SCIM request is 401 in SCIM JSON" grep -q '"status":"401"' "$work/body.json"
check "SCIM JSON content type" grep -qi '^content-type: application/scim+json' <<<"$headers"
redirect=$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' "http://127.0.0.1:$http_port/scim/v2/demo/Users" -H 'Host: scim.example.com')
check "plain HTTP redirected to HTTPS" grep -q '^301 https://scim.example.com/scim/v2/demo/Users' <<<"$redirect"
huge=$(curl -sk -o /dev/null -w '%{http_code}' "https://127.0.0.1:$https_port/scim/v2/demo/Users" -H "X-Big: $(head -c 20000 /dev/zero | tr '\0' a)")
check "a 20 KB header is refused (large_client_header_buffers 16k)" grep -q '^4' <<<"$huge"
console=$(curl -sk -o /dev/null -w '%{http_code}' "https://127.0.0.1:$https_port/console/sign-in" -H 'Host: scim.example.com')
check "the console answers over TLS (open by default)" grep -q '^200' <<<"$console"
cookie=$(curl -sk -D - -o /dev/null "https://127.0.0.1:$https_port/console/sign-in" -H "Host: scim.example.com:$https_port" \
    -H "Origin: https://scim.example.com:$https_port" --data 'tenant=nobody&email=a%40b.c&password=wrong')
check "a failed sign-in is a 401 and sets no cookie" grep -q '^HTTP/[0-9.]* 401' <<<"$cookie"
check "... no cookie" refuses grep -qi '^set-cookie' <<<"$cookie"
# Over TLS the session cookie is __Host- prefixed and Secure (the loopback dev stack's is not).
slug="tls-check-$RANDOM$RANDOM"
scimctl tenant create "$slug" >/dev/null
invite=$(scimctl console invite "$slug" --email tls@example.com | sed -n 's/^CONSOLE_INVITE_URL=.*token=//p')
accepted=$(curl -sk -D - -o /dev/null "https://127.0.0.1:$https_port/console/$slug/invite" -H "Host: scim.example.com:$https_port" \
    -H "Origin: https://scim.example.com:$https_port" --data-urlencode "token=$invite" \
    --data-urlencode 'password=a long enough password' --data-urlencode 'confirmPassword=a long enough password')
check "the session cookie is __Host-, Secure, HttpOnly and SameSite=Strict over TLS" \
    grep -qiE '^set-cookie: __Host-scim_console=[A-Za-z0-9_-]{43}; Path=/; HttpOnly; SameSite=Strict; Secure' <<<"$accepted"
# The documented restriction: /admin/ and /console/ to configured networks only.
printf 'allow 192.0.2.1;\ndeny all;\n' >"$work/snippets/scim-admin-access.conf"
nginx -p "$work" -c "$work/nginx.conf" -s reload && sleep 0.5
restricted=$(curl -sk -w '\n%{http_code}' "https://127.0.0.1:$https_port/console/sign-in" -H 'Host: scim.example.com')
check "a restricted console refuses other addresses with a SCIM 403" grep -q '"status":"403"' <<<"$restricted"
check "... and so does the admin API" grep -q '^403' <<<"$(curl -sk -o /dev/null -w '%{http_code}' "https://127.0.0.1:$https_port/admin/v1/demo/settings" -H 'Host: scim.example.com')"
check "provisioning is never restricted by it" grep -q '^401' <<<"$(curl -sk -o /dev/null -w '%{http_code}' "https://127.0.0.1:$https_port/scim/v2/demo/Users" -H 'Host: scim.example.com')"
echo "TLS check: $failures failure(s)"
[ "$failures" -eq 0 ]
