import Foundation
import Testing
@testable import SCIMCore
@testable import SCIMPostgres

/// Generic plans estimate "tenant_id = $1" from the number of tenants, and many small tenants made
/// that one row: a large tenant's keyed lookups then walked the whole tenant through any index that
/// starts with tenant_id. Everything here runs in one transaction that is rolled back, with the
/// statistics taken inside it (ANALYZE counts the transaction's own rows).
@Suite("Keyed work in a large tenant costs what it costs in a small one, beside many one-group tenants",
       .enabled(if: TestDatabase.available), .serialized)
struct LargeTenantPlanTests {
    /// 1,500 tenants of 10 users in one group each, a tenant of 3,000 users and one of 30, each with
    /// 30 groups that grant a role apiece and every user in one of them; then ANALYZE.
    ///
    /// The tiny tenants' users and memberships give the tables the shape of a database with many
    /// tenants whatever database the test runs in: in a young one that holds only the two tenants,
    /// the large tenant is the table, a hundredth of the table (the tenant share migration 0600
    /// fixes) is 30 memberships, and the planner rightly finds walking 30 rows cheaper than ten
    /// index descents for the user array.
    static func skewedTenants(_ owner: PostgresConnection) throws -> (large: String, small: String) {
        let tag = UUID().uuidString.prefix(8).lowercased()
        for statement in [
            "insert into scim.tenants (slug, name, scim_enabled) select 'plan-tiny-\(tag)-' || i, 'One group', true from generate_series(1, 1500) i",
            """
            insert into scim.groups (tenant_id, display_name, attributes)
            select id, 'Only', '{"displayName":"Only"}' from scim.tenants where slug like 'plan-tiny-\(tag)-%'
            """,
            """
            insert into scim.users (tenant_id, user_name, attributes)
            select t.id, 'u' || i || '@example.com', jsonb_build_object('userName', 'u' || i || '@example.com')
            from scim.tenants t cross join generate_series(1, 10) i where t.slug like 'plan-tiny-\(tag)-%'
            """,
            """
            insert into app.users (tenant_id, scim_user_id, username, active)
            select u.tenant_id, u.id, u.user_name, true from scim.users u join scim.tenants t on t.id = u.tenant_id
            where t.slug like 'plan-tiny-\(tag)-%'
            """,
            """
            insert into scim.group_members (tenant_id, group_id, member_id)
            select u.tenant_id, g.id, u.id from scim.users u join scim.tenants t on t.id = u.tenant_id
            join scim.groups g on g.tenant_id = u.tenant_id where t.slug like 'plan-tiny-\(tag)-%'
            """,
        ] {
            try owner.execute(SQL(unsafeRaw: statement))
        }
        var ids: [String] = []
        for (slug, users) in [("plan-large-\(tag)", 3000), ("plan-small-\(tag)", 30)] {
            let id = try #require(owner.execute(SQL(unsafeRaw: """
                insert into scim.tenants (slug, name, scim_enabled) values ('\(slug)', '\(slug)', true) returning id
                """))[0, "id"])
            try owner.execute(SQL(unsafeRaw: """
                insert into scim.users (tenant_id, user_name, attributes)
                select '\(id)', 'u' || i || '@example.com', jsonb_build_object('userName', 'u' || i || '@example.com')
                from generate_series(1, \(users)) i
                """))
            for statement in [
                "insert into app.users (tenant_id, scim_user_id, username, active) select tenant_id, id, user_name, true from scim.users where tenant_id = '\(id)'",
                "insert into scim.groups (tenant_id, display_name, attributes) select '\(id)', 'Team ' || g, jsonb_build_object('displayName', 'Team ' || g) from generate_series(0, 29) g",
                "insert into app.roles (tenant_id, name) select '\(id)', 'Role ' || g from generate_series(0, 29) g",
                """
                insert into scim.group_role_mappings (tenant_id, match_by, match_value, role_id)
                select tenant_id, 'displayName', replace(name, 'Role', 'Team'), id from app.roles where tenant_id = '\(id)'
                """,
                // The membership triggers give every user its group's role.
                """
                insert into scim.group_members (tenant_id, group_id, member_id)
                select u.tenant_id, g.id, u.id
                from (select tenant_id, id, row_number() over (order by user_name) % 30 as team from scim.users where tenant_id = '\(id)') u
                join scim.groups g on g.tenant_id = u.tenant_id and g.display_name = 'Team ' || u.team
                """,
            ] {
                try owner.execute(SQL(unsafeRaw: statement))
            }
            ids.append(id)
        }
        try owner.execute("analyze scim.users, scim.groups, scim.group_members, scim.group_role_mappings, app.users, app.role_assignments")
        return (ids[0], ids[1])
    }

    /// The shared buffers the plan's top node touched, functions it called included.
    static func buffers(_ owner: PostgresConnection, _ statement: String) throws -> Int {
        let plan = try owner.execute(SQL(unsafeRaw: "explain (analyze, buffers, costs off, timing off, summary off) " + statement))
            .rows.compactMap { $0.first ?? nil }
        let line = try #require(plan.first { $0.contains("Buffers:") }, "\(plan)")
        return ["hit=", "read="].reduce(0) { sum, key in
            guard let range = line.range(of: key) else { return sum }
            return sum + (Int(line[range.upperBound...].prefix { $0.isNumber }) ?? 0)
        }
    }

    /// Runs `body` on the owner's connection with `skewedTenants` made, then rolls it all back.
    static func withSkewedTenants(_ body: (PostgresConnection, _ large: String, _ small: String) throws -> Void) throws {
        let owner = try TestDatabase.connection()
        try owner.executeScript("begin")
        defer { _ = try? owner.executeScript("rollback") }
        let (large, small) = try skewedTenants(owner)
        try body(owner, large, small)
    }

    @Test("Refreshing one user's roles reads as much among 3,000 members of mapped groups as among 30")
    func roleRefreshIsFlat() throws {
        try Self.withSkewedTenants { owner, large, small in
            func refresh(_ tenant: String) throws -> Int {
                let user = try #require(owner.execute(SQL(unsafeRaw: """
                    select id from scim.users where tenant_id = '\(tenant)' and lower(user_name) = 'u7@example.com'
                    """))[0, "id"])
                return try Self.buffers(owner, "select app.refresh_group_roles('\(tenant)', array['\(user)'::uuid])")
            }
            // The first calls plan the function's statements, and a cache invalidation between calls
            // plans them again: catalog reads are not the point, so each tenant's least of two counts.
            _ = try refresh(small)
            _ = try refresh(large)
            let smallTenant = min(try refresh(small), try refresh(small))
            let largeTenant = min(try refresh(large), try refresh(large))
            #expect(largeTenant <= smallTenant * 2, "large tenant \(largeTenant) buffers, small tenant \(smallTenant)")
            let roles = try owner.execute(SQL(unsafeRaw: """
                select count(*) as n from app.role_assignments where tenant_id = '\(large)' and source = 'group'
                """))[0, "n"]
            #expect(roles == "3000", "every user keeps the role of its group")
        }
    }

    @Test("A group and a user read by id plan on their keys under the responder's generic plans")
    func keyedReadsUseTheirKeys() throws {
        try Self.withSkewedTenants { owner, large, _ in
            try owner.executeScript("set local plan_cache_mode = force_generic_plan")
            for (table, key) in [("scim.groups", "groups_pkey"), ("scim.users", "users_pkey")] {
                let name = key.replacingOccurrences(of: "_pkey", with: "_by_id")
                try owner.execute(SQL(unsafeRaw: "prepare \(name)(uuid, uuid) as select r.id from \(table) r where r.tenant_id = $1 and r.id = $2"))
                let plan = try owner.execute(SQL(unsafeRaw: "explain execute \(name)('\(large)', gen_random_uuid())"))
                    .rows.compactMap { $0.first ?? nil }.joined(separator: "\n")
                #expect(plan.contains(key) && plan.contains("id = $2"), "\(plan)")
            }
        }
    }
}
