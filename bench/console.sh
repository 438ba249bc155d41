#!/usr/bin/env bash
# Console page times on a large tenant: 100,000 users (SCIM and application), 50 groups, a
# million provisioning-log rows over 30 days and 2,000 errors. Each page is requested 20 times
# through nginx with a signed-in session; the table gives the median and the slowest, in ms
# (loopback, so this is the server's time). Needs the stack: ./deploy/quickstart.sh first.
# Usage: bench/console.sh [requests per page, default 20]. Appends to bench/results.md.
source "$(dirname "$0")/../deploy/dev-stack/stack.sh"
set +e
rounds=${1:-20}
URL="http://$HTTP_LISTEN"
ADMIN_DB=$(cat "$LOCAL_DIR/admin_database_url")
SCIMCTL="$PROJECT_DIR/.build/$BUILD_CONFIG/scimctl"
slug=console-bench
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

say "preparing $slug (100,000 users, 1,000,000 log rows; made once)"
"$SCIMCTL" tenant show $slug >/dev/null 2>&1 || "$SCIMCTL" tenant create $slug --name "Console benchmark" --enable-scim >/dev/null
psql "$ADMIN_DB" -q -v ON_ERROR_STOP=1 <<SQL
do \$\$
declare t uuid := (select id from scim.tenants where slug = '$slug');
begin
    if (select count(*) from scim.users where tenant_id = t) <> 100000 then
        delete from app.users where tenant_id = t;
        delete from scim.users where tenant_id = t;
        delete from scim.groups where tenant_id = t;
        insert into scim.users (tenant_id, user_name, external_id, display_name, attributes)
        select t, 'user' || i || '@example.com', 'ext-' || i, 'User ' || i,
               jsonb_build_object('userName', 'user' || i || '@example.com', 'displayName', 'User ' || i)
        from generate_series(1, 100000) i;
        insert into app.departments (tenant_id, name) select t, 'Dept ' || i from generate_series(1, 50) i on conflict do nothing;
        insert into app.users (tenant_id, scim_user_id, username, display_name, email, department_id)
        select t, u.id, u.user_name, u.display_name, u.user_name,
               (select d.id from app.departments d where d.tenant_id = t order by d.name offset (abs(hashtext(u.user_name)) % 50) limit 1)
        from scim.users u where u.tenant_id = t;
        insert into scim.groups (tenant_id, display_name, attributes)
        select t, 'Group ' || i, jsonb_build_object('displayName', 'Group ' || i) from generate_series(1, 50) i;
    end if;
    if (select count(*) from scim.provisioning_log where tenant_id = t) < 1000000 then
        delete from scim.provisioning_log where tenant_id = t;
        perform scim.ensure_provisioning_log_partitions(3);
        insert into scim.provisioning_log (logged_at, tenant_id, request_id, key_prefix, key_name, method, path, resource_type,
                                           resource_id, subject, status, scim_type, detail, duration_ms)
        select now() - (i * interval '2.592 seconds'), t, md5(i::text), 'benchkey00', 'Entra ID',
               case when i % 10 = 0 then 'PATCH' else 'GET' end, '/scim/v2/$slug/Users', 'User', null,
               'user' || (i % 100000) || '@example.com', case when i % 50 = 0 then 409 else 200 end,
               case when i % 50 = 0 then 'uniqueness' end, case when i % 50 = 0 then 'userName is taken' end, 3.5
        from generate_series(1, 1000000) i;
        delete from scim.provisioning_errors where tenant_id = t;
        insert into scim.provisioning_errors (tenant_id, kind, cause, resource_type, resource_id, subject, detail, suggestion,
                                              occurrences, first_seen_at, last_seen_at, resolved_at, resolved_by)
        select t, 'rejected_request', '409 uniqueness', 'User', 'user' || i || '@example.com', 'user' || i || '@example.com',
               'POST /Users: userName is taken', 'Remove the duplicate', 3, now() - interval '2 days', now() - (i * interval '1 minute'),
               case when i % 2 = 0 then now() end, case when i % 2 = 0 then 'system' end
        from generate_series(1, 2000) i;
    end if;
end \$\$;
analyze scim.users; analyze app.users; analyze scim.provisioning_log; analyze scim.provisioning_errors;
SQL

say "signing in"
invite=$("$SCIMCTL" console invite $slug --email bench@example.com | sed -n 's/^CONSOLE_INVITE_URL=//p')
token=${invite#*token=}
curl -s -o /dev/null -c "$WORK/jar" -H "Origin: $URL" --data-urlencode "token=$token" \
     --data-urlencode "password=benchmark password" --data-urlencode "confirmPassword=benchmark password" "$URL/console/$slug/invite"
user_id=$(psql "$ADMIN_DB" -Atc "select u.id from app.users u join scim.tenants t on t.id = u.tenant_id where t.slug = '$slug' order by lower(username) limit 1")

pages=(scim keys mappings directory "directory?text=user4242" "directory?text=user" "directory/users/$user_id" errors "errors?resolved=true"
       logs "logs?status=4xx" "logs?text=user4242%40example.com" "logs?startIndex=5001" audit people)
{
    echo
    echo "### Console pages, $(date -u +%Y-%m-%dT%H:%MZ) ($rounds requests each; 100,000 users, 1,000,000 log rows)"
    echo
    echo "| page | status | median ms | slowest ms |"
    echo "|---|---:|---:|---:|"
    for page in "${pages[@]}"; do
        times=()
        status=
        for _ in $(seq 1 "$rounds"); do
            read -r code seconds < <(curl -s -o /dev/null -b "$WORK/jar" -w '%{http_code} %{time_total}\n' "$URL/console/$slug/$page")
            status=$code
            times+=("$(awk -v s="$seconds" 'BEGIN {printf "%.1f", s * 1000}')")
        done
        sorted=$(printf '%s\n' "${times[@]}" | sort -n)
        median=$(echo "$sorted" | awk -v n="$rounds" 'NR == int((n + 1) / 2)')
        slowest=$(echo "$sorted" | tail -n 1)
        echo "| \`${page%%\?*}$( [ "$page" != "${page%%\?*}" ] && echo "?${page#*\?}")\` | $status | $median | $slowest |"
    done
} | tee -a "$PROJECT_DIR/bench/results.md"
