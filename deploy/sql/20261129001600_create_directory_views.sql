-- Read-only views for DBAs and reports, and what the responder's role may do with the directory.

create or replace view app.effective_roles as
    select distinct a.tenant_id, a.user_id, a.role_id from app.role_assignments a;
comment on view app.effective_roles is 'The roles each application user has, whatever grants them.';

create or replace view app.role_assignments_explained as
    select t.slug as tenant, u.username, u.active, r.name as role, a.source,
           g.display_name as granted_by_group, a.assigned_at, a.assigned_by
      from app.role_assignments a
      join scim.tenants t on t.id = a.tenant_id
      join app.users u on u.tenant_id = a.tenant_id and u.id = a.user_id
      join app.roles r on r.tenant_id = a.tenant_id and r.id = a.role_id
      left join scim.groups g on g.tenant_id = a.tenant_id and g.id = a.group_id;
comment on view app.role_assignments_explained is 'Who has which role and why: the mapped group that grants it, or manual.';

create or replace view app.users_per_department as
    select t.slug as tenant, coalesce(d.name, '(none)') as department,
           count(*) filter (where u.active) as active_users,
           count(*) filter (where not u.active) as inactive_users
      from app.users u
      join scim.tenants t on t.id = u.tenant_id
      left join app.departments d on d.tenant_id = u.tenant_id and d.id = u.department_id
     group by t.slug, d.name;
comment on view app.users_per_department is 'Active and deprovisioned application users per department.';

create or replace view scim.recent_failures as
    select t.slug as tenant, l.logged_at, l.method, l.path, l.status, l.scim_type, l.detail, l.subject, l.key_prefix, l.request_id
      from scim.provisioning_log l
      join scim.tenants t on t.id = l.tenant_id
     where l.status >= 400 and l.logged_at > now() - interval '7 days';
comment on view scim.recent_failures is 'Failed SCIM requests of the last seven days, newest partitions only.';

create or replace view scim.open_errors as
    select t.slug as tenant, e.kind, e.cause, e.resource_type, e.subject, e.occurrences, e.last_seen_at, e.detail, e.suggestion
      from scim.provisioning_errors e
      join scim.tenants t on t.id = e.tenant_id
     where e.resolved_at is null;
comment on view scim.open_errors is 'Errors an administrator has not resolved yet.';

-- The admin API runs in the responder too, scoped per request to its key's tenant, so the log is
-- readable by it for that tenant only.
drop policy if exists provisioning_log_read_own_tenant on scim.provisioning_log;
create policy provisioning_log_read_own_tenant on scim.provisioning_log for select
    using (tenant_id = current_setting('scim.tenant_id', true)::uuid);

do $$
begin
    if exists (select 1 from pg_roles where rolname = 'scim_responder') then
        grant usage on schema app to scim_responder;
        grant select on scim.provisioning_log to scim_responder;
        grant update (scim_enabled, unmapped_department, mapping_version) on scim.tenants to scim_responder;
        grant insert, update (revoked_at, expires_at) on scim.api_keys to scim_responder;
        grant select, insert, update on app.users to scim_responder;
        grant select, insert, update, delete on app.departments, app.roles, app.custom_fields, app.role_assignments to scim_responder;
        grant select, insert, update, delete on scim.column_mappings, scim.department_mappings, scim.group_role_mappings to scim_responder;
        grant select, insert on scim.mapping_changes to scim_responder;
        grant select, insert, update on scim.reapply_jobs, scim.provisioning_errors to scim_responder;
        grant select on app.group_roles, app.effective_roles, app.role_assignments_explained, app.users_per_department to scim_responder;
    end if;
end $$;

-- The responder may revoke keys (admin API) but never bring a revoked key back.
create or replace function scim.keep_revoked_keys_revoked() returns trigger
language plpgsql as $$
begin
    if old.revoked_at is not null and new.revoked_at is distinct from old.revoked_at then
        raise exception 'API key % is revoked; a revoked key stays revoked', old.prefix using errcode = '42501';
    end if;
    return new;
end $$;
drop trigger if exists api_keys_keep_revoked on scim.api_keys;
create trigger api_keys_keep_revoked before update of revoked_at on scim.api_keys
    for each row execute function scim.keep_revoked_keys_revoked();
