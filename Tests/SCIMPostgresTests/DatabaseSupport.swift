import Foundation
import Logging
import Testing
@testable import SCIMAdmin
@testable import SCIMCore
@testable import SCIMPostgres
import SCIMSettings

/// The database the integration tests use: `SCIM_TEST_DATABASE_URL` (set by deploy/test.sh), else
/// `DATABASE_URL`, else the quickstart's local cluster. Under CI=true these tests always run.
enum TestDatabase {
    static let environment = ProcessInfo.processInfo.environment
    static var url: String? {
        if let url = environment["SCIM_TEST_DATABASE_URL"], !url.isEmpty { return url }
        return DatabaseLocation.resolve(environment: environment)
    }
    static var available: Bool { url != nil || environment["CI"] == "true" }

    static func connection() throws -> PostgresConnection {
        let url = try #require(url, "no database: run ./deploy/test.sh")
        let connection = PostgresConnection(conninfo: url)
        try connection.connect()
        return connection
    }

    static let logger = Logger(label: "tests")

    /// A connection as the responder's own role (row-level security applies to it, not to the
    /// owner): required, never replaced by the owner's, whose plans and rights differ.
    static func responderConnection() throws -> PostgresConnection {
        let url = try #require(environment["SCIM_TEST_APP_DATABASE_URL"], "run ./deploy/test.sh (it sets SCIM_TEST_APP_DATABASE_URL)")
        let connection = PostgresConnection(conninfo: url)
        try connection.connect()
        return connection
    }

    /// A fresh tenant with SCIM enabled and a scim key; returns its slug, id and token.
    static func tenant() throws -> (slug: String, id: String, token: String) {
        let admin = TenantAdministration(connection: try connection())
        let slug = "it-" + UUID().uuidString.prefix(13).lowercased()
        let tenant = try admin.createTenant(slug: slug, name: slug, scimEnabled: true)
        let key = try ownerAdminister(slug) { (admin) throws(SCIMError) in
            try admin.createKey(try NewAPIKey(name: "integration", scopes: [.scim], expiresAt: nil))
        }
        return (slug, tenant.id, key["token"]?.stringValue ?? "")
    }

    /// Runs an admin-layer operation on the tenant as the database owner, as scimctl does.
    static func ownerAdminister<T>(_ slug: String, _ body: (any TenantAdministrator) throws(SCIMError) -> T) throws -> T {
        let store = PostgresStore(connection: try connection(), logger: logger)
        return try store.administerChecked(tenantSlug: slug, as: .owner(actor: "tests")) { (admin, _) throws(SCIMError) -> T in
            try body(admin)
        }
    }
}

extension PostgresStore {
    /// Runs `body` scoped to a tenant, as the service does for each request.
    func inTenant<T>(_ tenantId: String, _ body: (any StoreTransaction) throws(SCIMError) -> T) throws(SCIMError) -> T {
        try transaction { (transaction) throws(SCIMError) -> T in
            try transaction.scope(toTenant: tenantId, schemas: .standard)
            return try body(transaction)
        }
    }
}

func user(_ json: String) throws(SCIMError) -> UserWrite {
    guard case .object(let object)? = try? JSONParser.parse(json) else { throw SCIMError.internalError("not a JSON object: \(json)") }
    return try UserWrite(attributes: ResourceNormalizer(CoreSchemas.userResourceType).normalize(object))
}

/// Work run on a thread of its own, so the test can hold a lock in its own session and watch the
/// work wait for it. `work` uses a connection of its own; only that thread touches it.
final class WorkAside: @unchecked Sendable {
    private let done = DispatchSemaphore(value: 0)
    private(set) var failure: (any Error)?

    init(_ work: @escaping () throws -> Void) {
        nonisolated(unsafe) let work = work
        Thread.detachNewThread {
            do { try work() } catch { self.failure = error }
            self.done.signal()
        }
    }

    func finished(within seconds: Double) -> Bool {
        done.wait(timeout: .now() + seconds) == .success
    }
}
