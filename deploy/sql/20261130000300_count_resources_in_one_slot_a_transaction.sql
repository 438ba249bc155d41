-- scim.count_resources() picked a random slot for each statement, so a transaction with several
-- inserts (a Bulk request creating users, or users and groups) could lock two counter rows in one
-- order while another locked them in the other: a deadlock, which PostgreSQL breaks only after
-- deadlock_timeout. Every statement of a transaction now uses the same slot (from its transaction
-- id), so two transactions meet on a counter row only when their ids share a slot, and then on
-- the same rows in the same order for each resource type.
create or replace function scim.count_resources() returns trigger
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
    v_type text := tg_argv[0];
    v_slot smallint := (txid_current() % 64)::smallint;
begin
    if tg_op = 'INSERT' then
        insert into scim.resource_counts as c (tenant_id, resource_type, slot, resources, changes)
        select n.tenant_id, v_type, v_slot, count(*), count(*) from new_rows n group by n.tenant_id
        on conflict on constraint resource_counts_pkey do update
            set resources = c.resources + excluded.resources, changes = c.changes + excluded.changes;
    else
        insert into scim.resource_counts as c (tenant_id, resource_type, slot, resources, changes)
        select o.tenant_id, v_type, v_slot, -count(*), count(*) from old_rows o
        where exists (select 1 from scim.tenants t where t.id = o.tenant_id)
        group by o.tenant_id
        on conflict on constraint resource_counts_pkey do update
            set resources = c.resources + excluded.resources, changes = c.changes + excluded.changes;
    end if;
    return null;
end $$;
revoke all on function scim.count_resources() from public;
