-- mapped_group_missing errors name their cause as an administrator reads it ("displayName
-- Editors"), so mappings of one missing group to several roles group together; the mapping
-- itself is the error's resource.
create or replace function app.check_group_role_mappings(p_tenant uuid) returns void
language plpgsql set plan_cache_mode = force_generic_plan as $$
begin
    insert into scim.provisioning_errors (tenant_id, kind, cause, resource_type, resource_id, subject, detail, suggestion)
    select p_tenant, 'mapped_group_missing', m.match_by || ' ' || m.match_value, 'GroupRoleMapping', m.id::text, m.match_value,
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
       and (not exists (select 1 from scim.group_role_mappings m where m.tenant_id = p_tenant and m.id::text = e.resource_id)
            or exists (select 1 from app.group_roles g where g.tenant_id = p_tenant and g.mapping_id::text = e.resource_id));
end $$;

-- Errors opened by the previous definition (cause = the mapping id) are superseded.
update scim.provisioning_errors set resolved_at = now(), resolved_by = 'system'
 where kind = 'mapped_group_missing' and resolved_at is null and resource_id is null;
select app.check_group_role_mappings(id) from scim.tenants;
