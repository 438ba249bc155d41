#if canImport(Glibc)
import Glibc
#endif
import Logging
import SCIMCore

/// The PostgreSQL implementation of `ResourceStore`, over one connection owned by this worker.
public final class PostgresStore: ResourceStore {
    public static let maxAttempts = 3
    /// A connection that failed is tried again after these pauses, then every 2 s, for as long as
    /// `reconnectWaitMilliseconds` and the request's deadline allow: a database that restarts,
    /// PgBouncer refusing logins for up to two seconds after it did (`server_login_retry = 1` on
    /// its one-second timer), or a standby being promoted, is then a slow request rather than a 503.
    static let reconnectPausesMilliseconds = [200, 500, 1_000, 1_500]
    static let laterReconnectPauseMilliseconds = 2_000
    /// How long, in all, one transaction may pause waiting for the database (`SCIM_DB_RECONNECT_MS`):
    /// 3.2 s by default; a deployment with automatic failover sets it past its failover time.
    public var reconnectWaitMilliseconds = 3_200

    let connection: PostgresConnection
    let logger: Logger
    /// Keys verified lately, so a request's first statement can travel with its key check.
    let verifiedKeys: VerifiedKeys? = VerifiedKeys()
    /// The responder's store serves only through a role that row-level security confines
    /// (`RowLevelSecurityCheck`); scimctl and the tests work as the owner.
    let requiresConfinedRole: Bool
    /// When the current request's work must stop; set by the worker around each request.
    public var deadline: RequestDeadline?
    /// Claims this worker for a tenant once an administrator's key or session is checked (the
    /// SCIM service claims it for provisioning requests); nil outside the responder.
    public var admission: (any WorkerAdmission)?
    /// Where database errors, retries and reconnects are counted (`GET /metrics`); nil outside the responder.
    public var counters: (any OperationalCounters)?
    /// The outcome of that check for the current connection: nil until checked, "" when fine.
    private var confinementProblem: String?
    private var checkedGeneration = -1

    public init(connection: PostgresConnection, logger: Logger, requiresConfinedRole: Bool = false) {
        self.connection = connection
        self.logger = logger
        self.requiresConfinedRole = requiresConfinedRole
    }

    /// Checked once per connection (a reconnect may land on another server or role): a role that
    /// would see every tenant's rows gets no request served, only a 503 that says why. Returns the
    /// database failure met on the way (to retry like any other), nil when the connection may serve.
    private func confinementFailure() throws(SCIMError) -> PostgresError? {
        guard requiresConfinedRole else { return nil }
        if let problem = confinementProblem, connection.isConnected, connection.generation == checkedGeneration {
            if !problem.isEmpty { throw .unavailable("The service is misconfigured: \(problem).", retryAfterSeconds: 60) }
            return nil
        }
        let problem: String
        do {
            if !connection.isConnected { try connection.connect() }
            problem = try RowLevelSecurityCheck.problem(connection) ?? ""
        } catch {
            if error.isConnectionFailure { counters?.count(.databaseConnectionError) }
            return error
        }
        confinementProblem = problem
        checkedGeneration = connection.generation
        if !problem.isEmpty {
            logger.critical("refusing to serve", metadata: ["reason": "\(problem)"])
            throw .unavailable("The service is misconfigured: \(problem).", retryAfterSeconds: 60)
        }
        return nil
    }

