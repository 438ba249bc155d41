/// What the responder counts for its operators besides requests (`GET /metrics`): events deep in
/// the store or the service that a request's status alone does not show.
public enum OperationalEvent: Int, CaseIterable, Sendable {
    /// The database could not be reached, or the connection broke.
    case databaseConnectionError
    /// A statement ran past its timeout (or the request's deadline).
    case databaseTimeout
    /// A serialization failure or deadlock, which the transaction is run again for.
    case databaseConflict
    /// Any other database error (bugs, constraint surprises).
    case databaseOtherError
    /// A transaction run again after a conflict.
    case transactionRetry
    /// A transaction run again on a fresh connection.
    case reconnect
    /// A request refused for want of a valid key (401).
    case authenticationFailure
    /// A request refused because its tenant held its share of the workers (429).
    case fairShareRefusal
    /// One batch of a re-apply job done by the housekeeper.
    case reapplyBatch
    /// The provisioning log's maintenance run by this deployment's workers.
    case logMaintenance
    /// Directory tables analyzed because they grew faster than autovacuum looks (a first sync).
    case tablesAnalyzed
}

/// Where those events are counted: the workers' shared metrics board in the responder.
public protocol OperationalCounters: AnyObject, Sendable {
    func count(_ event: OperationalEvent)
}
