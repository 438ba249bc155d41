-- Row-level security on every table that holds a tenant's SCIM resources, directory and mappings,
-- keyed on the transaction's tenant (set_config('scim.tenant_id', ..., true), done per request
-- after the key is checked): a query that forgot its tenant condition still sees one tenant only.
--
-- PostgreSQL lets a condition use an index under RLS only when its functions are LEAKPROOF.
-- The filters need four that are not marked so: lower(text), textlike (LIKE, also behind the
-- trigram indexes), arraycontains and arrayoverlap (@>, && on the search_keys column). None can
-- reveal a row's data: lower and the array functions raise no data-dependent errors, and textlike
-- errs only on a pattern ending in the escape character, and our patterns are bind parameters,
-- never row data. Marking them needs a superuser: run as one, this file marks them and switches
-- RLS on; run as the schema owner alone, it leaves RLS off and says so (a DBA then runs this file
-- with psql as a superuser). The marks are not kept by pg_dump or pg_upgrade: run the file again
-- after either, or RLS stays on with filters reading whole tenants.
do $$
declare
    v_leakproof boolean;
    v_table text;
begin
    if (select rolsuper from pg_roles where rolname = current_user) then
        alter function pg_catalog.lower(text) leakproof;
        alter function pg_catalog.textlike(text, text) leakproof;
        alter function pg_catalog.arraycontains(anyarray, anyarray) leakproof;
        alter function pg_catalog.arrayoverlap(anyarray, anyarray) leakproof;
    end if;
    select bool_and(proleakproof) into v_leakproof from pg_proc
     where oid in ('pg_catalog.lower(text)'::regprocedure, 'pg_catalog.textlike(text, text)'::regprocedure,
                   'pg_catalog.arraycontains(anyarray, anyarray)'::regprocedure,
                   'pg_catalog.arrayoverlap(anyarray, anyarray)'::regprocedure);
    if not v_leakproof then
        raise notice 'row-level security stays off: a superuser must run % to mark lower, textlike, arraycontains and arrayoverlap LEAKPROOF',
            '20261129001900_enable_row_level_security_with_leakproof_search.sql';
        return;
    end if;
    -- One policy per table, replacing the first ones (20261129000800). Unscoped, a fresh session sees
    -- no rows (the setting is null); one whose earlier transaction was scoped gets an error (the
    -- setting is then ''): closed either way.
    drop policy if exists users_tenant_isolation on scim.users;
    drop policy if exists groups_tenant_isolation on scim.groups;
    drop policy if exists group_members_tenant_isolation on scim.group_members;
    drop policy if exists schema_extensions_tenant_isolation on scim.schema_extensions;
    foreach v_table in array array['scim.users', 'scim.groups', 'scim.group_members', 'scim.schema_extensions',
                                   'scim.column_mappings', 'scim.department_mappings', 'scim.group_role_mappings',
                                   'app.users', 'app.departments', 'app.roles', 'app.custom_fields', 'app.role_assignments'] loop
        execute format('alter table %s enable row level security', v_table);
        execute format('drop policy if exists tenant_isolation on %s', v_table);
        execute format('create policy tenant_isolation on %s using (tenant_id = current_setting(''scim.tenant_id'', true)::uuid) '
                       'with check (tenant_id = current_setting(''scim.tenant_id'', true)::uuid)', v_table);
    end loop;
end $$;
