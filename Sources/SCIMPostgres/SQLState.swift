/// The SQLSTATE codes the project acts on (PostgreSQL manual, Appendix A), named once.
public struct SQLState: RawRepresentable, Hashable, Sendable, CustomStringConvertible, ExpressibleByStringLiteral {
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { rawValue = value }

    public static let stringTooLong = SQLState(rawValue: "22001")
    public static let numericOutOfRange = SQLState(rawValue: "22003")
    public static let invalidDateTimeFormat = SQLState(rawValue: "22007")
    public static let dateTimeOutOfRange = SQLState(rawValue: "22008")
    public static let invalidTextRepresentation = SQLState(rawValue: "22P02")
    public static let notNullViolation = SQLState(rawValue: "23502")
    public static let foreignKeyViolation = SQLState(rawValue: "23503")
    public static let uniqueViolation = SQLState(rawValue: "23505")
    public static let checkViolation = SQLState(rawValue: "23514")
    public static let readOnlySQLTransaction = SQLState(rawValue: "25006")
    public static let serializationFailure = SQLState(rawValue: "40001")
    public static let deadlockDetected = SQLState(rawValue: "40P01")
    public static let insufficientPrivilege = SQLState(rawValue: "42501")
    public static let undefinedTable = SQLState(rawValue: "42P01")
    public static let queryCanceled = SQLState(rawValue: "57014")

    /// Class 22 (data exception) or 23 (integrity constraint violation): the request's values were
    /// refused; retrying the same request cannot help.
    public var isRefusedValue: Bool { rawValue.hasPrefix("22") || rawValue.hasPrefix("23") }

    /// The server this connection reached no longer takes writes (a primary demoted after a
    /// failover, or read-only for maintenance): the connection is useless for writing, and a new one
    /// (libpq's `target_session_attrs=read-write` picks the new primary) is what cures it.
    public var meansServerIsNotPrimary: Bool { self == .readOnlySQLTransaction }

    /// A serialization failure or deadlock: running the whole transaction again can succeed.
    public var isRetryable: Bool { self == .serializationFailure || self == .deadlockDetected }

    public var description: String { rawValue }
}
