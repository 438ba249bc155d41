import Foundation
import Testing
@testable import SCIMAdmin
@testable import SCIMCore
@testable import SCIMPostgres

@Suite("PostgreSQL store, migrations and keys", .enabled(if: TestDatabase.available))
struct PostgresStoreTests {
    @Test("migrations are recorded, and running them again applies nothing")
    func migrationsIdempotent() throws {
        let connection = try TestDatabase.connection()
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../deploy/sql").standardized
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".sql") }.sorted()
        let migrations = try names.map { name in
            try #require(Migrator.Migration(fileName: name, sql: try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)))
        }
        #expect(migrations.count >= 5)
        let applied = try Migrator(connection: connection, logger: TestDatabase.logger).migrate(migrations)
        #expect(applied.isEmpty)
        let recorded = try connection.execute("select count(*) as n from scim.schema_migrations")
        #expect(Int(recorded[0, "n"] ?? "") ?? 0 >= migrations.count)
        // Each file is idempotent on its own too, as a DBA may run it by hand.
        for migration in migrations { try connection.executeScript("set client_min_messages = warning; " + migration.sql) }
        // Append-only: a file changed after it was applied is refused, not run past.
        let first = try #require(migrations.first)
        let edited = try #require(Migrator.Migration(fileName: first.name + ".sql", sql: first.sql + "\n-- an edit\n"))
        let error = #expect(throws: Migrator.ChangedMigration.self) {
            try Migrator(connection: connection, logger: TestDatabase.logger).migrate([edited])
        }
        #expect(error?.description.contains(edited.name) == true)
    }

    @Test("every key of a tenant's table leads with tenant_id, and no table draws ids from a sequence (deploy/citus.md)")
    func keysLeadWithTheTenant() throws {
        let connection = try TestDatabase.connection()
        // Deployment-wide tables (not tenants'): the tenants themselves, the migration record, the retention setting.
        let constraints = try connection.execute("""
            select c.conrelid::regclass::text || ' ' || c.conname as name
            from pg_constraint c join pg_class r on r.oid = c.conrelid
            where r.relnamespace in ('scim'::regnamespace, 'app'::regnamespace) and c.contype in ('p', 'u', 'f')
              and c.conrelid not in ('scim.tenants'::regclass, 'scim.schema_migrations'::regclass, 'scim.log_retention'::regclass)
              and (select attname from pg_attribute where attrelid = c.conrelid and attnum = c.conkey[1]) <> 'tenant_id'
            """)
        #expect(constraints.rows.isEmpty, "keys not led by tenant_id: \((0..<constraints.rows.count).compactMap { constraints[$0, "name"] })")
        let uniqueIndexes = try connection.execute("""
            select i.indexrelid::regclass::text as name
            from pg_index i join pg_class r on r.oid = i.indrelid
            where r.relnamespace in ('scim'::regnamespace, 'app'::regnamespace) and i.indisunique
              and i.indrelid not in ('scim.tenants'::regclass, 'scim.schema_migrations'::regclass, 'scim.log_retention'::regclass)
              and (i.indkey[0] = 0 or (select attname from pg_attribute where attrelid = i.indrelid and attnum = i.indkey[0]) <> 'tenant_id')
            """)
        #expect(uniqueIndexes.rows.isEmpty, "unique indexes not led by tenant_id: \((0..<uniqueIndexes.rows.count).compactMap { uniqueIndexes[$0, "name"] })")
        let sequences = try connection.execute("""
            select c.relname from pg_class c
            where c.relkind = 'S' and c.relnamespace in ('scim'::regnamespace, 'app'::regnamespace)
            """)
        #expect(sequences.rows.isEmpty, "sequences shared by every tenant: \((0..<sequences.rows.count).compactMap { sequences[$0, "relname"] })")
    }

    @Test("keys: the right token authenticates; a wrong secret, another tenant and a revoked key do not")
    func keys() throws {
        let a = try TestDatabase.tenant()
        let b = try TestDatabase.tenant()
        let store = PostgresStore(connection: try TestDatabase.connection(), logger: TestDatabase.logger)
        let key = try store.transaction { (t) throws(SCIMError) in try t.authenticate(tenantSlug: a.slug, bearerToken: a.token) }
        #expect(key?.tenantId == a.id)
        #expect(key?.scopes == ["scim"])
        let wrong = String(a.token.dropLast()) + (a.token.hasSuffix("A") ? "B" : "A")
        #expect(try store.transaction { (t) throws(SCIMError) in try t.authenticate(tenantSlug: a.slug, bearerToken: wrong) } == nil)
        #expect(try store.transaction { (t) throws(SCIMError) in try t.authenticate(tenantSlug: b.slug, bearerToken: a.token) } == nil)
        // A whole token does not name a key (it would put the secret in URLs and logs); its prefix does.
        #expect(throws: SCIMError.self) { try TestDatabase.ownerAdminister(a.slug) { (admin) throws(SCIMError) in try admin.revokeKey(a.token) } }
        #expect(try store.transaction { (t) throws(SCIMError) in try t.authenticate(tenantSlug: a.slug, bearerToken: a.token) } != nil)
        let prefix = try #require(APIKeyToken.prefix(of: a.token))
        _ = try TestDatabase.ownerAdminister(a.slug) { (admin) throws(SCIMError) in try admin.revokeKey("sk_" + prefix) }
        #expect(try store.transaction { (t) throws(SCIMError) in try t.authenticate(tenantSlug: a.slug, bearerToken: a.token) } == nil)
        // Only the hash is stored: the row holds SHA-256 of the token, and the secret nowhere.
        let stored = try TestDatabase.connection().execute("""
            select encode(secret_hash, 'hex') as hash, row_to_json(k)::text as row from scim.api_keys k where prefix = \(prefix)
            """)
        let expected = String(APIKeyToken.byteaHex(SecretToken.hash(a.token)).dropFirst(2))
        #expect(stored[0, "hash"] == expected)
        #expect(stored[0, "row"]?.contains(String(a.token.suffix(40))) == false)
    }

    @Test("recording a key's use never waits: not inside the request's transaction, and skipped while another holds the key's row")
    func keyUseNeverBlocks() throws {
        let tenant = try TestDatabase.tenant()
        let prefix = try #require(APIKeyToken.prefix(of: tenant.token))
        let holder = try TestDatabase.connection()
        try holder.execute("update scim.api_keys set last_used_at = null where prefix = \(prefix)")
        try holder.executeScript("begin")
        defer { _ = try? holder.executeScript("rollback") }
        try holder.execute("select id from scim.api_keys where prefix = \(prefix) for update")
        // A request with that key, while the row is held: a statement that waited would hit the timeout.
        let store = PostgresStore(connection: PostgresConnection(conninfo: try #require(TestDatabase.url), statementTimeoutMilliseconds: 2_000),
                                  logger: TestDatabase.logger)
        let key = try #require(try store.transaction { (t) throws(SCIMError) in try t.authenticate(tenantSlug: tenant.slug, bearerToken: tenant.token) })
        #expect(key.lastUseIsStale)
        store.recordKeyUse(keyId: key.keyId)
        try holder.executeScript("rollback")
        #expect(try TestDatabase.connection().execute("select last_used_at from scim.api_keys where prefix = \(prefix)")[0, "last_used_at"] == nil,
                "skipped while held")
        store.recordKeyUse(keyId: key.keyId)
        #expect(try TestDatabase.connection().execute("select last_used_at from scim.api_keys where prefix = \(prefix)")[0, "last_used_at"] != nil,
                "recorded once the row is free")
    }

    @Test("a tenant's transaction sees only its own users")
    func tenantIsolation() throws {
        let a = try TestDatabase.tenant()
        let b = try TestDatabase.tenant()
        let store = PostgresStore(connection: try TestDatabase.connection(), logger: TestDatabase.logger)
        let created = try store.inTenant(a.id) { (t) throws(SCIMError) in try t.insertUser(try user(#"{"userName":"shared@example.com"}"#)) }
        // The same userName in another tenant is fine.
        _ = try store.inTenant(b.id) { (t) throws(SCIMError) in try t.insertUser(try user(#"{"userName":"shared@example.com"}"#)) }
        #expect(try store.inTenant(b.id) { (t) throws(SCIMError) in try t.fetchUser(id: created.id, forUpdate: false) } == nil)
        #expect(try store.inTenant(b.id) { (t) throws(SCIMError) in try t.deleteUser(id: created.id) } == false)
        #expect(try store.inTenant(a.id) { (t) throws(SCIMError) in try t.fetchUser(id: created.id, forUpdate: false) }?.id == created.id)
    }

    @Test("a case-variant userName violates the unique index: 409 uniqueness, and the transaction leaves nothing")
    func uniqueness() throws {
        let tenant = try TestDatabase.tenant()
        let store = PostgresStore(connection: try TestDatabase.connection(), logger: TestDatabase.logger)
        _ = try store.inTenant(tenant.id) { (t) throws(SCIMError) in try t.insertUser(try user(#"{"userName":"Dup@Example.com"}"#)) }
        let error = #expect(throws: SCIMError.self) {
            try store.inTenant(tenant.id) { (t) throws(SCIMError) in
                _ = try t.insertUser(try user(#"{"userName":"other@example.com"}"#))
                _ = try t.insertUser(try user(#"{"userName":"dup@example.COM"}"#))
            }
        }
        #expect(error?.status == 409)
        #expect(error?.scimType == .uniqueness)
        let page = try store.inTenant(tenant.id) { (t) throws(SCIMError) in try t.listUsers(filter: nil, window: .index(1, 10), sort: nil) }
        #expect(page.totalResults == 1, "the first insert of the failed transaction was rolled back")
    }

    @Test("update bumps the version and lastModified; delete removes")
    func updateAndDelete() throws {
        let tenant = try TestDatabase.tenant()
        let store = PostgresStore(connection: try TestDatabase.connection(), logger: TestDatabase.logger)
        let created = try store.inTenant(tenant.id) { (t) throws(SCIMError) in try t.insertUser(try user(#"{"userName":"v@example.com"}"#)) }
        #expect(created.version == 1)
        let updated = try store.inTenant(tenant.id) { (t) throws(SCIMError) in
            try t.updateUser(id: created.id, try user(#"{"userName":"v@example.com","title":"T"}"#))
        }
        #expect(updated?.version == 2)
        #expect(updated?.attributes["title"] == .string("T"))
        #expect((updated?.lastModified ?? "") > created.lastModified)
        #expect(try store.inTenant(tenant.id) { (t) throws(SCIMError) in try t.deleteUser(id: created.id) })
        #expect(try store.inTenant(tenant.id) { (t) throws(SCIMError) in try t.fetchUser(id: created.id, forUpdate: false) } == nil)
    }

    @Test("a connection killed by the server (pg_terminate_backend) is replaced on the next transaction")
    func terminatedBackend() throws {
        let tenant = try TestDatabase.tenant()
        let connection = try TestDatabase.connection()
        let store = PostgresStore(connection: connection, logger: TestDatabase.logger)
        let pid = try connection.execute("select pg_backend_pid() as pid")[0, "pid"]
        _ = try TestDatabase.connection().execute("select pg_terminate_backend(\(pid)::int)")
        let page = try store.inTenant(tenant.id) { (t) throws(SCIMError) in try t.listUsers(filter: nil, window: .index(1, 1), sort: nil) }
        #expect(page.totalResults == 0)
        let newPid = try connection.execute("select pg_backend_pid() as pid")[0, "pid"]
        #expect(newPid != pid)
    }

    @Test("a projected listing reads only the keys it needs, and no groups when they are not returned")
    func projectedListing() throws {
        let tenant = try TestDatabase.tenant()
        let store = PostgresStore(connection: try TestDatabase.connection(), logger: TestDatabase.logger)
        _ = try store.inTenant(tenant.id) { (t) throws(SCIMError) in
            try t.insertUser(try user(#"{"userName":"p@example.com","title":"T","name":{"givenName":"G"}}"#))
        }
        let projection = try Projection(attributes: "name.givenName", excludedAttributes: nil)
        let fields = FieldSelection(projection, CoreSchemas.userResourceType, membershipAttribute: "groups")
        #expect(fields.keys == ["name"])
        let page = try store.inTenant(tenant.id) { (t) throws(SCIMError) in
            try t.listUsers(filter: nil, window: .index(1, 10), sort: nil, fields: fields)
        }
        #expect(page.resources.first?.attributes.keys == ["name"])
        let idsOnly = FieldSelection(try Projection(attributes: "id", excludedAttributes: nil), CoreSchemas.userResourceType,
                                     membershipAttribute: "groups")
        #expect(idsOnly.keys == [] && idsOnly.memberships == false)
        let bare = try store.inTenant(tenant.id) { (t) throws(SCIMError) in
            try t.listUsers(filter: nil, window: .index(1, 10), sort: nil, fields: idsOnly)
        }
        #expect(bare.resources.first?.attributes.isEmpty == true)
    }

    @Test("a statement over the timeout is cancelled and answered 503, and the connection stays usable")
    func statementTimeout() throws {
        let url = try #require(TestDatabase.url)
        let connection = PostgresConnection(conninfo: url, statementTimeoutMilliseconds: 100)
        let store = PostgresStore(connection: connection, logger: TestDatabase.logger)
        let error = #expect(throws: SCIMError.self) {
            try store.transaction { (t) throws(SCIMError) in
                _ = try (t as! PostgresTransaction).query("select pg_sleep(1)")
            }
        }
        #expect(error?.status == 503)
        #expect(try connection.execute("select 1 as one")[0, "one"] == "1")
    }
}

/// The store's retry of a transaction PostgreSQL aborted for a conflict: provoked for real, with
/// a second session, never simulated in Swift.
@Suite("Retries of transactions a conflict aborted", .serialized, .enabled(if: TestDatabase.available))
struct TransactionRetryTests {
    final class Attempts: @unchecked Sendable {
        var count = 0
    }

    /// The second session, handed to the thread that drives it (used by that thread only).
    final class Session: @unchecked Sendable {
        let connection: PostgresConnection
        init(_ connection: PostgresConnection) { self.connection = connection }
    }

    @Test("a deadlock (40P01) with another session: the store's transaction is retried and succeeds")
    func deadlockRetried() throws {
        let tenant = try TestDatabase.tenant()
        let setup = try TestDatabase.connection()
        let rows = try setup.execute("""
            insert into app.departments (tenant_id, name) values (\(tenant.id)::uuid, 'first'), (\(tenant.id)::uuid, 'second') returning id
            """)
        let (first, second) = (try #require(rows.rows[0][0]), try #require(rows.rows[1][0]))
        let store = PostgresStore(connection: try TestDatabase.connection(), logger: TestDatabase.logger)
        let other = Session(try TestDatabase.connection())
        let attempts = Attempts()
        let otherHolds = DispatchSemaphore(value: 0)
        let otherDone = DispatchSemaphore(value: 0)
        try store.transaction { (transaction) throws(SCIMError) in
            guard let transaction = transaction as? PostgresTransaction else { return }
            attempts.count += 1
            try transaction.query("update app.departments set name = name || '.' where id = \(first)::uuid")
            if attempts.count == 1 {
                // The other session takes the second row, and a moment after this one starts waiting
                // for it, wants the first: each waits for the other. This one waited first, so its
                // deadlock check fires first and it is the victim (PostgreSQL manual, 13.3.4).
                DispatchQueue.global().async {
                    _ = try? other.connection.executeScript("begin")
                    _ = try? other.connection.execute("update app.departments set name = name || '!' where id = \(second)::uuid")
                    otherHolds.signal()
                    Thread.sleep(forTimeInterval: 0.3)
                    _ = try? other.connection.execute("update app.departments set name = name || '!' where id = \(first)::uuid")
                    _ = try? other.connection.executeScript("commit")
                    otherDone.signal()
                }
                otherHolds.wait()
            }
            try transaction.query("update app.departments set name = name || '.' where id = \(second)::uuid")
        }
        otherDone.wait()
        // Usually two attempts. When the retry takes the first row again before the other session,
        // woken by the victim's abort, gets to it, the two deadlock once more and it runs a third time.
        #expect(attempts.count >= 2, "the first attempt was the deadlock's victim and ran again")
        let names = try setup.execute("select name from app.departments where id in (\(first)::uuid, \(second)::uuid) order by name")
        // Both transactions' changes stand, each exactly once.
        #expect(names.rows.compactMap { $0.first ?? nil } == ["first!.", "second!."])
    }

    @Test("a serialization failure (40001) raised by the server: retried; a third in a row is a clean 503")
    func serializationFailureRetried() throws {
        let store = PostgresStore(connection: try TestDatabase.connection(), logger: TestDatabase.logger)
        let attempts = Attempts()
        try store.transaction { (transaction) throws(SCIMError) in
            guard let transaction = transaction as? PostgresTransaction else { return }
            attempts.count += 1
            if attempts.count == 1 {
                try transaction.query("do $$ begin raise exception 'conflict' using errcode = '40001'; end $$")
            }
        }
        #expect(attempts.count == 2)
        let always = Attempts()
        let error = #expect(throws: SCIMError.self) {
            try store.transaction { (transaction) throws(SCIMError) in
                guard let transaction = transaction as? PostgresTransaction else { return }
                always.count += 1
                try transaction.query("do $$ begin raise exception 'conflict' using errcode = '40001'; end $$")
            }
        }
        #expect(always.count == PostgresStore.maxAttempts)
        #expect(error?.status == 503 && error?.headers.contains { $0.0 == "Retry-After" } == true)
    }
}

/// Counts what the store reports (`GET /metrics` does the same).
final class CountedEvents: OperationalCounters, @unchecked Sendable {
    private(set) var events: [OperationalEvent] = []
    func count(_ event: OperationalEvent) { events.append(event) }
}

@Suite("Waiting for a lost database")
struct ReconnectWaitTests {
    /// A database that never answers (no server on that socket): how many fresh connections a
    /// transaction tries before its 503, for a given SCIM_DB_RECONNECT_MS.
    func reconnects(waitMilliseconds: Int) -> (reconnects: Int, status: Int?) {
        let store = PostgresStore(connection: PostgresConnection(conninfo: "postgresql:///scim?host=/nonexistent&port=1"),
                                  logger: TestDatabase.logger)
        store.reconnectWaitMilliseconds = waitMilliseconds
        let events = CountedEvents()
        store.counters = events
        let error = #expect(throws: SCIMError.self) {
            try store.transaction { (transaction) throws(SCIMError) in
                _ = try (transaction as? PostgresTransaction)?.query("select 1")
            }
        }
        return (events.events.filter { $0 == .reconnect }.count, error?.status)
    }

    @Test("the pauses (0.2, 0.5, 1, 1.5 s, then 2 s) stop where SCIM_DB_RECONNECT_MS would be passed; then 503")
    func waitIsBounded() {
        #expect(reconnects(waitMilliseconds: 0) == (0, 503))
        #expect(reconnects(waitMilliseconds: 700) == (2, 503))
        // 0.2 + 0.5 + 1 + 1.5 = 3.2 s; the next pause (2 s) would pass 4 s.
        #expect(reconnects(waitMilliseconds: 4_000) == (4, 503))
        #expect(PostgresStore.reconnectPause(attempt: 7) == 2_000)
    }
}

@Suite("The provisioning log of writes", .enabled(if: TestDatabase.available))
struct WriteLogTests {
    @Test("a write's log row commits with the write, and a row that cannot be written leaves the write standing")
    func logRowOfAWrite() throws {
        let tenant = try TestDatabase.tenant()
        let app = try TestDatabase.responderConnection()
        func entry(status: Int, requestId: String) -> ProvisioningLogEntry {
            ProvisioningLogEntry(tenantSlug: tenant.slug, requestId: requestId, keyPrefix: nil, method: "POST", path: "/Users",
                                 resourceType: "User", resourceId: nil, subject: "w@example.com", status: status, scimType: nil,
                                 detail: nil, durationMilliseconds: 1, requestBody: nil)
        }
        try app.executeScript("begin")
        try app.execute("select set_config('scim.tenant_id', \(tenant.id), true)")
        try app.execute("insert into scim.users (tenant_id, user_name, attributes) values (\(tenant.id)::uuid, 'w@example.com', '{}')")
        try app.execute(ProvisioningLogStatement.call("scim.record_write", entry(status: 201, requestId: "with-the-write")))
        // A log row the table refuses (no status): a warning only, and the write stands.
        try app.execute(SQL(unsafeRaw: "select scim.record_write(\(["'" + tenant.slug + "'", "'broken'"].joined(separator: ", ")), null, 'POST', '/Users', null, null, null, null, null, null, 1, null, null, null, false)"))
        try app.executeScript("commit")
        let owner = try TestDatabase.connection()
        let users = try owner.execute("select count(*) as n from scim.users where tenant_id = \(tenant.id)::uuid and user_name = 'w@example.com'")
        let rows = try owner.execute("select request_id from scim.provisioning_log where tenant_id = \(tenant.id)::uuid order by request_id")
        #expect(users[0, "n"] == "1", "the write committed although one log row could not be written")
        #expect(rows.rows.compactMap { $0.first ?? nil } == ["with-the-write"])
    }
}
