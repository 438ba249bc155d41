import Foundation
import Testing
import SCIMAdmin
@testable import SCIMCore
@testable import SCIMPostgres

/// What the responder's own database role may do: no DDL, no changes to tenants or keys, and only
/// the rows of the tenant its transaction is scoped to (row-level security, switched on by
/// deploy/sql/20261129001900 when run as a superuser, as the test stack's migrations are). These
/// connect as that role (SCIM_TEST_APP_DATABASE_URL, set by deploy/test.sh).
@Suite("The responder's database role", .enabled(if: TestDatabase.available))
struct RowLevelSecurityTests {
    func appConnection() throws -> PostgresConnection { try TestDatabase.responderConnection() }

    @Test("it has no DDL, cannot change tenants' identity or keys' secrets and scopes, nor bring a revoked key back")
    func privileges() throws {
        let app = try appConnection()
        // A revoked key to try to bring back.
        let tenant = try TestDatabase.tenant()
        _ = try TestDatabase.ownerAdminister(tenant.slug) { (admin) throws(SCIMError) in
            let revoked = try admin.createKey(try NewAPIKey(name: "revoked", scopes: [.scim], expiresAt: nil))
            return try admin.revokeKey(revoked["prefix"]?.stringValue ?? "")
        }
        for statement: SQL in ["create table scim.intruder (x int)", "delete from scim.tenants", "update scim.api_keys set scopes = '{scim,admin}'",
                               "update scim.tenants set slug = 'taken'", "delete from scim.api_keys", "delete from scim.provisioning_log",
                               "update scim.api_keys set revoked_at = null where revoked_at is not null",
                               "drop index scim.users_search_keys_idx"] {
            let error = #expect(throws: PostgresError.self) { try app.execute(statement) }
            #expect(error?.sqlState == "42501" || error?.sqlState == "42P01", "\(statement.render().text): \(String(describing: error))")
        }
    }

    @Test("row-level security: a statement without any tenant condition sees and changes only the scoped tenant")
    func rowLevelSecurity() throws {
        let app = try appConnection()
        let a = try TestDatabase.tenant()
        let b = try TestDatabase.tenant()
        let owner = try TestDatabase.connection()
        for tenant in [a, b] {
            try owner.execute("""
                insert into scim.users (tenant_id, user_name, attributes) values (\(tenant.id)::uuid, 'rls@example.com', '{}'::jsonb)
                """)
        }
        func count(_ tenant: String) throws -> Int {
            try app.executeScript("begin")
            defer { _ = try? app.executeScript("rollback") }
            try app.execute("select set_config('scim.tenant_id', \(tenant), true)")
            return Int(try app.execute("select count(*) as n from scim.users where user_name = 'rls@example.com'")[0, "n"] ?? "") ?? -1
        }
        #expect(try count(a.id) == 1, "the scoped tenant's own row")
        #expect(try count(b.id) == 1)
        let fresh = try appConnection()
        let unscoped = try fresh.execute("select count(*) as n from scim.users")[0, "n"]
        #expect(unscoped == "0", "a session never scoped sees no rows at all")
        try app.executeScript("begin")
        try app.execute("select set_config('scim.tenant_id', \(a.id), true)")
        let updated = try app.execute("update scim.users set display_name = 'touched' where user_name = 'rls@example.com'").affected
        let smuggled = #expect(throws: PostgresError.self) {
            try app.execute("insert into scim.users (tenant_id, user_name, attributes) values (\(b.id)::uuid, 'smuggled@example.com', '{}'::jsonb)")
        }
        _ = try? app.executeScript("rollback")
        #expect(updated == 1, "an unconditioned update reaches the scoped tenant's row only")
        #expect(smuggled?.sqlState == "42501", "a row for another tenant is refused by the policy")
    }

    @Test("the responder's store serves through the confined role, and refuses (503, saying why) through one row-level security does not confine")
    func refusesUnconfinedRole() throws {
        let confined = PostgresStore(connection: try TestDatabase.responderConnection(), logger: TestDatabase.logger, requiresConfinedRole: true)
        try confined.checkReadiness()
        #expect(try RowLevelSecurityCheck.problem(try TestDatabase.responderConnection()) == nil)
        // The owner (here also a superuser) sees every tenant's rows: never good enough to serve with.
        let owner = PostgresStore(connection: try TestDatabase.connection(), logger: TestDatabase.logger, requiresConfinedRole: true)
        let error = #expect(throws: SCIMError.self) { try owner.checkReadiness() }
        #expect(error?.status == 503)
        #expect(error?.detail.contains("superuser") == true || error?.detail.contains("owns") == true, "\(String(describing: error))")
        #expect(throws: SCIMError.self) { try owner.transaction { (_) throws(SCIMError) in () } }
    }

    @Test("every table with tenants' rows has row-level security on")
    func allProtected() throws {
        #expect(try RowLevelSecurityCheck.tablesWithoutRowLevelSecurity(try TestDatabase.connection()).isEmpty)
    }

    @Test("through every view it may read, the responder's role sees one tenant's rows only", arguments: [
        "app.group_roles", "app.effective_roles", "app.role_assignments_explained", "app.users_per_department",
    ])
    func viewsConfined(_ view: String) throws {
        // Two tenants, each with a user in a group that a mapping turns into a role, through the store.
        let tenants = try (0..<2).map { _ in try TestDatabase.tenant() }
        let owner = try TestDatabase.connection()
        for tenant in tenants {
            try owner.execute("""
                with d as (insert into app.departments (tenant_id, name) values (\(tenant.id)::uuid, 'Dept') returning id),
                     r as (insert into app.roles (tenant_id, name) values (\(tenant.id)::uuid, 'Role') returning id),
                     g as (insert into scim.groups (tenant_id, display_name, attributes) values (\(tenant.id)::uuid, 'Team', '{"displayName":"Team"}') returning id),
                     m as (insert into scim.group_role_mappings (tenant_id, match_by, match_value, role_id)
                           select \(tenant.id)::uuid, 'displayName', 'Team', id from r returning id),
                     u as (insert into app.users (tenant_id, username, department_id) select \(tenant.id)::uuid, 'viewer', id from d returning id)
                insert into app.role_assignments (tenant_id, user_id, role_id, source, assigned_by)
                select \(tenant.id)::uuid, u.id, r.id, 'manual', 'tests' from u, r
                """)
        }
        let app = try appConnection()
        try app.executeScript("begin")
        defer { _ = try? app.executeScript("rollback") }
        try app.execute("select set_config('scim.tenant_id', \(tenants[0].id), true)")
        let tenantColumn = view == "app.users_per_department" || view == "app.role_assignments_explained" ? "tenant" : "tenant_id"
        let others = try app.execute(SQL(unsafeRaw: "select count(*) as n from \(view) where \(tenantColumn)::text not in ('\(tenants[0].id)', '\(tenants[0].slug)')"))
        #expect(others[0, "n"] == "0", "\(view) shows other tenants' rows")
        let all = try owner.execute(SQL(unsafeRaw: "select count(distinct \(tenantColumn)) as n from \(view) where \(tenantColumn)::text in ('\(tenants[0].id)', '\(tenants[1].id)', '\(tenants[0].slug)', '\(tenants[1].slug)')"))
        #expect(Int(all[0, "n"] ?? "0") ?? 0 >= 1, "the fixture reaches \(view)")
    }
}
