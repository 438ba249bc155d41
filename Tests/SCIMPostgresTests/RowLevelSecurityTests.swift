import Foundation
import Testing
@testable import SCIMCore
@testable import SCIMPostgres

/// What the responder's own database role may do: only its transaction's tenant, and no DDL.
/// These connect as that role (SCIM_TEST_APP_DATABASE_URL, set by deploy/test.sh).
@Suite("Row-level security for the responder's role", .enabled(if: TestDatabase.available))
struct RowLevelSecurityTests {
    func appConnection() throws -> PostgresConnection {
        let url = try #require(ProcessInfo.processInfo.environment["SCIM_TEST_APP_DATABASE_URL"], "run ./deploy/test.sh")
        let connection = PostgresConnection(conninfo: url)
        try connection.connect()
        return connection
    }

    @Test("unscoped it sees no users; scoped to tenant A it neither sees nor changes tenant B's")
    func isolation() throws {
        let a = try TestDatabase.tenant()
        let b = try TestDatabase.tenant()
        let admin = PostgresStore(connection: try TestDatabase.connection(), logger: TestDatabase.logger)
        _ = try admin.inTenant(a.id) { (t) throws(SCIMError) in try t.insertUser(try user(#"{"userName":"a@example.com"}"#)) }
        let bUser = try admin.inTenant(b.id) { (t) throws(SCIMError) in try t.insertUser(try user(#"{"userName":"b@example.com"}"#)) }

        let app = try appConnection()
        let unscoped = try app.execute("select count(*) as n from scim.users")
        #expect(unscoped[0, "n"] == "0")

        try app.executeScript("begin")
        try app.execute("select set_config('scim.tenant_id', \(a.id), true)")
        let visible = try app.execute("select count(*) as n from scim.users where tenant_id in (\(a.id)::uuid, \(b.id)::uuid)")
        #expect(visible[0, "n"] == "1")
        let touched = try app.execute("update scim.users set display_name = 'x' where id = \(bUser.id)::uuid")
        #expect(touched.affected == 0)
        let memberships = try app.execute("delete from scim.group_members where tenant_id = \(b.id)::uuid")
        #expect(memberships.affected == 0)
        let insert = #expect(throws: PostgresError.self) {
            try app.execute("""
                insert into scim.users (tenant_id, user_name, attributes) values (\(b.id)::uuid, 'sneaky@example.com', '{}')
                """)
        }
        #expect(insert?.sqlState == "42501")
        _ = try? app.executeScript("rollback")
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
