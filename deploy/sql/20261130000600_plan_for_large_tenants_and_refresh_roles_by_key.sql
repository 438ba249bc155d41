-- Generic plans, which the responder's prepared statements and these functions run on, estimate
-- "tenant_id = $1" from the number of distinct tenants. Many small tenants (trials, tests) make
-- that about one row a tenant, so any index that starts with tenant_id looks as good as the one
-- that also holds the key: a group read by id walked the tenant's groups through its externalId
-- index, and a role refresh walked all of a tenant's memberships (an Entra-shaped cycle of 20,000
-- users, every group granting a role: 54 ms a refresh, 80 ms a 20-member PATCH, 72 ms a user
-- update). Taking a tenant to hold a hundredth of each table (planner statistics only; ANALYZE
-- keeps this number) makes the keyed index win on cost, whatever the mix of tenant sizes.
alter table scim.users alter column tenant_id set (n_distinct = 100);
alter table scim.groups alter column tenant_id set (n_distinct = 100);
alter table scim.group_members alter column tenant_id set (n_distinct = 100);
alter table scim.group_role_mappings alter column tenant_id set (n_distinct = 100);
alter table app.users alter column tenant_id set (n_distinct = 100);
alter table app.role_assignments alter column tenant_id set (n_distinct = 100);
analyze scim.users, scim.groups, scim.group_members, scim.group_role_mappings, app.users, app.role_assignments;

-- The role refresh, from the users outwards: their memberships, then for each of those groups
-- the roles it grants (one group at a time, by key), where the set-wise join began from every
-- mapped group and all its members. Most users (every new one) are in no group and hold no role
-- through one: two index probes now say so, and nothing is locked or planned further (0.16 ms of a
-- create's 0.94 ms before). Skipping the row lock there is safe: a membership change that gives
-- the user a role takes that lock in its own refresh and sees this write once it commits.
create or replace function app.refresh_group_roles(p_tenant uuid, p_scim_user_ids uuid[]) returns void
language plpgsql set plan_cache_mode = force_generic_plan as $$
begin
    if cardinality(p_scim_user_ids) = 0 then return; end if;
    if not exists (select 1 from scim.group_members m where m.tenant_id = p_tenant and m.member_id = any(p_scim_user_ids))
       and not exists (select 1 from app.users u
                         join app.role_assignments a on a.tenant_id = u.tenant_id and a.user_id = u.id and a.source = 'group'
                        where u.tenant_id = p_tenant and u.scim_user_id = any(p_scim_user_ids)) then
        return;
    end if;
    perform 1 from app.users u where u.tenant_id = p_tenant and u.scim_user_id = any(p_scim_user_ids) order by u.id for update;
    delete from app.role_assignments a
     using app.users u
     where u.tenant_id = p_tenant and u.scim_user_id = any(p_scim_user_ids)
       and a.tenant_id = p_tenant and a.user_id = u.id and a.source = 'group'
       and not (u.active and exists (
               select 1 from scim.group_members m
                 join app.group_roles r on r.tenant_id = m.tenant_id and r.group_id = m.group_id
                where m.tenant_id = p_tenant and m.member_id = u.scim_user_id and m.group_id = a.group_id and r.role_id = a.role_id));
    insert into app.role_assignments (tenant_id, user_id, role_id, source, group_id, assigned_by)
    select distinct p_tenant, u.id, r.role_id, 'group', m.group_id, 'provisioning'
      from app.users u
      join scim.group_members m on m.tenant_id = p_tenant and m.member_id = u.scim_user_id
      cross join lateral (select g.role_id from app.group_roles g where g.tenant_id = p_tenant and g.group_id = m.group_id offset 0) r
     where u.tenant_id = p_tenant and u.scim_user_id = any(p_scim_user_ids) and u.active
    on conflict do nothing;
end $$;

-- The log row's function settled rejections with a statement PL/pgSQL planned again on every
-- call (its custom plans looked cheaper than the generic one): 0.08 ms of planning a write, more
-- than the statement's run. Its statements look rows up by key, so one generic plan serves all.
alter function scim.record_request(text, text, text, text, text, text, text, text, integer, text, text, numeric, jsonb, text, text, boolean)
    set plan_cache_mode = force_generic_plan;
