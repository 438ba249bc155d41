-- Migration 20261130000600 told the planner that a tenant holds a hundredth of each table, so that
-- among many small tenants a keyed index still wins over any index that merely starts with
-- tenant_id. Where there are few tenants and the table is small, a hundredth of it is under one
-- row, and every index that starts with tenant_id costs the same: with one tenant of 50 groups
-- and 50 role mappings (a usual installation), a group read by id walked the tenant's groups
-- through its externalId index, and the role refresh looked each group's roles up by walking all
-- groups and all mappings of the tenant (lower() of every name, 0.3 ms a group; overlapping
-- 20-member PATCHes spent most of the database's time there).
--
-- The share now follows the number of tenants, up to the hundredth it was: a tenant is taken to
-- hold 1/n of each table, n being the number of tenants rounded down to 1, 2, 4, ... 64, or 100
-- from 100 tenants on. On a single-tenant installation the planner knows each table is the
-- tenant's. scimctl calls scim.fit_tenant_statistics() after it creates a tenant; it changes
-- the setting (and analyzes the six tables, so the planner sees it) only when n changes, at most
-- eight times in an installation's life. Planner statistics only: no row or plan is kept.
create or replace function scim.fit_tenant_statistics() returns integer
language plpgsql as $$
declare
    v_tenants integer := (select count(*) from scim.tenants);
    v_share   integer := case when v_tenants >= 100 then 100
                              else greatest(1, (2 ^ floor(log(2, greatest(v_tenants, 1)::numeric)))::integer) end;
    v_table   regclass;
begin
    if (select attoptions from pg_attribute where attrelid = 'scim.users'::regclass and attname = 'tenant_id')
       = array['n_distinct=' || v_share] then
        return v_share;
    end if;
    foreach v_table in array array['scim.users', 'scim.groups', 'scim.group_members', 'scim.group_role_mappings',
                                   'app.users', 'app.role_assignments']::regclass[] loop
        execute format('alter table %s alter column tenant_id set (n_distinct = %s)', v_table, v_share);
        execute format('analyze %s', v_table);
    end loop;
    return v_share;
end $$;
revoke all on function scim.fit_tenant_statistics() from public;

select scim.fit_tenant_statistics();
