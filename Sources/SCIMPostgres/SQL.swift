/// A SQL statement whose interpolated values become `$n` binds, never text (postgres-nio's
/// PostgresQuery is the model). SQL text enters only as string literals written in the source,
/// and fragments typed `SQL` (themselves made of literals) compose; binds are numbered when the
/// statement is rendered. No source file builds SQL from a runtime string: `init(unsafeRaw:)` is
/// kept for the tests' ad-hoc statements (a statement naming a table they loop over), and a
/// review should find it nowhere in `Sources/` but here.
public struct SQL: ExpressibleByStringInterpolation, Sendable {
    enum Part: Sendable {
        case raw(String)
        case bind(String?)
    }

    var parts: [Part] = []

    public init(stringLiteral value: String) { parts = [.raw(value)] }

    public init(stringInterpolation: Interpolation) { parts = stringInterpolation.parts }

    public init(unsafeRaw text: String) { parts = [.raw(text)] }

    public struct Interpolation: StringInterpolationProtocol {
        var parts: [Part] = []
        public init(literalCapacity: Int, interpolationCount: Int) {}
        public mutating func appendLiteral(_ literal: String) { parts.append(.raw(literal)) }
        public mutating func appendInterpolation(_ value: String?) { parts.append(.bind(value)) }
        public mutating func appendInterpolation(_ value: Int) { parts.append(.bind(String(value))) }
        public mutating func appendInterpolation(_ value: Bool) { parts.append(.bind(value ? "true" : "false")) }
        public mutating func appendInterpolation(_ value: Bool?) { parts.append(.bind(value.map { $0 ? "true" : "false" })) }
        public mutating func appendInterpolation(_ fragment: SQL) { parts.append(contentsOf: fragment.parts) }
    }

    public static func + (a: SQL, b: SQL) -> SQL {
        var result = a
        result.parts.append(contentsOf: b.parts)
        return result
    }

    public static func joined(_ fragments: [SQL], separator: String) -> SQL {
        var result: SQL = ""
        for (i, fragment) in fragments.enumerated() {
            if i > 0 { result.parts.append(.raw(separator)) }
            result.parts.append(contentsOf: fragment.parts)
        }
        return result
    }

    /// The text with `$1`, `$2`, … and the bind values in order.
    public func render() -> (text: String, binds: [String?]) {
        var text = ""
        var binds: [String?] = []
        for part in parts {
            switch part {
            case .raw(let raw): text += raw
            case .bind(let value):
                binds.append(value)
                text += "$\(binds.count)"
            }
        }
        return (text, binds)
    }
}

extension String {
    /// The text as a literal part of a LIKE pattern: `\`, `%` and `_` escaped with `\`.
    var likeEscaped: String {
        var escaped = ""
        for character in self {
            if character == "\\" || character == "%" || character == "_" { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }

    /// A pattern for `lower(column) like ...` that matches any text containing this one, in any case.
    var likeContainingPattern: String { "%" + lowercased().likeEscaped + "%" }
}
