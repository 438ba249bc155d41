-- A membership change touches only the role assignments of that membership. Until now the
-- membership triggers recomputed every group role of each member from all of the member's
-- groups (app.refresh_group_roles): a PATCH adding 20 members read each member's memberships,
-- the roles of each of those groups and each member's assignments, and its cost grew with the
-- number of groups a member sits in (Okta's users sit in about five).
--
-- An assignment (user, role, group) exists when the user is active, a member of the group, and
-- the group grants the role (app.group_roles). So a membership added grants the group's roles to
-- an active member, and a membership removed takes away the assignments that name that group;
-- nothing else can change. app.refresh_group_roles stays for what does change more (a group
-- renamed, a mapping changed, a user deactivated).
--
-- The members' application users are locked first, in id order, as app.refresh_group_roles does:
-- a deactivation refreshing the same user waits for this change (or this change for it) and
-- then sees the other's outcome, and two PATCHes sharing members cannot deadlock.
create or replace function app.refresh_roles_of_changed_members() returns trigger
language plpgsql as $$
begin
    perform 1 from app.users u
      join changed_members c on c.tenant_id = u.tenant_id and c.member_id = u.scim_user_id
     where c.member_type = 'User'
     order by u.id
       for update of u;
    if tg_op = 'INSERT' then
        -- The group's roles once, not once a member.
        with grants as materialized (
            select g.tenant_id, g.group_id, r.role_id
              from (select distinct c.tenant_id, c.group_id from changed_members c where c.member_type = 'User') g
             cross join lateral (select r.role_id from app.group_roles r
                                  where r.tenant_id = g.tenant_id and r.group_id = g.group_id offset 0) r)
        insert into app.role_assignments (tenant_id, user_id, role_id, source, group_id, assigned_by)
        select distinct gr.tenant_id, u.id, gr.role_id, 'group', gr.group_id, 'provisioning'
          from grants gr
          join changed_members c on c.tenant_id = gr.tenant_id and c.group_id = gr.group_id and c.member_type = 'User'
          join app.users u on u.tenant_id = c.tenant_id and u.scim_user_id = c.member_id
         where u.active
        on conflict do nothing;
    else
        delete from app.role_assignments a
         using changed_members c, app.users u
         where c.member_type = 'User'
           and u.tenant_id = c.tenant_id and u.scim_user_id = c.member_id
           and a.tenant_id = c.tenant_id and a.user_id = u.id and a.source = 'group' and a.group_id = c.group_id;
    end if;
    return null;
end $$;
