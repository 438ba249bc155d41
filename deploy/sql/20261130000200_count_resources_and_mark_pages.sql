-- Paging a whole tenant (Okta's import: GET /Users?startIndex=1&count=100, then 101, 201, ...)
-- cost a count of every user on every page and an OFFSET that walked every earlier row: in a
-- tenant of 100,000 users the last page cost twice the first, and the first six times a one-user
-- lookup. Two tables take that work away:
--   scim.resource_counts  how many users and groups each tenant has, kept by statement triggers in
--                         the writing transaction (so exact), spread over up to 64 rows a tenant so
--                         that concurrent creates do not queue on one row; `changes` only grows,
--                         and tells whether any user or group came or went since a moment.
--   scim.page_marks       where the previous page ended: served page [S, S+C-1] of a whole tenant
--                         marks position S+C with its last id and the tenant's `changes`; the next
--                         page starts after that id instead of walking S+C-1 rows, as long as no
--                         resource came or went meanwhile (else the OFFSET walk, as before). A
--                         cache: UNLOGGED (no WAL, so a page read still waits for no disk flush),
--                         empty after a crash or on a promoted standby, which only costs speed.

create table if not exists scim.resource_counts (
    tenant_id     uuid     not null,
    resource_type text     not null,
    slot          smallint not null,
    resources     bigint   not null,
    changes       bigint   not null,
    constraint resource_counts_pkey primary key (tenant_id, resource_type, slot),
    constraint resource_counts_tenant_fkey foreign key (tenant_id) references scim.tenants (id) on delete cascade,
    constraint resource_counts_type_check check (resource_type in ('User', 'Group'))
);
comment on table scim.resource_counts is
    'Users and groups per tenant: the sum of resources over a tenant''s rows is its exact count; changes (inserts and deletes) only grows.';

create unlogged table if not exists scim.page_marks (
    tenant_id     uuid        not null,
    resource_type text        not null,
    start_index   bigint      not null,
    after_id      uuid        not null,
    changes       bigint      not null,
    marked_at     timestamptz not null default now(),
    constraint page_marks_pkey primary key (tenant_id, resource_type, start_index),
    constraint page_marks_tenant_fkey foreign key (tenant_id) references scim.tenants (id) on delete cascade
);
comment on table scim.page_marks is
    'Where a page of a whole tenant ended (a cache for index paging): the id before start_index, valid while the tenant''s changes count is the same.';

alter table scim.resource_counts enable row level security;
drop policy if exists tenant_isolation on scim.resource_counts;
create policy tenant_isolation on scim.resource_counts using (tenant_id = current_setting('scim.tenant_id', true)::uuid)
    with check (tenant_id = current_setting('scim.tenant_id', true)::uuid);
alter table scim.page_marks enable row level security;
drop policy if exists tenant_isolation on scim.page_marks;
create policy tenant_isolation on scim.page_marks using (tenant_id = current_setting('scim.tenant_id', true)::uuid)
    with check (tenant_id = current_setting('scim.tenant_id', true)::uuid);

-- Runs as the owner: the responder's role reads the counts but cannot change them. A tenant being
-- deleted cascades to its users after its own row is gone; nothing is counted for it then.
create or replace function scim.count_resources() returns trigger
language plpgsql security definer set search_path = pg_catalog, pg_temp as $$
declare
    v_type text := tg_argv[0];
    v_slot smallint := floor(random() * 64)::smallint;
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

-- Records where a page ended; a failure is a warning (it is a cache), never the request's failure.
-- The first page of a walk clears the tenant's older marks of that type.
create or replace function scim.mark_page(p_tenant uuid, p_type text, p_start_index bigint, p_after uuid,
                                          p_changes bigint, p_first_page boolean)
returns void language plpgsql as $$
begin
    if p_first_page then
        delete from scim.page_marks where tenant_id = p_tenant and resource_type = p_type;
    end if;
    insert into scim.page_marks as m (tenant_id, resource_type, start_index, after_id, changes)
    values (p_tenant, p_type, p_start_index, p_after, p_changes)
    on conflict on constraint page_marks_pkey do update
        set after_id = excluded.after_id, changes = excluded.changes, marked_at = now();
exception when others then
    raise warning 'scim.mark_page: %', sqlerrm;
end $$;
comment on function scim.mark_page(uuid, text, bigint, uuid, bigint, boolean) is
    'Records the id a page of a whole tenant ended with, for the next page; a failure is only a warning.';

-- The counts start from what is stored, and the triggers keep them from then on, in one step
-- while no user or group can be written (one DO block: atomic even when run by hand with psql -f).
do $$
begin
    lock table scim.users, scim.groups in share row exclusive mode;
    insert into scim.resource_counts (tenant_id, resource_type, slot, resources, changes)
    select u.tenant_id, 'User', 0, count(*), 0 from scim.users u
    where not exists (select 1 from scim.resource_counts c where c.tenant_id = u.tenant_id and c.resource_type = 'User')
    group by u.tenant_id;
    insert into scim.resource_counts (tenant_id, resource_type, slot, resources, changes)
    select g.tenant_id, 'Group', 0, count(*), 0 from scim.groups g
    where not exists (select 1 from scim.resource_counts c where c.tenant_id = g.tenant_id and c.resource_type = 'Group')
    group by g.tenant_id;
    drop trigger if exists users_counted_on_insert on scim.users;
    create trigger users_counted_on_insert after insert on scim.users
        referencing new table as new_rows for each statement execute function scim.count_resources('User');
    drop trigger if exists users_counted_on_delete on scim.users;
    create trigger users_counted_on_delete after delete on scim.users
        referencing old table as old_rows for each statement execute function scim.count_resources('User');
    drop trigger if exists groups_counted_on_insert on scim.groups;
    create trigger groups_counted_on_insert after insert on scim.groups
        referencing new table as new_rows for each statement execute function scim.count_resources('Group');
    drop trigger if exists groups_counted_on_delete on scim.groups;
    create trigger groups_counted_on_delete after delete on scim.groups
        referencing old table as old_rows for each statement execute function scim.count_resources('Group');
end $$;

do $$
begin
    if exists (select 1 from pg_roles where rolname = 'scim_responder') then
        grant select on scim.resource_counts to scim_responder;
        grant select, insert, update, delete on scim.page_marks to scim_responder;
        grant execute on function scim.mark_page(uuid, text, bigint, uuid, bigint, boolean) to scim_responder;
    end if;
end $$;
