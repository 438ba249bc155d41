import Logging
import SCIMCore

/// What a client is told when PostgreSQL refuses a statement: the status and wording a client can
/// act on, by SQLSTATE (PostgreSQL manual, Appendix A). The server's own message names tables,
/// constraints and stored values; it goes to the responder's log, never into a response.
enum DatabaseErrorMapping {
    static func scimError(_ error: PostgresError, committing: Bool) -> SCIMError {
        if error.isConnectionFailure {
            return .unavailable(committing
                ? "The database connection was lost while committing; the outcome is unknown. Retry the request."
                : "The database is unavailable. Retry the request shortly.")
        }
        if error.isRetryable {
            return .unavailable("The request conflicted with concurrent requests; retry it.", retryAfterSeconds: 1)
        }
        let state = error.sqlState ?? ""
        switch state {
        case "57014": return .unavailable("The request took too long and was cancelled.")
        case "23505": return .conflict("A value that must be unique is already in use.")
        case "23502": return .badRequest(.invalidValue, "A required value is missing.")
        case "23503": return .badRequest(.invalidValue, "A value refers to something that does not exist.")
        case "23514": return .badRequest(.invalidValue, "A value is not allowed here (too long, empty, or not one of the accepted values).")
        case "22001": return .badRequest(.invalidValue, "A value is too long.")
        case "22003": return .badRequest(.invalidValue, "A number is out of range.")
        case "22007", "22008": return .badRequest(.invalidValue, "A date or time is not valid; use a timestamp such as 2026-11-29T10:00:00Z.")
        case "22P02": return .badRequest(.invalidValue, "A value has the wrong format (an id, a number, a date or a boolean).")
        case let state where state.hasPrefix("22") || state.hasPrefix("23"):
            return .badRequest(.invalidValue, "A value was refused by the database's rules.")
        default:
            return .internalError("An internal database error occurred.")
        }
    }

    /// Refusals a client caused (classes 22 and 23) are notices; anything else is an error.
    static func log(_ error: PostgresError, _ logger: Logger) {
        let metadata: Logger.Metadata = ["sqlstate": "\(error.sqlState ?? "-")", "constraint": "\(error.constraint ?? "-")",
                                         "error": "\(error)"]
        let state = error.sqlState ?? ""
        if state.hasPrefix("22") || state.hasPrefix("23") {
            logger.notice("database refused a value", metadata: metadata)
        } else if !error.isRetryable {
            logger.error("database error", metadata: metadata)
        }
    }
}
