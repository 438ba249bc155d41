import Foundation
import Testing
@testable import SCIMPostgres

/// Migration 20261130001600: a group and a member each belong to one tenant, and the planner knows
/// it. Without that, a generic plan took "tenant_id = $1 and group_id = $2" as a hundredth of a
/// hundredth of the memberships, about one row, and removed a member from a 20,000-member group
/// by walking the group. Everything runs in one transaction that is rolled back, with the
/// statistics taken inside it.
@Suite("Members leave a large group by key", .enabled(if: TestDatabase.available), .serialized)
struct GroupMemberPlanTests {
    @Test("300 groups, one of 20,000 members: the member ids are in the index condition of the removal and of the role refresh's look-up")
    func membersAreFoundByKey() throws {
        let owner = try TestDatabase.connection()
        try owner.executeScript("begin")
        defer { _ = try? owner.executeScript("rollback") }
        let tenant = try #require(owner.execute("""
            insert into scim.tenants (slug, name, scim_enabled) values ('member-plan-' || gen_random_uuid(), 'Member plans', true) returning id
            """)[0, "id"])
        for statement in [
            // Search columns given, so the trigger that derives them stays out of the way.
            """
            insert into scim.users (tenant_id, user_name, attributes, search_text, search_keys)
            select '\(tenant)', 'm' || i || '@example.com', '{}', '', '{}' from generate_series(1, 30000) i
            """,
            "insert into scim.groups (tenant_id, display_name, attributes) select '\(tenant)', 'Team ' || g, '{}' from generate_series(0, 299) g",
            // Team 0 holds the first 20,000 users; the other 10,000 are spread over the 299 others.
            """
            insert into scim.group_members (tenant_id, group_id, member_id)
            select u.tenant_id, g.id, u.id
            from (select tenant_id, id, row_number() over (order by id) as n from scim.users where tenant_id = '\(tenant)') u
            join scim.groups g on g.tenant_id = u.tenant_id
             and g.display_name = 'Team ' || case when u.n <= 20000 then 0 else 1 + u.n % 299 end
            """,
            "analyze scim.group_members",
            "set local plan_cache_mode = force_generic_plan",
            "set local random_page_cost = 1.1",
            "prepare member_removal(uuid, uuid, uuid[]) as delete from scim.group_members where tenant_id = $1 and group_id = $2 and member_id = any($3)",
            "prepare member_lookup(uuid, uuid[]) as select 1 from scim.group_members m where m.tenant_id = $1 and m.member_id = any($2)",
        ] {
            try owner.execute(SQL(unsafeRaw: statement))
        }
        let team = try #require(owner.execute(SQL(unsafeRaw: "select id from scim.groups where tenant_id = '\(tenant)' and display_name = 'Team 0'"))[0, "id"])
        let member = try #require(owner.execute(SQL(unsafeRaw: """
            select member_id from scim.group_members where tenant_id = '\(tenant)' and group_id = '\(team)' limit 1
            """))[0, "member_id"])
        func plan(_ execute: String) throws -> String {
            try owner.execute(SQL(unsafeRaw: "explain (analyze, buffers, costs off, timing off, summary off) " + execute))
                .rows.compactMap { $0.first ?? nil }.joined(separator: "\n")
        }
        // Through the key or through the member index: either way the ids are looked up, not filtered.
        func findsByMember(_ plan: String, _ parameter: String) -> Bool {
            plan.split(separator: "\n").contains { $0.contains("Index Cond:") && $0.contains("member_id = ANY (\(parameter))") }
                && !plan.contains("Rows Removed by Filter")
        }
        let removal = try plan("execute member_removal('\(tenant)', '\(team)', array['\(member)'::uuid])")
        #expect(findsByMember(removal, "$3"), "\(removal)")
        let lookup = try plan("execute member_lookup('\(tenant)', array['\(member)'::uuid])")
        #expect(findsByMember(lookup, "$2"), "\(lookup)")
    }
}
