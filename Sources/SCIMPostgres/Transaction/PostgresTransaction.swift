import Logging
import SCIMAdmin
import SCIMCore

/// One transaction of `PostgresStore`, scoped to a tenant by `scope(toTenant:)`: every statement
/// reads the tenant from the transaction-local setting `scim.tenant_id`, which row-level security
/// policies read as well.
final class PostgresTransaction: StoreTransaction {
    /// Where the transaction begins and ends.
    enum Extent {
        /// Between `begin` and `commit`: writes, and what must see one snapshot.
        case wholeRequest
        /// Each round trip is a transaction of its own, ended by the pipeline's sync (PostgreSQL's
        /// implicit transaction): a read sends no `begin` and waits for no `commit`. Each round trip
        /// after the first scopes itself to the tenant again.
        case eachRoundTrip
    }

    let connection: PostgresConnection
    let extent: Extent
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
    /// What goes in front of the next round trip's own statements (`begin`, settings): nothing is
    /// sent alone that can travel with a statement (libpq's pipeline mode).
    private var prelude: [PostgresConnection.PipelineStatement] = []
    /// Statements that need no answer before the commit (the log row), sent with it.
    private var pendingBeforeCommit: [PostgresConnection.PipelineStatement] = []
    /// Statements of the transaction's own work in `prelude`, waiting for the next round trip.
    private var deferredStatements = 0
    private var roundTrips = 0

    /// Keys verified lately (nil: none are remembered).
    let verifiedKeys: VerifiedKeys?
    /// Whether a remembered key may go on before its check answers (not when the request runs
    /// again because such a check disagreed).
    let goesOnWithRememberedKeys: Bool
    /// A remembered key this transaction goes on with before its check has answered: the check
    /// travels with the next round trip, whose answers count only if it agrees.
    var pendingKeyCheck: PendingKeyCheck?
    /// The check of a remembered key that did not agree: the store runs the request again without it.
    private(set) var disagreedKeyCheck: PendingKeyCheck?

    /// Where database errors are counted for `/metrics` (the responder's board; nil elsewhere).
    let counters: (any OperationalCounters)?

    init(connection: PostgresConnection, logger: Logger, extent: Extent = .wholeRequest, deadline: RequestDeadline? = nil,
         verifiedKeys: VerifiedKeys? = nil, goesOnWithRememberedKeys: Bool = true, counters: (any OperationalCounters)? = nil) {
        self.connection = connection
        self.logger = logger
        self.extent = extent
        self.deadline = deadline
        self.verifiedKeys = verifiedKeys
        self.goesOnWithRememberedKeys = goesOnWithRememberedKeys
        self.counters = counters
        statementTimeoutMilliseconds = connection.statementTimeoutMilliseconds
    }

    /// Stops at the deadline, and keeps the next statement from running past it: once the
    /// statement timeout in force would let it end more than a second late, the timeout is
    /// lowered to what remains (at most about once a second).
    private func keepToDeadline() throws(SCIMError) {
        guard let deadline else { return }
        let remaining = deadline.remainingMilliseconds
        if remaining <= 0 { throw deadline.exceeded }
        if let current = statementTimeoutMilliseconds, current <= remaining + 1_000 { return }
        prelude.append(.plain(PostgresConnection.localStatementTimeout(remaining)))
        statementTimeoutMilliseconds = remaining
    }

    /// Opens the transaction: sent with the first statement, not on its own.
    func begin() {
        if extent == .wholeRequest { prelude = connection.beginStatements.map { .plain($0) } }
    }

    /// What opens each round trip of a read, a transaction of its own: the settings `begin` goes
    /// with, and, after the first, the tenant's scope again.
    private var roundTripOpening: [PostgresConnection.PipelineStatement] {
        var opening = connection.beginStatements.dropFirst().map { PostgresConnection.PipelineStatement.plain($0) }
        if roundTrips > 0, let scopedTenant {
            opening.append(.bound("select set_config('scim.tenant_id', \(scopedTenant), true)", prepared: true))
        }
        return opening
    }

