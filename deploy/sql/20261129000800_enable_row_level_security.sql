-- Tenant isolation in the database itself: the responder's role sees and writes only rows of the
-- tenant its transaction is scoped to (set_config('scim.tenant_id', ..., true), done per request
-- after the API key is checked), so a query that forgot its tenant condition still cannot cross
-- tenants. The owner (which runs migrations and scimctl) is not subject to the policies.
alter table scim.users enable row level security;
alter table scim.groups enable row level security;
alter table scim.group_members enable row level security;
alter table scim.schema_extensions enable row level security;

drop policy if exists users_tenant_isolation on scim.users;
create policy users_tenant_isolation on scim.users
    using (tenant_id = current_setting('scim.tenant_id', true)::uuid)
    with check (tenant_id = current_setting('scim.tenant_id', true)::uuid);
drop policy if exists groups_tenant_isolation on scim.groups;
create policy groups_tenant_isolation on scim.groups
    using (tenant_id = current_setting('scim.tenant_id', true)::uuid)
    with check (tenant_id = current_setting('scim.tenant_id', true)::uuid);
drop policy if exists group_members_tenant_isolation on scim.group_members;
create policy group_members_tenant_isolation on scim.group_members
    using (tenant_id = current_setting('scim.tenant_id', true)::uuid)
    with check (tenant_id = current_setting('scim.tenant_id', true)::uuid);
drop policy if exists schema_extensions_tenant_isolation on scim.schema_extensions;
create policy schema_extensions_tenant_isolation on scim.schema_extensions
    using (tenant_id = current_setting('scim.tenant_id', true)::uuid);

-- scim_responder: what the responder may do, and nothing more (no DDL, no deletes of tenants or
-- keys). Login roles are made members of it: create role scim_app login password '...' in role scim_responder;
-- Creating the role needs CREATEROLE; without it, a DBA creates it and runs this file again.
do $$
begin
    if not exists (select 1 from pg_roles where rolname = 'scim_responder') then
        begin
            create role scim_responder nologin;
        exception when insufficient_privilege then
            raise notice 'cannot create role scim_responder here; a DBA must create it, then run this migration again';
        end;
    end if;
    if exists (select 1 from pg_roles where rolname = 'scim_responder') then
        grant usage on schema scim to scim_responder;
        grant select on scim.tenants to scim_responder;
        grant select, update (last_used_at) on scim.api_keys to scim_responder;
        grant select, insert, update, delete on scim.users, scim.groups, scim.group_members to scim_responder;
        grant select on scim.schema_extensions to scim_responder;
        grant execute on function scim.search_keys(jsonb) to scim_responder;
    end if;
end $$;
