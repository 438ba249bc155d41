-- Three foreign keys had no index on their referencing columns, so each delete of a referenced row
-- read the whole tenant's referencing rows. The costly one: deleting a tenant of 20,000 users set
-- each deleted user's reports' manager_id to null with a scan of the tenant's users, one scan a
-- user (21.7 s of a 23 s tenant delete). ForeignKeyIndexTests keeps every foreign key indexed.
create index if not exists users_tenant_manager_idx on app.users (tenant_id, manager_id) where manager_id is not null;
create index if not exists department_mappings_department_idx on scim.department_mappings (tenant_id, department_id);
create index if not exists group_role_mappings_role_idx on scim.group_role_mappings (tenant_id, role_id);
