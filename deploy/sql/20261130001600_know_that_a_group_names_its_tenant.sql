-- A generic plan estimates "tenant_id = $1 and group_id = $2" as independent conditions: a
-- hundredth of the memberships (migration 20261130000600) times one group's share, about one row
-- in a table of a few hundred thousand memberships and a few hundred groups. Removing a member
-- from a group then walked the whole group through the key and filtered member_id row by row,
-- cheaper than an index descent per member by that estimate: one-member PATCHes on a group of
-- 100,000 members took 10 ms against 2.3 ms on a group of 10, once an ANALYZE had counted many
-- groups. A group (or a member) belongs to one tenant, and PostgreSQL is told so: with these
-- dependency statistics the tenant adds nothing to a group's or a member's share, a group is
-- taken at its share of the table, and the member ids go into the index condition (1.5 ms on
-- either group). Planner statistics only; pg_stats_ext shows them.
create statistics if not exists scim.group_members_tenant_dependencies (dependencies)
    on tenant_id, group_id, member_id from scim.group_members;
analyze scim.group_members;
