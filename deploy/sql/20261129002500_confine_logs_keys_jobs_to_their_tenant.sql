-- Tenant policies on the tables the responder writes that had none: its log, errors, re-apply jobs,
-- audit (scim.mapping_changes), its keys and tenants. Each write now needs the transaction to be
-- scoped to the row's tenant (set_config('scim.tenant_id', ..., true)), as writes of users and
-- groups already do. What stays readable without a scope, and why:
--   scim.tenants, scim.api_keys  a request names its tenant and carries a key before anything says
--                                which tenant it may act for; keys hold hashes only.
--   scim.console_users, _invites, _sessions  likewise for the console's sign-in (no policy at all).
-- None of these policies uses a function that must be LEAKPROOF, so, unlike 20261129001900, this
-- file needs no superuser.

-- Open re-apply jobs are found across tenants by idle workers, which then work in the job's tenant:
-- the one cross-tenant look, done with the owner's rights, scopes the caller's transaction to the
-- tenant of the job it locks.
create or replace function scim.claim_reapply_job(p_tenant uuid default null)
returns table (job_tenant_id uuid, job_id uuid, job_cursor_id uuid, job_processed integer)
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
begin
    select j.tenant_id, j.id, j.cursor_id, j.processed
      into job_tenant_id, job_id, job_cursor_id, job_processed
      from scim.reapply_jobs j
     where j.state in ('pending', 'running') and (p_tenant is null or j.tenant_id = p_tenant)
     order by j.created_at
     limit 1
       for update skip locked;
    if found then
        perform set_config('scim.tenant_id', job_tenant_id::text, true);
        return next;
    end if;
end $$;
revoke all on function scim.claim_reapply_job(uuid) from public;
comment on function scim.claim_reapply_job(uuid) is 'Locks the oldest open re-apply job (of one tenant, when given) that no other worker holds, and scopes the transaction to its tenant.';

-- A request's log row and, for a refused request, its error; or, for a successful write, the
-- settling of the errors the same resource caused before. Runs after the request's own transaction
-- (a failed request rolls that back), scoped to the request's tenant by its first statement.
create or replace function scim.record_request(
    p_tenant_slug text, p_request_id text, p_key_prefix text, p_method text, p_path text,
    p_resource_type text, p_resource_id text, p_subject text, p_status integer, p_scim_type text,
    p_detail text, p_duration_ms numeric, p_request_body jsonb,
    p_rejection_cause text, p_rejection_suggestion text, p_settles_rejections boolean)
returns void language plpgsql as $$
declare
    v_tenant uuid;
begin
    select t.id into v_tenant from scim.tenants t where t.slug = p_tenant_slug;
    if v_tenant is null then
        return;
    end if;
    perform set_config('scim.tenant_id', v_tenant::text, true);
    insert into scim.provisioning_log (tenant_id, request_id, key_prefix, key_name, method, path, resource_type,
                                       resource_id, subject, status, scim_type, detail, duration_ms, request_body)
    values (v_tenant, p_request_id, p_key_prefix,
            (select k.name from scim.api_keys k where k.prefix = p_key_prefix and k.tenant_id = v_tenant),
            p_method, left(p_path, 500), p_resource_type, p_resource_id, p_subject,
            p_status, p_scim_type, p_detail, least(p_duration_ms, 99999999.99), p_request_body);
    if p_rejection_cause is not null then
        perform scim.record_error(v_tenant, 'rejected_request', p_rejection_cause, p_resource_type,
                                  coalesce(p_resource_id, p_subject), p_subject,
                                  p_method || ' ' || left(p_path, 300) || ': ' || coalesce(p_detail, ''),
                                  p_rejection_suggestion, p_request_id);
    end if;
    if p_settles_rejections then
        update scim.provisioning_errors e set resolved_at = now(), resolved_by = 'system'
         where e.tenant_id = v_tenant and e.kind = 'rejected_request' and e.resolved_at is null
           and e.resource_type = p_resource_type
           and (e.resource_id = p_resource_id or lower(e.resource_id) = lower(p_subject) or lower(e.subject) = lower(p_subject));
    end if;
