import Foundation
import Testing
@testable import SCIMPostgres

/// A tenant is taken to hold about a hundred rows of each table (migration 20261130001400): in a
/// small table among many tenants, a hundredth of the table was under one row and every index that
/// starts with tenant_id cost the same as the key. Everything runs in one transaction that is
/// rolled back, with the statistics taken inside it.
@Suite("Keyed reads take their keys in small tables among many tenants", .enabled(if: TestDatabase.available), .serialized)
struct SmallTablePlanTests {
    @Test("200 tenants, one of them with 50 groups and 50 role mappings: a group read by id and a group's roles go by key")
    func smallTablesUseTheirKeys() throws {
        let owner = try TestDatabase.connection()
        try owner.executeScript("begin")
        defer { _ = try? owner.executeScript("rollback") }
        try owner.executeScript("delete from scim.tenants")
        try owner.executeScript("insert into scim.tenants (slug, name) select 'small-table-' || i, 'Tenant' from generate_series(1, 200) i")
        let tenant = try #require(owner.execute("select id from scim.tenants where slug = 'small-table-1'")[0, "id"])
        for statement in [
            "insert into scim.groups (tenant_id, display_name, external_id, attributes) select '\(tenant)', 'Team ' || g, 'ext-' || g, '{}' from generate_series(1, 50) g",
            // Every membership PATCH bumps its group's version, so a groups table in use is never
            // the single page 50 fresh rows fill, where a sequential scan rightly costs least.
            "do $$ begin for i in 1..20 loop update scim.groups set display_name = display_name where tenant_id = '\(tenant)'; end loop; end $$",
            "insert into app.roles (tenant_id, name) select '\(tenant)', 'Role ' || g from generate_series(1, 50) g",
            """
            insert into scim.group_role_mappings (tenant_id, match_by, match_value, role_id)
            select tenant_id, 'displayName', replace(name, 'Role', 'Team'), id from app.roles where tenant_id = '\(tenant)'
            """,
            "analyze scim.groups, scim.group_role_mappings",
            "set local plan_cache_mode = force_generic_plan",
            "set local random_page_cost = 1.1",
            "prepare small_group_by_id(uuid, uuid) as select r.id from scim.groups r where r.tenant_id = $1 and r.id = $2",
            "prepare small_group_roles(uuid, uuid) as select r.role_id from app.group_roles r where r.tenant_id = $1 and r.group_id = $2",
        ] {
            try owner.executeScript(statement)
        }
        func plan(_ name: String) throws -> String {
            try owner.execute(SQL(unsafeRaw: "explain execute \(name)('\(tenant)', gen_random_uuid())")).rows.compactMap { $0.first ?? nil }.joined(separator: "\n")
        }
        let byId = try plan("small_group_by_id")
        #expect(byId.contains("groups_pkey") && byId.contains("id = $2"), "\(byId)")
        // Each way a mapping names a group finds the group by its key, never by walking the tenant's groups.
        let roles = try plan("small_group_roles")
        #expect(roles.components(separatedBy: "groups_pkey").count - 1 == 3, "\(roles)")
        #expect(!roles.contains("Filter: (id = $2)") && !roles.contains("Seq Scan on groups"), "\(roles)")
    }
}