    /// Runs `body` between BEGIN and COMMIT. A serialization failure or deadlock runs it again at
    /// once; a connection that cannot be made, or is found dead before COMMIT was sent (the server
    /// rolled the transaction back), runs it again on a fresh connection after a pause
    /// (`reconnectPausesMilliseconds`). A connection lost during COMMIT leaves the outcome unknown,
    /// so that is answered 503 rather than retried.
    public func transaction<T>(readOnly: Bool, _ body: (any StoreTransaction) throws(SCIMError) -> T) throws(SCIMError) -> T {
        var attempt = 0
        var goesOnWithRememberedKeys = true
        while true {
            attempt += 1
            if let deadline, deadline.hasPassed { throw deadline.exceeded }
            if let failure = try confinementFailure() {
                if failure.isConnectionFailure, pausedBeforeReconnecting(attempt: attempt, cause: failure) { continue }
                throw translate(failure, committing: false)
            }
            let transaction = PostgresTransaction(connection: connection, logger: logger, extent: readOnly ? .eachRoundTrip : .wholeRequest,
                                                  deadline: deadline, verifiedKeys: verifiedKeys,
                                                  goesOnWithRememberedKeys: goesOnWithRememberedKeys, counters: counters)
            var committing = false
            do {
                transaction.begin()
                let result = try body(transaction)
                committing = true
                try transaction.commit()
                return result
            } catch {
                transaction.settleKeyCheck()
                if let check = transaction.disagreedKeyCheck {
                    // The key changed since this worker verified it (revoked, rescoped, its tenant's
                    // schemas or mappings changed): start again, checking it first.
                    verifiedKeys?.forget(check.name)
                    goesOnWithRememberedKeys = false
                    attempt -= 1
                    rollBack(readOnly)
                    continue
                }
                if let cause = transaction.databaseError {
                    if cause.isConnectionFailure {
                        if !committing, pausedBeforeReconnecting(attempt: attempt, cause: cause) { continue }
                        throw translate(cause, committing: committing)
                    }
                    rollBack(readOnly)
                    if attempt < Self.maxAttempts {
                        logger.notice("retrying transaction", metadata: ["attempt": "\(attempt)", "cause": "\(cause)"])
                        counters?.count(.transactionRetry)
                        continue
                    }
                    throw translate(cause, committing: committing)
                }
                rollBack(readOnly)
                throw error
            }
        }
    }

    /// Ends a failed transaction; a read's round trips ended theirs themselves.
    private func rollBack(_ readOnly: Bool) {
        if !readOnly, connection.isConnected { _ = try? connection.executeScript("rollback") }
    }

    static func reconnectPause(attempt: Int) -> Int {
        attempt <= reconnectPausesMilliseconds.count ? reconnectPausesMilliseconds[attempt - 1] : laterReconnectPauseMilliseconds
    }

    /// Waits before the next attempt on a fresh connection, when the wait allowed for the database
    /// and the deadline allow the pause.
    private func pausedBeforeReconnecting(attempt: Int, cause: PostgresError) -> Bool {
        let pause = Self.reconnectPause(attempt: attempt)
        let pausedSoFar = (1..<attempt).reduce(0) { $0 + Self.reconnectPause(attempt: $1) }
        guard pausedSoFar + pause <= reconnectWaitMilliseconds else { return false }
        if let deadline, deadline.remainingMilliseconds <= pause { return false }
        logger.notice("reconnecting to retry transaction", metadata: ["attempt": "\(attempt)", "cause": "\(cause)"])
        counters?.count(.reconnect)
        usleep(useconds_t(pause * 1_000))
        return true
    }

    public func record(_ entry: ProvisioningLogEntry) {
        guard connection.isConnected else { return }
        do {
            // One round trip; the function scopes itself to the entry's tenant (row-level security).
            try connection.execute(ProvisioningLogStatement.call("scim.record_request", entry), prepared: true)
        } catch {
            logger.warning("provisioning log row not written", metadata: ["error": "\(error)", "request_id": "\(entry.requestId)"])
        }
    }

    public func recordKeyUse(keyId: String) {
        guard connection.isConnected else { return }
        do {
            try connection.execute("select scim.record_key_use(\(keyId)::uuid)", prepared: true)
        } catch {
            logger.warning("key use not recorded", metadata: ["error": "\(error)"])
        }
    }

    public func addReadCounts(_ counts: [ReadTally.Count]) throws(SCIMError) {
        guard !counts.isEmpty else { return }
        try transaction { (transaction) throws(SCIMError) in
            (transaction as? PostgresTransaction)?.addReadCounts(counts)
        }
    }

    func translate(_ cause: PostgresError, committing: Bool) -> SCIMError {
        if cause.isConnectionFailure { logger.error("database unavailable", metadata: ["error": "\(cause)"]) }
        return DatabaseErrorMapping.scimError(cause, committing: committing)
    }
}

/// The call that writes a provisioning log row (scim.record_request, or scim.record_write inside a
/// write's transaction), with the entry's values as binds.
enum ProvisioningLogStatement {
    static func call(_ function: SQL, _ entry: ProvisioningLogEntry) -> SQL {
        let rejection = entry.rejection
        return """
            select \(function)(\(entry.tenantSlug), \(entry.requestId), \(entry.keyPrefix), \(entry.method),
                \(entry.path), \(entry.resourceType), \(entry.resourceId), \(entry.subject), \(entry.status),
                \(entry.scimType), \(entry.detail), \(String(entry.durationMilliseconds))::numeric,
                \(entry.requestBody?.serialized())::jsonb, \(rejection?.cause), \(rejection?.suggestion),
                \(entry.settlesRejections)::boolean)
            """
    }
}
