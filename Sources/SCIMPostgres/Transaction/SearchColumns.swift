import SCIMCore

/// The values of scim.users' two search columns, worked out from the document the responder is
/// about to write: `search_text`, a `path=value` line for each scalar, and `search_keys`, those
/// lines cut to 200 characters plus every path (what filters and the console search narrow by,
/// FilterRenderer+Prefilter).
///
/// The database's own functions, scim.search_text and scim.search_keys, walked every written
/// document again in a recursive query; a sixth of a create's database time (pgbench, migration
/// 20261130001200). They stay the definition: they fill the columns for any writer that does not
/// (a DBA's update), and SearchColumnsTests holds these values equal to theirs. Nothing is lowered
/// here: the statement applies the database's `lower()`, as those functions and the filters' exact
/// conditions do, so one notion of case serves all three.
struct SearchColumns {
    /// The lines of `search_text`, before lowering.
    private(set) var lines: [String] = []
    /// The tokens of `search_keys`, before lowering, each once.
    private(set) var keys: [String] = []
    private var seenKeys: Set<String> = []

    /// How deep the walk goes (a top-level attribute is 1; an array's elements are one deeper).
    static let maximumDepth = 5
    static let tokenLength = 200

    init(_ attributes: JSONObject) {
        for member in attributes.members { walk(member.value, path: member.key, depth: 1) }
    }

    /// `search_text` as the statement lowers it.
    var text: String { lines.joined(separator: "\n") }

    /// `search_keys` as a text[] literal, for the statement to lower.
    var keysLiteral: String { FilterRenderer.textArrayLiteral(keys) }

    private mutating func walk(_ value: JSONValue, path: String, depth: Int) {
        addKey(path)
        switch value {
        case .string(let text): addScalar(path, text)
        case .bool(let flag): addScalar(path, flag ? "true" : "false")
        case .number(let literal): addScalar(path, Self.numericText(literal))
        case .null: break
        case .object(let object):
            guard depth < Self.maximumDepth else { return }
            for member in object.members { walk(member.value, path: path + "." + member.key, depth: depth + 1) }
        case .array(let elements):
            guard depth < Self.maximumDepth else { return }
            for element in elements { walk(element, path: path, depth: depth + 1) }
        }
    }

    private mutating func addScalar(_ path: String, _ text: String) {
        let line = path + "=" + text
        lines.append(line)
        addKey(line)
    }

    private mutating func addKey(_ token: String) {
        let cut = Self.cut(token)
        if seenKeys.insert(cut).inserted { keys.append(cut) }
    }

    /// `left(token, 200)`: PostgreSQL counts characters as code points.
    static func cut(_ token: String) -> String {
        let scalars = token.unicodeScalars
        guard scalars.count > tokenLength else { return token }
        return String(String.UnicodeScalarView(scalars.prefix(tokenLength)))
    }

    /// A JSON number as jsonb gives it back (`value #>> '{}'`, PostgreSQL's numeric output): no
    /// exponent, the fraction digits the literal carries less its exponent, no negative zero.
    static func numericText(_ literal: String) -> String {
        var rest = Substring(literal)
        let negative = rest.first == "-"
        if negative { rest = rest.dropFirst() }
        var mantissa = rest
        var exponent = 0
        if let e = rest.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = rest[..<e]
            // A number PostgreSQL would refuse anyway is left as written.
            guard let value = Int(rest[rest.index(after: e)...].drop { $0 == "+" }), abs(value) <= 1_000 else { return literal }
            exponent = value
        }
        let parts = mantissa.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let integerDigits = parts[0]
        let fractionDigits = parts.count > 1 ? parts[1] : ""
        guard (integerDigits + fractionDigits).allSatisfy(\.isASCII), (integerDigits + fractionDigits).allSatisfy(\.isNumber) else {
            return literal
        }
        let digits = Array(integerDigits + fractionDigits)
        let scale = max(0, fractionDigits.count - exponent)
        let point = integerDigits.count + exponent
        var whole = point <= 0 ? "" : String(digits.prefix(point)) + String(repeating: "0", count: max(0, point - digits.count))
        whole = String(whole.drop { $0 == "0" })
        if whole.isEmpty { whole = "0" }
        var fraction = point < 0 ? String(repeating: "0", count: -point) + String(digits) : String(digits.dropFirst(min(point, digits.count)))
        if fraction.count > scale { fraction = String(fraction.prefix(scale)) }
        let isZero = digits.allSatisfy { $0 == "0" }
        return (negative && !isZero ? "-" : "") + whole + (scale > 0 ? "." + fraction : "")
    }
}
