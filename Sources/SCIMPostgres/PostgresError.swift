/// A failure reported by libpq or the server, keeping libpq's own message and the SQLSTATE.
public struct PostgresError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable {
        /// The connection could not be made or was lost; nothing more can be sent on it.
        case connection
        /// The server answered the statement with an error.
        case server
    }

    public var kind: Kind
    public var message: String
    public var sqlState: SQLState?
    /// The constraint (or unique index) a class 23 error names: what tells which value clashed.
    public var constraint: String?
    public var detail: String?

    public var description: String {
        "\(sqlState.map { "[\($0)] " } ?? "")\(message)" + (detail.map { " (\($0))" } ?? "")
    }

    /// SQLSTATE class 08 (connection exception), 57P01-57P03 (the server is shutting down or
    /// starting), and 25006 (the server is read-only: no longer the primary).
    public var isConnectionFailure: Bool {
        kind == .connection || sqlState?.rawValue.hasPrefix("08") == true || ["57P01", "57P02", "57P03"].contains(sqlState?.rawValue ?? "")
            || sqlState?.meansServerIsNotPrimary == true
    }

    /// Failures that a retry of the whole transaction can cure.
    public var isRetryable: Bool { sqlState?.isRetryable == true }
}
