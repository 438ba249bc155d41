-- Migration 20261130000600 told the planner that a tenant holds a hundredth of each table
-- (n_distinct = 100 on tenant_id), so that among many small tenants a keyed index still wins over
-- any index that merely starts with tenant_id. In a small table a hundredth is under one row:
-- with 50 groups and 50 role mappings a tenant (a usual installation) and a few hundred tenants,
-- every index that starts with tenant_id cost the same, so a group read by id walked the tenant's
-- groups through its externalId index, and the role refresh looked each group's roles up by
-- walking all the tenant's groups and mappings (lower() of every name). Overlapping 20-member
-- PATCHes spent most of the database's time there.
--
-- The groups and the role mappings, tables of hundreds or thousands of rows where the others hold
-- millions, now take a share of their rows instead: -0.01 says there are a hundredth as many
-- tenants as rows, so a tenant is taken to hold about a hundred groups, and a table of fewer rows
-- is taken as one tenant's. The keyed index wins at every size. The large tables keep the
-- hundredth of 20261130000600. Planner statistics only (ANALYZE keeps the number;
-- select attoptions from pg_attribute where attname = 'tenant_id' shows it).
drop function if exists scim.fit_tenant_statistics();
alter table scim.groups alter column tenant_id set (n_distinct = -0.01);
alter table scim.group_role_mappings alter column tenant_id set (n_distinct = -0.01);
alter table scim.users alter column tenant_id set (n_distinct = 100);
alter table scim.group_members alter column tenant_id set (n_distinct = 100);
alter table app.users alter column tenant_id set (n_distinct = 100);
alter table app.role_assignments alter column tenant_id set (n_distinct = 100);
analyze scim.users, scim.groups, scim.group_members, scim.group_role_mappings, app.users, app.role_assignments;
