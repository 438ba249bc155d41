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

    @Test("it has no DDL and cannot change tenants or keys")
    func privileges() throws {
        let app = try appConnection()
        for statement: SQL in ["create table scim.intruder (x int)", "delete from scim.tenants", "update scim.api_keys set revoked_at = null",
                               "drop index scim.users_search_keys_idx"] {
            let error = #expect(throws: PostgresError.self) { try app.execute(statement) }
            #expect(error?.sqlState == "42501" || error?.sqlState == "42P01", "\(statement.render().text): \(String(describing: error))")
        }
    }
}
