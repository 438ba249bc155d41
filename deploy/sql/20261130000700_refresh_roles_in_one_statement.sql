-- A role refresh resolved the roles of a group once for every membership it met, and checked every
-- existing assignment against the memberships and mappings again, one at a time: a 20-member PATCH
-- of a group whose members all sit in other mapped groups looked the same few groups up dozens of
-- times. Now one statement works out what the users should hold (their memberships, the roles of
-- each distinct group among them, by key), deletes the group-derived assignments outside that and
-- inserts the missing ones. Same result; the rows are still locked first, in id order.
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
    with targets as materialized (
            select u.id, u.scim_user_id, u.active from app.users u
             where u.tenant_id = p_tenant and u.scim_user_id = any(p_scim_user_ids)),
         memberships as materialized (
            select t.id as user_id, m.group_id from targets t
              join scim.group_members m on m.tenant_id = p_tenant and m.member_id = t.scim_user_id
             where t.active),
         grants as materialized (
            select g.group_id, r.role_id from (select distinct group_id from memberships) g
             cross join lateral (select r.role_id from app.group_roles r where r.tenant_id = p_tenant and r.group_id = g.group_id offset 0) r),
         wanted as materialized (
            select m.user_id, m.group_id, g.role_id from memberships m join grants g on g.group_id = m.group_id),
         stale as (
            delete from app.role_assignments a using targets t
             where a.tenant_id = p_tenant and a.user_id = t.id and a.source = 'group'
               and not exists (select 1 from wanted w where w.user_id = a.user_id and w.group_id = a.group_id and w.role_id = a.role_id))
    insert into app.role_assignments (tenant_id, user_id, role_id, source, group_id, assigned_by)
    select distinct p_tenant, w.user_id, w.role_id, 'group', w.group_id, 'provisioning' from wanted w
    on conflict do nothing;
end $$;
