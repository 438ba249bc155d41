import Foundation
import Testing
@testable import SCIMPostgres

/// The planner takes a tenant to hold 1/n of each table, n following the number of tenants
/// (migration 20261130001400). Everything runs in one transaction that is rolled back.
@Suite("A tenant's share of each table follows the number of tenants", .enabled(if: TestDatabase.available), .serialized)
struct TenantStatisticsTests {
    static func share(_ owner: PostgresConnection) throws -> [String] {
        try owner.execute("""
            select attrelid::regclass::text || ' ' || array_to_string(attoptions, ',') as setting from pg_attribute
            where attname = 'tenant_id' and attrelid in ('scim.users'::regclass, 'scim.groups'::regclass, 'scim.group_members'::regclass,
                  'scim.group_role_mappings'::regclass, 'app.users'::regclass, 'app.role_assignments'::regclass)
            order by 1
            """).rows.compactMap { $0.first ?? nil }
    }

    @Test("1, 2, 4 ... tenants: each table's tenant_id is 1/n of it; a single tenant's group is read by its key")
    func shareFollowsTenants() throws {
        let owner = try TestDatabase.connection()
        try owner.executeScript("begin")
        defer { _ = try? owner.executeScript("rollback") }
        try owner.executeScript("delete from scim.tenants")
        let tenant = try #require(owner.execute("""
            insert into scim.tenants (slug, name, scim_enabled) values ('statistics-one', 'One', true) returning id
            """)[0, "id"])
        try owner.execute(SQL(unsafeRaw: """
            insert into scim.groups (tenant_id, display_name, external_id, attributes)
            select '\(tenant)', 'Team ' || g, 'ext-' || g, jsonb_build_object('displayName', 'Team ' || g) from generate_series(1, 50) g
            """))
        #expect(try owner.execute("select scim.fit_tenant_statistics() as n")[0, "n"] == "1")
        let single = try Self.share(owner)
        #expect(single.count == 6 && single.allSatisfy { $0.hasSuffix(" n_distinct=1") }, "\(single)")

        // Among 50 groups of the only tenant, the read by id takes the primary key, not an index
        // that merely starts with tenant_id (under a hundredth, every one of them cost the same).
        try owner.executeScript("set local plan_cache_mode = force_generic_plan")
        try owner.executeScript("prepare statistics_group_by_id(uuid, uuid) as select r.id from scim.groups r where r.tenant_id = $1 and r.id = $2")
        let plan = try owner.execute(SQL(unsafeRaw: "explain execute statistics_group_by_id('\(tenant)', gen_random_uuid())"))
            .rows.compactMap { $0.first ?? nil }.joined(separator: "\n")
        #expect(plan.contains("groups_pkey"), "\(plan)")

        for (tenants, share) in [(3, "2"), (7, "4"), (99, "64"), (150, "100")] {
            try owner.execute(SQL(unsafeRaw: """
                insert into scim.tenants (slug, name) select 'statistics-' || i, 'Tenant' from generate_series(2, \(tenants)) i
                on conflict do nothing
                """))
            #expect(try owner.execute("select scim.fit_tenant_statistics() as n")[0, "n"] == share, "\(tenants) tenants")
            let settings = try Self.share(owner)
            #expect(settings.count == 6 && settings.allSatisfy { $0.hasSuffix(" n_distinct=\(share)") }, "\(tenants) tenants: \(settings)")
        }
    }
}