    /// Runs one statement without binds (a savepoint, a setting).
    func run(_ script: String) throws(SCIMError) {
        try send([.plain(script)])
    }

    @discardableResult
    func query(_ sql: SQL, prepared: Bool = true) throws(SCIMError) -> PostgresRows {
        try keepToDeadline()
        return try send([.bound(sql, prepared: prepared)])
    }

    /// Commits, with what waited for it; a transaction that ran nothing sends nothing. A key check
    /// still waiting is sent first: no answer leaves the transaction before its key agreed.
    func commit() throws(SCIMError) {
        // Nothing commits with a key check that might not agree, or after one that did not.
        if pendingKeyCheck != nil || disagreedKeyCheck != nil { try send([]) }
        let tail = pendingBeforeCommit
        pendingBeforeCommit = []
        switch extent {
        case .wholeRequest:
            if roundTrips == 0 && tail.isEmpty && deferredStatements == 0 {
                prelude = []
                return
            }
            try send(tail + [.plain("commit")])
        case .eachRoundTrip:
            if !tail.isEmpty || deferredStatements > 0 { try send(tail) }
        }
    }

    /// Sends a key check still waiting, when the request ended before sending anything (refused
    /// by what the remembered key said of its scopes or switch): that answer stands only if the
    /// check agrees. A failure to send is kept as the transaction's `databaseError`.
    func settleKeyCheck() {
        guard pendingKeyCheck != nil else { return }
        _ = try? send([])
    }

    static let keyRefused = SCIMError.unauthorized("The bearer token is not valid for this endpoint.")

    @discardableResult
    private func send(_ statements: [PostgresConnection.PipelineStatement]) throws(SCIMError) -> PostgresRows {
        // Once a key check disagreed, nothing more is sent, whatever caught the error (a Bulk
        // operation's savepoint does): the store starts the request again.
        if disagreedKeyCheck != nil { throw Self.keyRefused }
        var pipeline = extent == .eachRoundTrip ? roundTripOpening + prelude : prelude
        prelude = []
        deferredStatements = 0
        let keyCheck = pendingKeyCheck
        pendingKeyCheck = nil
        if let keyCheck { pipeline.append(.bound(keyCheck.statement, prepared: true)) }
        let checkIndex = pipeline.count - 1
        pipeline += statements
        roundTrips += 1
        // A read's settings end with its round trip.
        if extent == .eachRoundTrip { statementTimeoutMilliseconds = connection.statementTimeoutMilliseconds }
        let outcomes: [PostgresConnection.PipelineOutcome]
        do {
            outcomes = try connection.runPipeline(pipeline)
        } catch {
            throw record(error)
        }
        if let keyCheck, !keyCheck.agrees(with: outcomes[checkIndex].rows) {
            // Nothing the pipeline answered is used: without the key, the tenant was never in scope.
            disagreedKeyCheck = keyCheck
            throw Self.keyRefused
        }
        do {
            return try PostgresConnection.PipelineOutcome.lastRows(outcomes)
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
            pendingBeforeCommit.append(.plain(PostgresConnection.localStatementTimeout(1_000)))
            statementTimeoutMilliseconds = 1_000
        }
        // scim.record_write turns its own failure into a warning, so it needs no answer before the commit.
        sendWithCommit(ProvisioningLogStatement.call("scim.record_write", entry))
    }

    /// A statement of the work whose answer nothing waits for (a lock, a version bump): it goes in
    /// front of the next round trip's own statements, the commit's at the latest, and fails that
    /// round trip when it fails. One round trip fewer for each.
    func sendWithNextRoundTrip(_ sql: SQL) throws(SCIMError) {
        try keepToDeadline()
        prelude.append(.bound(sql, prepared: true))
        deferredStatements += 1
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
