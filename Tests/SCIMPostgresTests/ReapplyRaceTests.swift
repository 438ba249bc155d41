import Foundation
import Testing
@testable import SCIMCore
@testable import SCIMPostgres

/// A mapping re-apply batch reads users and writes their application users. A user written
/// meanwhile (a deactivation, say) must not get its application user back from the batch's older
/// read: the batch share-locks what it reads.
@Suite("Re-applying mappings never writes an application user older than its SCIM user", .enabled(if: TestDatabase.available), .serialized)
struct ReapplyRaceTests {
    @Test("a batch meeting a deactivation in flight waits for it, then keeps the user inactive")
    func batchWaitsForAWriteInFlight() throws {
        let tenant = try TestDatabase.tenant()
        let owner = try TestDatabase.connection()
        let user = try #require(try owner.execute(SQL(unsafeRaw: """
            with u as (insert into scim.users (tenant_id, user_name, attributes)
                       values ('\(tenant.id)', 'racing@example.com', '{"userName":"racing@example.com","active":true}') returning id),
                 a as (insert into app.users (tenant_id, scim_user_id, username, active) select '\(tenant.id)', u.id, 'racing@example.com', true from u)
            select id from u
            """))[0, "id"])
        // The deactivation, as a PATCH writes it: the SCIM user and its application user, not yet committed.
        try owner.executeScript("""
            begin;
            update scim.users set attributes = '{"userName":"racing@example.com","active":false}' where id = '\(user)';
            update app.users set active = false, deprovisioned_at = now() where scim_user_id = '\(user)';
            """)
        let store = PostgresStore(connection: try TestDatabase.responderConnection(), logger: TestDatabase.logger)
        let tenantId = tenant.id
        let batch = WorkAside {
            _ = try store.inTenant(tenantId) { (transaction) throws(SCIMError) in
                guard let transaction = transaction as? PostgresTransaction else { return }
                _ = try DirectoryAdministration(transaction: transaction, tenantId: tenantId, actor: "tests").reapplyBatch(after: nil, limit: 200)
            }
        }
        #expect(!batch.finished(within: 0.5), "the batch did not wait for the write in flight")
        try owner.executeScript("commit")
        #expect(batch.finished(within: 10))
        #expect(batch.failure == nil)
        let active = try owner.execute(SQL(unsafeRaw: "select active from app.users where scim_user_id = '\(user)'"))[0, "active"]
        #expect(active == "f", "the batch wrote the SCIM user as it was before the deactivation")
    }
}