end $$;
comment on function scim.record_request(text, text, text, text, text, text, text, text, integer, text, text, numeric, jsonb, text, text, boolean)
    is 'Writes a request''s provisioning log row, opens the error of a refused request, and settles earlier ones after a success.';

-- When a key was last used, recorded outside the request's transaction and never waiting on a
-- row another request holds; scoped to the key's tenant.
create or replace function scim.record_key_use(p_key uuid) returns void language plpgsql as $$
declare
    v_tenant uuid;
begin
    select k.tenant_id into v_tenant from scim.api_keys k
     where k.id = p_key and (k.last_used_at is null or k.last_used_at < now() - interval '1 minute');
    if v_tenant is null then
        return;
    end if;
    perform set_config('scim.tenant_id', v_tenant::text, true);
    update scim.api_keys set last_used_at = now()
     where id = (select k.id from scim.api_keys k
                  where k.id = p_key and (k.last_used_at is null or k.last_used_at < now() - interval '1 minute')
                    for update skip locked);
end $$;
comment on function scim.record_key_use(uuid) is 'Sets last_used_at of a key at most once a minute, skipping a key another transaction holds.';

do $$
declare
    v_table text;
begin
    foreach v_table in array array['scim.provisioning_errors', 'scim.reapply_jobs', 'scim.mapping_changes'] loop
        execute format('alter table %s enable row level security', v_table);
        execute format('drop policy if exists tenant_isolation on %s', v_table);
        execute format('create policy tenant_isolation on %s using (tenant_id = current_setting(''scim.tenant_id'', true)::uuid) '
                       'with check (tenant_id = current_setting(''scim.tenant_id'', true)::uuid)', v_table);
    end loop;
end $$;

-- The log: readable per tenant already (20261129001600); appended per tenant now.
drop policy if exists provisioning_log_append on scim.provisioning_log;
drop policy if exists provisioning_log_append_own_tenant on scim.provisioning_log;
create policy provisioning_log_append_own_tenant on scim.provisioning_log for insert
    with check (tenant_id = current_setting('scim.tenant_id', true)::uuid);

alter table scim.tenants enable row level security;
drop policy if exists tenants_readable on scim.tenants;
create policy tenants_readable on scim.tenants for select using (true);
drop policy if exists tenants_update_own on scim.tenants;
create policy tenants_update_own on scim.tenants for update
    using (id = current_setting('scim.tenant_id', true)::uuid)
    with check (id = current_setting('scim.tenant_id', true)::uuid);

alter table scim.api_keys enable row level security;
drop policy if exists api_keys_readable on scim.api_keys;
create policy api_keys_readable on scim.api_keys for select using (true);
drop policy if exists api_keys_insert_own on scim.api_keys;
create policy api_keys_insert_own on scim.api_keys for insert
    with check (tenant_id = current_setting('scim.tenant_id', true)::uuid);
drop policy if exists api_keys_update_own on scim.api_keys;
create policy api_keys_update_own on scim.api_keys for update
    using (tenant_id = current_setting('scim.tenant_id', true)::uuid)
    with check (tenant_id = current_setting('scim.tenant_id', true)::uuid);

do $$
begin
    if exists (select 1 from pg_roles where rolname = 'scim_responder') then
        grant execute on function scim.claim_reapply_job(uuid) to scim_responder;
        grant execute on function scim.record_request(text, text, text, text, text, text, text, text, integer, text, text,
                                                      numeric, jsonb, text, text, boolean) to scim_responder;
        grant execute on function scim.record_key_use(uuid) to scim_responder;
        -- The key's use is recorded by scim.record_key_use, which updates this column only.
        grant update (last_used_at) on scim.api_keys to scim_responder;
    end if;
end $$;
