import Logging
import SCIMAdmin
import SCIMCore

/// One transaction of `PostgresStore`, scoped to a tenant by `scope(toTenant:)`: every statement
/// reads the tenant from the transaction-local setting `scim.tenant_id`, which row-level security
/// policies read as well.
final class PostgresTransaction: StoreTransaction {
    let connection: PostgresConnection
    /// The failure the store's retry loop must see: a lost connection or a serialization failure.
    private(set) var databaseError: PostgresError?
    /// The tenant's schemas, set by `scope(toTenant:schemas:)`.
    private(set) var schemas = TenantSchemas.standard
    /// The tenant `scim.tenant_id` is set to in this transaction, if any.
    var scopedTenant: String?

    let logger: Logger
    /// When the request's work must stop (nil for scimctl and background work).
    let deadline: RequestDeadline?
    /// The statement timeout in force in this transaction: the connection's, or less near the deadline.
    private var statementTimeoutMilliseconds: Int?
    /// `begin` (and what goes with it) not sent yet: it travels with the transaction's first
    /// statement, in one round trip (libpq's pipeline mode).
    private var pendingBegin: [String] = []
    /// Statements that need no answer before the commit (the log row), sent with it.
    private var pendingBeforeCommit: [PostgresConnection.PipelineStatement] = []

    /// Where database errors are counted for `/metrics` (the responder's board; nil elsewhere).
    let counters: (any OperationalCounters)?

    init(connection: PostgresConnection, logger: Logger, deadline: RequestDeadline? = nil, counters: (any OperationalCounters)? = nil) {
        self.connection = connection
        self.logger = logger
        self.deadline = deadline
        self.counters = counters
        statementTimeoutMilliseconds = connection.statementTimeoutMilliseconds
    }

    /// Stops at the deadline, and keeps the next statement from running past it: once the
    /// statement timeout in force would let it end more than a second late, the timeout is
    /// lowered to what remains (one extra round trip, at most about once a second).
    private func keepToDeadline() throws(SCIMError) {
        guard let deadline else { return }
        let remaining = deadline.remainingMilliseconds
        if remaining <= 0 { throw deadline.exceeded }
        if let current = statementTimeoutMilliseconds, current <= remaining + 1_000 { return }
        try run("set local statement_timeout = \(remaining)")
        statementTimeoutMilliseconds = remaining
    }

    /// Opens the transaction: sent with the first statement, not on its own.
    func begin() {
        pendingBegin = connection.beginStatements
    }

    /// Runs one statement without binds (a savepoint, a setting).
    func run(_ script: String) throws(SCIMError) {
        try send(.plain(script))
    }

    @discardableResult
    func query(_ sql: SQL, prepared: Bool = true) throws(SCIMError) -> PostgresRows {
        try keepToDeadline()
        return try send(.bound(sql, prepared: prepared))
    }

    /// Commits, with what waited for it; a transaction that ran nothing sends nothing.
    func commit() throws(SCIMError) {
        if !pendingBegin.isEmpty && pendingBeforeCommit.isEmpty {
            pendingBegin = []
            return
        }
        let tail = pendingBeforeCommit
        pendingBeforeCommit = []
        try send(tail + [.plain("commit")])
    }

    @discardableResult
    private func send(_ statements: PostgresConnection.PipelineStatement...) throws(SCIMError) -> PostgresRows {
        try send(statements)
    }

    @discardableResult
    private func send(_ statements: [PostgresConnection.PipelineStatement]) throws(SCIMError) -> PostgresRows {
        let opening = pendingBegin.map { PostgresConnection.PipelineStatement.plain($0) }
        pendingBegin = []
        do {
            return try connection.executePipeline(opening + statements)
        } catch {
            throw record(error)
        }
    }

    /// Keeps what the store's retry loop must see (a lost connection, a serialization failure, an
    /// unexpected failure) and answers with what the client may be told.
    private func record(_ error: PostgresError) -> SCIMError {
        if error.sqlState?.isRefusedValue != true && error.sqlState != .queryCanceled {
            databaseError = error
        }
        DatabaseErrorMapping.log(error, logger)
        if let counters, error.sqlState?.isRefusedValue != true {
            counters.count(error.isConnectionFailure ? .databaseConnectionError
                           : error.sqlState == .queryCanceled ? .databaseTimeout
                           : error.isRetryable ? .databaseConflict : .databaseOtherError)
        }
        if error.sqlState == .queryCanceled, let deadline, deadline.remainingMilliseconds < 100 { return deadline.exceeded }
        return DatabaseErrorMapping.scimError(error, committing: false)
    }

    func withSavepoint<T>(_ body: () throws(SCIMError) -> T) throws(SCIMError) -> T {
        try run("savepoint bulk_operation")
        do {
            let result = try body()
            try run("release savepoint bulk_operation")
            return result
        } catch {
            // A lost connection cannot be rolled back to a savepoint; the whole transaction fails.
            if databaseError?.isConnectionFailure == true { throw error }
            try run("rollback to savepoint bulk_operation")
            try run("release savepoint bulk_operation")
            throw error
        }
    }

    /// The work is done by now, so its log row is written even past the deadline (a Bulk whose
    /// last operations the deadline stopped still commits the first ones), with a second for it.
    func recordSuccess(_ entry: ProvisioningLogEntry) throws(SCIMError) {
        if let current = statementTimeoutMilliseconds, current < 1_000 {
            pendingBeforeCommit.append(.plain("set local statement_timeout = 1000"))
            statementTimeoutMilliseconds = 1_000
        }
        // scim.record_write turns its own failure into a warning, so it needs no answer before the commit.
        sendWithCommit(ProvisioningLogStatement.call("scim.record_write", entry))
    }

    /// A statement whose answer nobody waits for, sent with the commit (the log row, read counts, a
    /// cache to keep up to date); it must not fail (a function that turns its failure into a warning).
    func sendWithCommit(_ sql: SQL) {
        pendingBeforeCommit.append(.bound(sql, prepared: true))
    }

    func ping() throws(SCIMError) {
        try query("select 1", prepared: false)
    }

    /// Sums of successful reads, sent with the commit (one round trip for the whole batch).
    func addReadCounts(_ counts: [ReadTally.Count]) {
        for count in counts {
            sendWithCommit("""
                select scim.add_read_counts(\(count.tenantId)::uuid, to_timestamp(\(count.minute)), \(count.keyPrefix),
                    \(count.endpoint), \(count.requests)::integer, \(String(count.totalMilliseconds))::numeric,
                    \(String(count.maxMilliseconds))::numeric, to_timestamp(\(String(count.lastAt))::double precision))
                """)
        }
    }

    func scope(toTenant tenantId: String, schemas: TenantSchemas) throws(SCIMError) {
        self.schemas = schemas
        guard tenantId != scopedTenant else { return }
        try query("select set_config('scim.tenant_id', \(tenantId), true)")
        scopedTenant = tenantId
    }
}
