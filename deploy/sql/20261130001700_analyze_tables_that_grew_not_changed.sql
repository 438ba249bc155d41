-- Migration 20261130001500 took a table as growing once 500 rows and a tenth had changed since its
-- last ANALYZE. Updates count as changes: every membership PATCH bumps its group's version, so a
-- few hundred PATCHes a second had scim.groups analyzed every 2 seconds, and each ANALYZE made
-- every session plan its statements on groups again. Growth is what leaves the planner behind, so
-- a table now counts as growing when it holds 20 rows and a tenth more than its last ANALYZE
-- counted (live rows against pg_class.reltuples); updates and deletes no longer count. The 20
-- rather than 500: a first sync's 50 groups and their role mappings were never analyzed, and
-- the role refresh read both tables whole 100,000 times in a cycle (an ANALYZE of a small table
-- costs next to nothing).
create or replace function scim.growing_tables(min_interval interval)
returns setof regclass language sql stable set search_path = pg_catalog, pg_temp as $$
    select s.relid::regclass
      from pg_stat_user_tables s
      join pg_class c on c.oid = s.relid
     where s.relid = any(array['scim.users', 'scim.groups', 'scim.group_members', 'scim.group_role_mappings',
                               'app.users', 'app.role_assignments']::regclass[])
       and s.n_live_tup > 20 + 1.1 * greatest(c.reltuples, 0)
       and coalesce(greatest(s.last_analyze, s.last_autoanalyze), '-infinity') <= now() - min_interval
     order by s.relid::regclass::text
$$;
revoke all on function scim.growing_tables(interval) from public;
