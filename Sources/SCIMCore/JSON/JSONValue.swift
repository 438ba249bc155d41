/// A JSON document as SCIM handles it: objects keep their member order (so output stays in canonical
/// schema order) and numbers keep their literal text (so a 30-digit number is reported, not rounded).
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(String)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)

    public static func integer(_ value: Int) -> JSONValue { .number(String(value)) }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }
    public var boolValue: Bool? {
        if case .bool(let b) = self { return b }
        return nil
    }
    public var objectValue: JSONObject? {
        if case .object(let o) = self { return o }
        return nil
    }
    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }
    public var intValue: Int? {
        if case .number(let text) = self { return Int(text) }
        return nil
    }
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }

    /// The type name used in error details ("expected a string, got an array").
    public var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }
}

/// An ordered JSON object. SCIM attribute names are case-insensitive (RFC 7643 §2.1), so lookups by
/// name come in an exact and a case-insensitive form.
public struct JSONObject: Sendable, Equatable {
    public struct Member: Sendable, Equatable {
        public var key: String
        public var value: JSONValue
    }

    public private(set) var members: [Member]

    public init() { members = [] }
    public init(_ pairs: [(String, JSONValue)]) {
        members = pairs.map { Member(key: $0.0, value: $0.1) }
    }

    public var isEmpty: Bool { members.isEmpty }
    public var count: Int { members.count }
    public var keys: [String] { members.map(\.key) }

    public subscript(key: String) -> JSONValue? {
        get { members.first { $0.key == key }?.value }
        set {
            if let index = members.firstIndex(where: { $0.key == key }) {
                if let newValue { members[index].value = newValue } else { members.remove(at: index) }
            } else if let newValue {
                members.append(Member(key: key, value: newValue))
            }
        }
    }

    /// The member whose name matches `name` ignoring case, with the key as spelled in the document.
    public func member(caseInsensitive name: String) -> Member? {
        members.first { $0.key.caseInsensitiveEquals(name) }
    }

    public mutating func removeValue(caseInsensitive name: String) {
        members.removeAll { $0.key.caseInsensitiveEquals(name) }
    }

    /// Sets `value` under `key`, replacing any member whose name differs only in case.
    public mutating func set(_ value: JSONValue, caseInsensitive key: String) {
        if let index = members.firstIndex(where: { $0.key.caseInsensitiveEquals(key) }) {
            members[index] = Member(key: key, value: value)
        } else {
            members.append(Member(key: key, value: value))
        }
    }

    public mutating func append(_ key: String, _ value: JSONValue) {
        members.append(Member(key: key, value: value))
    }
}

extension String {
    /// ASCII-folding comparison: SCIM names and URNs are ASCII, and this avoids allocating lowercased copies.
    public func caseInsensitiveEquals(_ other: String) -> Bool {
        let a = utf8, b = other.utf8
        guard a.count == b.count else { return false }
        for (x, y) in zip(a, b) where x != y {
            let lx = (x >= 65 && x <= 90) ? x + 32 : x
            let ly = (y >= 65 && y <= 90) ? y + 32 : y
            if lx != ly { return false }
        }
        return true
    }

    public func caseInsensitiveHasPrefix(_ prefix: String) -> Bool {
        guard utf8.count >= prefix.utf8.count else { return false }
        return String(decoding: utf8.prefix(prefix.utf8.count), as: UTF8.self).caseInsensitiveEquals(prefix)
    }
}
