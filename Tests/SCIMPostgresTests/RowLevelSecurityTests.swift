import Foundation
import Testing
@testable import SCIMCore
@testable import SCIMPostgres

/// What the responder's own database role may do: no DDL, no changes to tenants or keys. These
/// connect as that role (SCIM_TEST_APP_DATABASE_URL, set by deploy/test.sh). Row-level security
/// is defined but switched off (deploy/sql/20261129001100), so isolation rests on every query's
/// tenant condition, tested end to end.
@Suite("The responder's database role", .enabled(if: TestDatabase.available))
struct RowLevelSecurityTests {
    func appConnection() throws -> PostgresConnection {
        let url = try #require(ProcessInfo.processInfo.environment["SCIM_TEST_APP_DATABASE_URL"], "run ./deploy/test.sh")
        let connection = PostgresConnection(conninfo: url)
        try connection.connect()
        return connection
    }

    @Test("it has no DDL, cannot change tenants' identity or keys' secrets and scopes, nor bring a revoked key back")
    func privileges() throws {
        let app = try appConnection()
        // A revoked key to try to bring back.
        let owner = TenantAdministration(connection: try TestDatabase.connection())
        let tenant = try TestDatabase.tenant()
        let (revoked, _) = try owner.createKey(tenantSlug: tenant.slug, name: "revoked", scopes: ["scim"])
        _ = try owner.revokeKey(tenantSlug: tenant.slug, key: revoked.prefix)
        for statement: SQL in ["create table scim.intruder (x int)", "delete from scim.tenants", "update scim.api_keys set scopes = '{scim,admin}'",
                               "update scim.tenants set slug = 'taken'", "delete from scim.api_keys", "delete from scim.provisioning_log",
                               "update scim.api_keys set revoked_at = null where revoked_at is not null",
                               "drop index scim.users_search_keys_idx"] {
            let error = #expect(throws: PostgresError.self) { try app.execute(statement) }
            #expect(error?.sqlState == "42501" || error?.sqlState == "42P01", "\(statement.render().text): \(String(describing: error))")
        }
    }
}
