-- Log retention that runs by itself. The responder's idle workers call
-- scim.maintain_provisioning_log() about once an hour; it does its work at most once an hour for
-- the whole deployment (an advisory lock and the last run's time decide which worker): monthly
-- partitions are made ahead, rows that landed in the default partition are moved into partitions
-- of their own month, and months wholly older than the retention are dropped (so a row is kept at
-- least the retention and at most a month longer; no row-by-row delete runs in the background).
-- `scimctl log retention` sets the retention (default 90 days); `scimctl log purge` still purges
-- by hand, to the day.
--
-- The functions take the moment to act as of, so a test can walk the calendar month by month.

create table if not exists scim.log_retention (
    singleton        boolean primary key default true check (singleton),
    retention_days   integer not null default 90 check (retention_days between 1 and 3650),
    months_ahead     integer not null default 3 check (months_ahead between 1 and 24),
    last_run_at      timestamptz,
    last_run_dropped integer,
    last_run_moved   bigint
);
insert into scim.log_retention (singleton) values (true) on conflict do nothing;
comment on table scim.log_retention is
    'The provisioning log''s retention (one row): how long rows are kept, how many months of partitions are made ahead, and the last automatic run.';

-- Partitions for the months from as_of on, and for every month within the retention that has rows
-- waiting in the default partition (maintenance that stalled, or a clock that jumped); those rows
-- move into their month's partition, which is then attached. Returns the rows moved.
create or replace function scim.ensure_provisioning_log_partitions_at(as_of timestamptz, months_ahead integer, keep_from timestamptz)
returns bigint language plpgsql set search_path = pg_catalog, pg_temp as $$
declare
    month date;
    partition_name text;
    moved bigint := 0;
    moved_here bigint;
begin
    for month in
        select date_trunc('month', as_of)::date + make_interval(months => i) from generate_series(0, months_ahead) as i
        union
        select distinct date_trunc('month', logged_at)::date from scim.provisioning_log_default where logged_at >= date_trunc('month', keep_from)
        order by 1
    loop
        partition_name := format('provisioning_log_%s', to_char(month, 'YYYYMM'));
        continue when to_regclass(format('scim.%I', partition_name)) is not null;
        execute format('create table scim.%I (like scim.provisioning_log including defaults including constraints)', partition_name);
        execute format('with taken as (delete from scim.provisioning_log_default where logged_at >= %L and logged_at < %L returning *) '
                       'insert into scim.%I select * from taken', month, month + interval '1 month', partition_name);
        get diagnostics moved_here = row_count;
        moved := moved + moved_here;
        execute format('alter table scim.provisioning_log attach partition scim.%I for values from (%L) to (%L)',
                       partition_name, month, month + interval '1 month');
    end loop;
    return moved;
end $$;

-- Drops the monthly partitions wholly older than the cutoff, and deletes older rows from the
-- default partition and, with every_row, from the other partitions too. Returns the number of
-- partitions dropped.
create or replace function scim.purge_provisioning_log_at(as_of timestamptz, older_than interval, every_row boolean)
returns integer language plpgsql set search_path = pg_catalog, pg_temp as $$
declare
    cutoff timestamptz := as_of - older_than;
    partition record;
    dropped integer := 0;
begin
    for partition in
        select c.relname from pg_inherits i join pg_class c on c.oid = i.inhrelid
        where i.inhparent = 'scim.provisioning_log'::regclass and c.relname ~ '^provisioning_log_[0-9]{6}$'
    loop
        if to_date(right(partition.relname, 6), 'YYYYMM') + interval '1 month' <= cutoff then
            execute format('drop table scim.%I', partition.relname);
            dropped := dropped + 1;
        end if;
    end loop;
    if every_row then
        delete from scim.provisioning_log where logged_at < cutoff;
    else
        delete from scim.provisioning_log_default where logged_at < cutoff;
    end if;
    return dropped;
end $$;

-- The by-hand purge keeps its signature and now also heals the default partition.
create or replace function scim.purge_provisioning_log(older_than interval) returns integer
language plpgsql as $$
declare
    dropped integer;
begin
    dropped := scim.purge_provisioning_log_at(now(), older_than, true);
    perform scim.ensure_provisioning_log_partitions_at(now(), (select months_ahead from scim.log_retention), now() - older_than);
    return dropped;
end $$;

-- The work, as of a given moment (tests walk the calendar with it): true when this call did it,
-- false when another session holds it or it ran within the hour. For the owner only.
create or replace function scim.maintain_provisioning_log_at(as_of timestamptz, force boolean)
returns boolean language plpgsql set search_path = pg_catalog, pg_temp as $$
declare
    settings scim.log_retention;
    dropped integer;
    moved bigint;
begin
    if not pg_try_advisory_xact_lock(hashtext('scim.maintain_provisioning_log')) then
        return false;
    end if;
    select * into settings from scim.log_retention where singleton;
    if not force and settings.last_run_at is not null and settings.last_run_at > as_of - interval '1 hour'
       and settings.last_run_at <= as_of then
        return false;
    end if;
    dropped := scim.purge_provisioning_log_at(as_of, make_interval(days => settings.retention_days), false);
    moved := scim.ensure_provisioning_log_partitions_at(as_of, settings.months_ahead, as_of - make_interval(days => settings.retention_days));
    update scim.log_retention set last_run_at = as_of, last_run_dropped = dropped, last_run_moved = moved where singleton;
    return true;
end $$;

-- What the responder's idle workers call, about once an hour each: now, never forced. It runs as
-- the owner (the partitions are the owner's) and takes no arguments, so the responder's role can
-- neither move time nor skip the hour.
create or replace function scim.maintain_provisioning_log()
returns boolean language sql security definer set search_path = pg_catalog, pg_temp as $$
    select scim.maintain_provisioning_log_at(now(), false)
$$;
comment on function scim.maintain_provisioning_log() is
    'Partitions ahead, rows out of the default partition, months past the retention dropped; at most hourly, one session at a time.';

revoke all on function scim.ensure_provisioning_log_partitions_at(timestamptz, integer, timestamptz) from public;
revoke all on function scim.purge_provisioning_log_at(timestamptz, interval, boolean) from public;
revoke all on function scim.maintain_provisioning_log_at(timestamptz, boolean) from public;
revoke all on function scim.maintain_provisioning_log() from public;
do $$
begin
    if exists (select 1 from pg_roles where rolname = 'scim_responder') then
        grant execute on function scim.maintain_provisioning_log() to scim_responder;
    end if;
end $$;

select scim.maintain_provisioning_log_at(now(), true);
