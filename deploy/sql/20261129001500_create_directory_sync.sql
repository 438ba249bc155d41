-- Keeping the application directory in step with SCIM. The responder computes a user's mapped
-- field values from the column mappings and calls app.sync_user in the transaction of the SCIM
-- write; roles follow group membership through triggers, so every path (PATCH, PUT, Bulk, DELETE,
-- and a DBA's own SQL) keeps them right.

create index if not exists provisioning_errors_resource_idx on scim.provisioning_errors (tenant_id, resource_id)
    where resolved_at is null;

-- Opens an error, or counts one more occurrence of the open error with the same cause.
create or replace function scim.record_error(p_tenant uuid, p_kind text, p_cause text, p_resource_type text, p_resource_id text,
                                             p_subject text, p_detail text, p_suggestion text, p_request_id text)
returns void language sql as $$
    insert into scim.provisioning_errors as e (tenant_id, kind, cause, resource_type, resource_id, subject, detail, suggestion, request_id)
    values (p_tenant, p_kind, left(p_cause, 500), p_resource_type, p_resource_id, left(p_subject, 300), left(p_detail, 2000),
            p_suggestion, p_request_id)
    on conflict (tenant_id, kind, cause, coalesce(resource_id, '')) where resolved_at is null
    do update set occurrences = e.occurrences + 1, last_seen_at = now(), detail = excluded.detail,
                  subject = coalesce(excluded.subject, e.subject), request_id = coalesce(excluded.request_id, e.request_id);
$$;

-- Which roles each group grants: the group-role mappings matched to groups, one way per match_by
-- so that each branch uses its index.
create or replace view app.group_roles as
    select m.tenant_id, g.id as group_id, m.role_id, m.id as mapping_id
      from scim.group_role_mappings m
      join scim.groups g on g.tenant_id = m.tenant_id and lower(g.display_name) = lower(m.match_value)
     where m.match_by = 'displayName'
    union all
    select m.tenant_id, g.id, m.role_id, m.id
      from scim.group_role_mappings m
      join scim.groups g on g.tenant_id = m.tenant_id and g.external_id = m.match_value
     where m.match_by = 'externalId'
    union all
    select m.tenant_id, g.id, m.role_id, m.id
      from scim.group_role_mappings m
      join scim.groups g on g.tenant_id = m.tenant_id and g.id::text = m.match_value
     where m.match_by = 'id';
comment on view app.group_roles is 'Each SCIM group with the roles its mappings grant.';

-- Makes the group-derived roles of these (SCIM) users exactly the union over the mapped groups they
-- are direct members of; an inactive user has none. Manual assignments are never touched. The
-- users' rows are locked first (in id order), so concurrent refreshes of one user take turns and
-- each sees the memberships the other committed.
create or replace function app.refresh_group_roles(p_tenant uuid, p_scim_user_ids uuid[]) returns void
language plpgsql as $$
begin
    if cardinality(p_scim_user_ids) = 0 then return; end if;
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
      join app.group_roles r on r.tenant_id = p_tenant and r.group_id = m.group_id
     where u.tenant_id = p_tenant and u.scim_user_id = any(p_scim_user_ids) and u.active
    on conflict do nothing;
end $$;

-- Opens a mapped_group_missing error for each group-role mapping no group matches, and resolves
-- those that match again (or whose mapping is gone).
create or replace function app.check_group_role_mappings(p_tenant uuid) returns void
language plpgsql as $$
begin
    insert into scim.provisioning_errors (tenant_id, kind, cause, resource_type, subject, detail, suggestion)
    select p_tenant, 'mapped_group_missing', m.id::text, 'Group', m.match_value,
           format('The group-role mapping for the group with %s "%s" (role "%s") matches no provisioned group, so nobody gets the role through it.',
                  m.match_by, m.match_value, r.name),
           'Check the group''s name in the mapping against the group in Entra, and that the group is assigned to the provisioning app and in scope.'
      from scim.group_role_mappings m
      join app.roles r on r.tenant_id = m.tenant_id and r.id = m.role_id
     where m.tenant_id = p_tenant
       and not exists (select 1 from app.group_roles g where g.tenant_id = p_tenant and g.mapping_id = m.id)
    on conflict do nothing;
    update scim.provisioning_errors e set resolved_at = now(), resolved_by = 'system'
     where e.tenant_id = p_tenant and e.kind = 'mapped_group_missing' and e.resolved_at is null
       and (not exists (select 1 from scim.group_role_mappings m where m.tenant_id = p_tenant and m.id::text = e.cause)
            or exists (select 1 from app.group_roles g where g.tenant_id = p_tenant and g.mapping_id::text = e.cause));
end $$;

-- The application user of one SCIM user, from the mapped field values the responder computed:
--   {"username", "email", "first_name", "last_name", "display_name", "phone", "mobile", "job_title",
--    "employee_number", "department" (incoming value), "manager" (SCIM id), "locale", "time_zone",
--    "active", "custom": {...}, "subject" (SCIM userName), "problems": [{"field", "detail", "suggestion"}]}
-- Returns created, updated, unchanged, or skipped (no user could be written; an error says why).
create or replace function app.sync_user(p_tenant uuid, p_scim_user uuid, p_fields jsonb, p_request_id text) returns text
language plpgsql as $$
declare
    v_existing      app.users%rowtype;
    v_user_id       uuid;
    v_subject       text := p_fields->>'subject';
    v_username      text := nullif(btrim(p_fields->>'username'), '');
    v_department    text := nullif(btrim(p_fields->>'department'), '');
    v_department_id uuid;
    v_manager_ref   text := nullif(btrim(p_fields->>'manager'), '');
    v_manager_id    uuid;
    v_active        boolean := coalesce((p_fields->>'active')::boolean, true);
    v_custom        jsonb := coalesce(p_fields->'custom', '{}'::jsonb);
    v_open_causes   text[] := '{}';
    v_problem       jsonb;
    v_result        text;
begin
    for v_problem in select * from jsonb_array_elements(coalesce(p_fields->'problems', '[]'::jsonb)) loop
        perform scim.record_error(p_tenant, 'invalid_field_value', v_problem->>'field', 'User', p_scim_user::text, v_subject,
                                  v_problem->>'detail', v_problem->>'suggestion', p_request_id);
        v_open_causes := v_open_causes || ('invalid_field_value:' || (v_problem->>'field'));
    end loop;

    if v_department is not null then
        select d.department_id into v_department_id from scim.department_mappings d
         where d.tenant_id = p_tenant and lower(d.source_value) = lower(v_department);
        if v_department_id is null then
            select d.id into v_department_id from app.departments d where d.tenant_id = p_tenant and lower(d.name) = lower(v_department);
        end if;
        if v_department_id is null then
            if (select t.unmapped_department from scim.tenants t where t.id = p_tenant) = 'create' then
                insert into app.departments as d (tenant_id, name, created_by) values (p_tenant, left(v_department, 200), 'provisioning')
                on conflict (tenant_id, lower(name)) do update set name = d.name
                returning d.id into v_department_id;
            else
                perform scim.record_error(p_tenant, 'unmapped_department', lower(v_department), 'User', p_scim_user::text, v_subject,
                    format('The department "%s" has no department mapping and no department has that name; the user was left without a department.', v_department),
                    format('Add a department mapping for "%s" (or create a department of that name, or set unmapped departments to be created), then re-apply the mappings.', v_department),
                    p_request_id);
                v_open_causes := v_open_causes || ('unmapped_department:' || lower(v_department));
            end if;
        end if;
    end if;

    if v_manager_ref ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' then
        select u.id into v_manager_id from app.users u where u.tenant_id = p_tenant and u.scim_user_id = v_manager_ref::uuid;
    end if;

    select * into v_existing from app.users u where u.tenant_id = p_tenant and u.scim_user_id = p_scim_user for update;
    if not found and v_username is not null then
        -- A SCIM user re-created under the name of a deprovisioned one gets that application user back.
        select * into v_existing from app.users u
         where u.tenant_id = p_tenant and lower(u.username) = lower(v_username) and u.scim_user_id is null for update;
    end if;
    if v_username is null or exists (select 1 from app.users u where u.tenant_id = p_tenant and lower(u.username) = lower(v_username)
                                                                 and u.id is distinct from v_existing.id) then
        perform scim.record_error(p_tenant, 'invalid_field_value', 'username', 'User', p_scim_user::text, v_subject,
            case when v_username is null then 'The username mapping gave no value for this user.'
                 else format('The username "%s" belongs to another application user.', v_username) end,
            'Check the column mapping of username: it must give every user a value of its own (Entra''s userPrincipalName, the SCIM userName, is).',
            p_request_id);
        v_open_causes := v_open_causes || 'invalid_field_value:username'::text;
        if v_existing.id is null then
            v_result := 'skipped';
        else
            v_username := v_existing.username;
        end if;
    end if;

    if v_result is null then
        if v_existing.id is null then
            insert into app.users (tenant_id, scim_user_id, username, email, first_name, last_name, display_name, phone, mobile,
                                   job_title, employee_number, department_id, manager_id, manager_ref, locale, time_zone, active,
                                   deprovisioned_at, custom_fields)
            values (p_tenant, p_scim_user, v_username, p_fields->>'email', p_fields->>'first_name', p_fields->>'last_name',
                    p_fields->>'display_name', p_fields->>'phone', p_fields->>'mobile', p_fields->>'job_title',
                    p_fields->>'employee_number', v_department_id, v_manager_id, v_manager_ref, p_fields->>'locale',
                    p_fields->>'time_zone', v_active, case when v_active then null else now() end, jsonb_strip_nulls(v_custom))
            returning id into v_user_id;
            v_result := 'created';
        else
            update app.users u set
                scim_user_id = p_scim_user, username = v_username, email = p_fields->>'email', first_name = p_fields->>'first_name',
                last_name = p_fields->>'last_name', display_name = p_fields->>'display_name', phone = p_fields->>'phone',
                mobile = p_fields->>'mobile', job_title = p_fields->>'job_title', employee_number = p_fields->>'employee_number',
                department_id = v_department_id, manager_id = v_manager_id, manager_ref = v_manager_ref,
                locale = p_fields->>'locale', time_zone = p_fields->>'time_zone', active = v_active,
                deprovisioned_at = case when v_active then null when u.active then now() else u.deprovisioned_at end,
                custom_fields = jsonb_strip_nulls(u.custom_fields || v_custom), updated_at = now()
             where u.tenant_id = p_tenant and u.id = v_existing.id
               and (u.scim_user_id, u.username, u.email, u.first_name, u.last_name, u.display_name, u.phone, u.mobile, u.job_title,
                    u.employee_number, u.department_id, u.manager_id, u.manager_ref, u.locale, u.time_zone, u.active,
                    jsonb_strip_nulls(u.custom_fields || v_custom))
                   is distinct from
                   (p_scim_user, v_username, p_fields->>'email', p_fields->>'first_name', p_fields->>'last_name',
                    p_fields->>'display_name', p_fields->>'phone', p_fields->>'mobile', p_fields->>'job_title',
                    p_fields->>'employee_number', v_department_id, v_manager_id, v_manager_ref, p_fields->>'locale',
                    p_fields->>'time_zone', v_active, u.custom_fields)
            returning u.id into v_user_id;
            v_result := case when v_user_id is null then 'unchanged' else 'updated' end;
            v_user_id := v_existing.id;
        end if;
        -- Users whose manager arrived only now.
        update app.users u set manager_id = v_user_id, updated_at = now()
         where u.tenant_id = p_tenant and u.manager_ref = p_scim_user::text and u.manager_id is null and u.id <> v_user_id;
        if v_result <> 'unchanged' then
            perform app.refresh_group_roles(p_tenant, array[p_scim_user]);
        end if;
    end if;

    -- Problems of this user that no longer occur were fixed (a mapping changed, the data did).
    update scim.provisioning_errors e set resolved_at = now(), resolved_by = 'system'
     where e.tenant_id = p_tenant and e.resource_id = p_scim_user::text and e.resolved_at is null
       and e.kind in ('unmapped_department', 'invalid_field_value')
       and not ((e.kind || ':' || e.cause) = any(v_open_causes));
    return v_result;
end $$;

-- Re-applies many users in one call (a batch of a re-apply job): [{"id": SCIM id, "fields": {...}}].
-- Returns how many application users changed. Roles are refreshed for all of them, since a
-- group-role mapping change leaves the fields as they were.
create or replace function app.sync_users(p_tenant uuid, p_items jsonb) returns integer
language plpgsql as $$
declare
    v_item    jsonb;
    v_changed integer := 0;
begin
    for v_item in select * from jsonb_array_elements(p_items) loop
        if app.sync_user(p_tenant, (v_item->>'id')::uuid, v_item->'fields', null) in ('created', 'updated') then
            v_changed := v_changed + 1;
        end if;
    end loop;
    perform app.refresh_group_roles(p_tenant, array(select (e->>'id')::uuid from jsonb_array_elements(p_items) e));
    return v_changed;
end $$;

-- Deleting a SCIM user deprovisions its application user: inactive, unlinked, no group-derived roles.
create or replace function app.deprovision_deleted_user() returns trigger
language plpgsql as $$
declare
    v_user_id uuid;
begin
    update app.users u set active = false, deprovisioned_at = case when u.active then now() else coalesce(u.deprovisioned_at, now()) end,
                           scim_user_id = null, updated_at = now()
     where u.tenant_id = old.tenant_id and u.scim_user_id = old.id
    returning u.id into v_user_id;
    if v_user_id is not null then
        delete from app.role_assignments a where a.tenant_id = old.tenant_id and a.user_id = v_user_id and a.source = 'group';
    end if;
    return old;
end $$;
drop trigger if exists users_deprovision_application_user on scim.users;
create trigger users_deprovision_application_user before delete on scim.users
    for each row execute function app.deprovision_deleted_user();

-- Members added or removed: refresh the roles of exactly those users.
create or replace function app.refresh_roles_of_changed_members() returns trigger
language plpgsql as $$
declare
    v_tenant uuid;
begin
    for v_tenant in select distinct tenant_id from changed_members loop
        perform app.refresh_group_roles(v_tenant, array(select c.member_id from changed_members c
                                                         where c.tenant_id = v_tenant and c.member_type = 'User'));
    end loop;
    return null;
end $$;
drop trigger if exists group_members_added_refresh_roles on scim.group_members;
create trigger group_members_added_refresh_roles after insert on scim.group_members
    referencing new table as changed_members for each statement execute function app.refresh_roles_of_changed_members();
drop trigger if exists group_members_removed_refresh_roles on scim.group_members;
create trigger group_members_removed_refresh_roles after delete on scim.group_members
    referencing old table as changed_members for each statement execute function app.refresh_roles_of_changed_members();

-- A group renamed (or its externalId changed) may match other mappings now: refresh its members.
-- Any group created, renamed or deleted may make a mapping match or stop matching.
create or replace function app.group_changed() returns trigger
language plpgsql as $$
declare
    v_tenant uuid;
begin
    if tg_op = 'DELETE' then
        v_tenant := old.tenant_id;
    else
        v_tenant := new.tenant_id;
    end if;
    if tg_op = 'UPDATE' then
        if (old.display_name, old.external_id) is not distinct from (new.display_name, new.external_id) then
            return null;
        end if;
        perform app.refresh_group_roles(v_tenant, array(select m.member_id from scim.group_members m
                                                         where m.tenant_id = v_tenant and m.group_id = new.id and m.member_type = 'User'));
    end if;
    if exists (select 1 from scim.group_role_mappings m where m.tenant_id = v_tenant) then
        perform app.check_group_role_mappings(v_tenant);
    end if;
    return null;
end $$;
drop trigger if exists groups_changed_check_mappings on scim.groups;
create trigger groups_changed_check_mappings after insert or update or delete on scim.groups
    for each row execute function app.group_changed();
