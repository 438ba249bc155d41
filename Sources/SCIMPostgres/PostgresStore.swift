import Logging
import SCIMCore

/// The PostgreSQL implementation of `ResourceStore`, over one connection owned by this worker.
public final class PostgresStore: ResourceStore {
    public static let maxAttempts = 3

    let connection: PostgresConnection
    let logger: Logger
    /// The responder's store serves only through a role that row-level security confines
    /// (`RowLevelSecurityCheck`); scimctl and the tests work as the owner.
    let requiresConfinedRole: Bool
    /// The outcome of that check for the current connection: nil until checked, "" when fine.
    private var confinementProblem: String?
    private var checkedGeneration = -1

    public init(connection: PostgresConnection, logger: Logger, requiresConfinedRole: Bool = false) {
        self.connection = connection
        self.logger = logger
        self.requiresConfinedRole = requiresConfinedRole
    }

    /// Checked once per connection (a reconnect may land on another server or role): a role that
    /// would see every tenant's rows gets no request served, only a 503 that says why.
    private func checkConfinement() throws(SCIMError) {
        guard requiresConfinedRole else { return }
        if let problem = confinementProblem, connection.isConnected, connection.generation == checkedGeneration {
            if !problem.isEmpty { throw .unavailable("The service is misconfigured: \(problem).", retryAfterSeconds: 60) }
            return
        }
        do {
            if !connection.isConnected { try connection.connect() }
            let problem = try RowLevelSecurityCheck.problem(connection) ?? ""
            confinementProblem = problem
            checkedGeneration = connection.generation
            if !problem.isEmpty {
                logger.critical("refusing to serve", metadata: ["reason": "\(problem)"])
                throw SCIMError.unavailable("The service is misconfigured: \(problem).", retryAfterSeconds: 60)
            }
        } catch let error as SCIMError {
            throw error
        } catch let error as PostgresError {
            throw translate(error, committing: false)
        } catch {
            throw .internalError("The database role could not be checked.")
        }
    }

    /// Runs `body` between BEGIN and COMMIT. A serialization failure or deadlock, or a connection
    /// found dead before COMMIT was sent (the server rolled the transaction back), runs it again on a
    /// fresh connection, up to `maxAttempts` times. A connection lost during COMMIT leaves the
    /// outcome unknown, so that is answered 503 rather than retried.
    public func transaction<T>(_ body: (any StoreTransaction) throws(SCIMError) -> T) throws(SCIMError) -> T {
        try checkConfinement()
        var attempt = 0
        while true {
            attempt += 1
            let transaction = PostgresTransaction(connection: connection, logger: logger)
            var committing = false
            do {
                try transaction.run("begin")
                let result = try body(transaction)
                committing = true
                try transaction.run("commit")
                return result
            } catch {
                if let cause = transaction.databaseError {
                    if cause.isConnectionFailure {
                        if !committing && attempt < Self.maxAttempts {
                            logger.notice("reconnecting to retry transaction", metadata: ["attempt": "\(attempt)", "cause": "\(cause)"])
                            continue
                        }
                        throw translate(cause, committing: committing)
                    }
                    _ = try? connection.executeScript("rollback")
                    if attempt < Self.maxAttempts {
                        logger.notice("retrying transaction", metadata: ["attempt": "\(attempt)", "cause": "\(cause)"])
                        continue
                    }
                    throw translate(cause, committing: committing)
                }
                if connection.isConnected { _ = try? connection.executeScript("rollback") }
                throw error
            }
        }
    }

    public func record(_ entry: ProvisioningLogEntry) {
        guard connection.isConnected else { return }
        let rejection = entry.rejection
        do {
            // The log row and, for a refused request, its error, in one statement.
            try connection.execute("""
                with tenant as (select t.id from scim.tenants t where t.slug = \(entry.tenantSlug)),
                logged as (
                    insert into scim.provisioning_log (tenant_id, request_id, key_prefix, key_name, method, path, resource_type,
                        resource_id, subject, status, scim_type, detail, duration_ms, request_body)
                    select t.id, \(entry.requestId), \(entry.keyPrefix),
                           (select k.name from scim.api_keys k where k.prefix = \(entry.keyPrefix) and k.tenant_id = t.id),
                           \(entry.method), \(String(entry.path.prefix(500))), \(entry.resourceType), \(entry.resourceId), \(entry.subject),
                           \(entry.status), \(entry.scimType), \(entry.detail), \(String(entry.durationMilliseconds))::numeric,
                           \(entry.requestBody?.serialized())::jsonb
                    from tenant t
                ),
                rejected as (
                    select scim.record_error(t.id, 'rejected_request', \(rejection?.cause), \(entry.resourceType),
                                             coalesce(\(entry.resourceId), \(entry.subject)), \(entry.subject),
                                             \(entry.method) || ' ' || \(String(entry.path.prefix(300))) || ': ' || coalesce(\(entry.detail), ''),
                                             \(rejection?.suggestion), \(entry.requestId))
                    from tenant t where \(rejection?.cause)::text is not null
                ),
                settled as (
                    update scim.provisioning_errors e set resolved_at = now(), resolved_by = 'system'
                    from tenant t
                    where \(entry.settlesRejections)::boolean and e.tenant_id = t.id and e.kind = 'rejected_request'
                      and e.resolved_at is null and e.resource_type = \(entry.resourceType)
                      and (e.resource_id = \(entry.resourceId) or lower(e.resource_id) = lower(\(entry.subject))
                           or lower(e.subject) = lower(\(entry.subject)))
                    returning 1
                )
                select (select count(*) from rejected) as rejected, (select count(*) from settled) as settled
                """, prepared: true)
        } catch {
            logger.warning("provisioning log row not written", metadata: ["error": "\(error)", "request_id": "\(entry.requestId)"])
        }
    }

    public func recordKeyUse(keyId: String) {
        guard connection.isConnected else { return }
        do {
            try connection.execute("""
                update scim.api_keys set last_used_at = now()
                where id = (select id from scim.api_keys where id = \(keyId)::uuid
                              and (last_used_at is null or last_used_at < now() - interval '1 minute')
                            for update skip locked)
                """, prepared: true)
        } catch {
            logger.warning("key use not recorded", metadata: ["error": "\(error)"])
        }
    }

    func translate(_ cause: PostgresError, committing: Bool) -> SCIMError {
        if cause.isConnectionFailure { logger.error("database unavailable", metadata: ["error": "\(cause)"]) }
        return DatabaseErrorMapping.scimError(cause, committing: committing)
    }
}
