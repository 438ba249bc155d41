-- A new installation's first sync fills the directory tables from nothing in a minute or two, and
-- autovacuum looks at most once a minute (autovacuum_naptime), then only past a tenth of the rows
-- changed: the planner meanwhile estimates from the empty tables it last saw. An Entra-shaped
-- cycle of 20,000 users into a fresh database read 22.8M rows of group_members and 21.6M of
-- app.users by sequential scans (1,275 requests a second; overlapping membership PATCHes 296 a
-- second, p50 52 ms). Analyzing the directory tables every 5 s during the same cycle: 1,724 and
-- 707 a second (p50 22 ms).
--
-- So a responder worker that has answered 100 writes asks, at most every 2 seconds, for the
-- directory tables that changed by more than 500 rows and a tenth since their last ANALYZE (and not
-- in the last 2 seconds), and analyzes those, one session at a time. The same cycle: 1,804 requests
-- a second, overlapping PATCHes 783 a second (p50 20 ms). An established installation's tables
-- rarely cross that line before autovacuum does, so there this is one look at
-- pg_stat_user_tables. ANALYZE changes no row; it waits at most 50 ms for a table's lock
-- (autovacuum holding it means the table is being looked after anyway).

-- The tables that need it now: their changes since the last ANALYZE (manual or automatic) and how
-- long ago that was.
create or replace function scim.growing_tables(min_interval interval)
returns setof regclass language sql stable set search_path = pg_catalog, pg_temp as $$
    select s.relid::regclass
      from pg_stat_user_tables s
      join pg_class c on c.oid = s.relid
     where s.relid = any(array['scim.users', 'scim.groups', 'scim.group_members', 'scim.group_role_mappings',
                               'app.users', 'app.role_assignments']::regclass[])
       and s.n_mod_since_analyze > 500 + 0.1 * greatest(c.reltuples, 0)
       and coalesce(greatest(s.last_analyze, s.last_autoanalyze), '-infinity') <= now() - min_interval
     order by s.relid::regclass::text
$$;

-- Analyzes them as the owner; the tables analyzed, or none when another session is at it.
create or replace function scim.analyze_growing_tables_at(min_interval interval)
returns text[] language plpgsql security definer set search_path = pg_catalog, pg_temp set lock_timeout = '50ms' as $$
declare
    v_table regclass;
    v_analyzed text[] := '{}';
begin
    if not pg_try_advisory_xact_lock(hashtext('scim.analyze_growing_tables')) then
        return v_analyzed;
    end if;
    for v_table in select scim.growing_tables(min_interval) loop
        begin
            execute format('analyze %s', v_table);
            v_analyzed := v_analyzed || v_table::text;
        exception when lock_not_available then
            null;
        end;
    end loop;
    return v_analyzed;
end $$;

-- What the responder's workers call, with no say in how often a table is analyzed.
create or replace function scim.analyze_growing_tables()
returns text[] language sql security definer set search_path = pg_catalog, pg_temp as $$
    select scim.analyze_growing_tables_at(interval '2 seconds')
$$;
comment on function scim.analyze_growing_tables() is
    'ANALYZE of the directory tables that changed by more than 500 rows and a tenth since their last one (a new installation''s first sync), not within 2 s of it, one session at a time.';

revoke all on function scim.growing_tables(interval) from public;
revoke all on function scim.analyze_growing_tables_at(interval) from public;
revoke all on function scim.analyze_growing_tables() from public;
do $$
begin
    if exists (select 1 from pg_roles where rolname = 'scim_responder') then
        grant execute on function scim.analyze_growing_tables() to scim_responder;
    end if;
end $$;
