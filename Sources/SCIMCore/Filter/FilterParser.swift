/// Recursive-descent parser for the filter grammar of RFC 7644 §3.4.2.2, with the precedence the RFC
/// gives (`not` binds tighter than `and`, which binds tighter than `or`). Operators and keywords are
/// case-insensitive. Two leniencies for Microsoft Entra: an unquoted value is read as a string
/// (`externalId eq jyoung` in Microsoft's docs), and `emails[type eq "work"].value eq "x"` is read as
/// `emails[type eq "work" and value eq "x"]`.
public struct FilterParser {
    public static let maxDepth = 16
    public static let maxLength = 4096

    private let chars: [UInt8]
    private var index = 0

    public static func parse(_ text: String) throws(SCIMError) -> FilterExpression {
        guard text.utf8.count <= maxLength else {
            throw .badRequest(.invalidFilter, "The filter is longer than \(maxLength) bytes.")
        }
        var parser = FilterParser(chars: Array(text.utf8))
        parser.skipSpaces()
        guard !parser.atEnd else { throw .badRequest(.invalidFilter, "The filter is empty.") }
        let expression = try parser.parseOr(depth: 0)
        parser.skipSpaces()
        guard parser.atEnd else { throw parser.error("unexpected text") }
        return expression
    }

    /// Parses a PATCH operation's `path`.
    public static func parsePatchPath(_ text: String) throws(SCIMError) -> PatchPath {
        guard text.utf8.count <= maxLength else { throw .badRequest(.invalidPath, "The path is too long.") }
        var parser = FilterParser(chars: Array(text.utf8))
        do throws(SCIMError) {
            parser.skipSpaces()
            let attribute = try parser.parseAttributePath()
            parser.skipSpaces()
            if parser.atEnd { return PatchPath(attribute: attribute) }
            guard parser.peek == UInt8(ascii: "["), attribute.subAttribute == nil else { throw parser.error("unexpected text") }
            parser.index += 1
            let filter = try parser.parseOr(depth: 1)
            parser.skipSpaces()
            guard parser.peek == UInt8(ascii: "]") else { throw parser.error("expected ']'") }
            parser.index += 1
            var sub: String?
            if parser.peek == UInt8(ascii: ".") {
                parser.index += 1
                sub = parser.readName()
                guard let s = sub, !s.isEmpty else { throw parser.error("expected a sub-attribute name") }
            }
            parser.skipSpaces()
            guard parser.atEnd else { throw parser.error("unexpected text") }
            return PatchPath(attribute: attribute, valueFilter: filter, subAttribute: sub)
        } catch {
            throw .badRequest(.invalidPath, "Invalid path \"\(text.prefix(200))\": \(error.detail)")
        }
    }

    private init(chars: [UInt8]) { self.chars = chars }

    private var atEnd: Bool { index >= chars.count }
    private var peek: UInt8? { index < chars.count ? chars[index] : nil }

    private func error(_ message: String) -> SCIMError {
        .badRequest(.invalidFilter, "Invalid filter: \(message) at character \(index + 1).")
    }

    private mutating func skipSpaces() {
        while let c = peek, c == 0x20 || c == 0x09 || c == 0x0A || c == 0x0D { index += 1 }
    }

    private static func isNameChar(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
            || c == UInt8(ascii: "_") || c == UInt8(ascii: "-") || c == UInt8(ascii: "$")
    }

    private mutating func readName() -> String {
        let start = index
        while let c = peek, FilterParser.isNameChar(c) { index += 1 }
        return String(decoding: chars[start..<index], as: UTF8.self)
    }

    /// Reads the next word without consuming it (a keyword or operator).
    private func peekWord() -> String {
        var i = index
        while i < chars.count, FilterParser.isNameChar(chars[i]) { i += 1 }
        return String(decoding: chars[index..<i], as: UTF8.self)
    }

    private mutating func consumeKeyword(_ keyword: String) -> Bool {
        let word = peekWord()
        guard word.caseInsensitiveEquals(keyword) else { return false }
        let after = index + word.utf8.count
        // A keyword must be followed by a space or a parenthesis, not glued to a name.
        if after < chars.count, chars[after] != 0x20, chars[after] != UInt8(ascii: "("), chars[after] != 0x09 { return false }
        index = after
        return true
    }

    private mutating func parseOr(depth: Int) throws(SCIMError) -> FilterExpression {
        var left = try parseAnd(depth: depth)
        while true {
            skipSpaces()
            guard consumeKeyword("or") else { return left }
            skipSpaces()
            left = .or(left, try parseAnd(depth: depth))
        }
    }

    private mutating func parseAnd(depth: Int) throws(SCIMError) -> FilterExpression {
        var left = try parseUnary(depth: depth)
        while true {
            skipSpaces()
            let save = index
            guard consumeKeyword("and") else { return left }
            skipSpaces()
            if atEnd { index = save; throw error("expected a filter after 'and'") }
            left = .and(left, try parseUnary(depth: depth))
        }
    }

    private mutating func parseUnary(depth: Int) throws(SCIMError) -> FilterExpression {
        guard depth < FilterParser.maxDepth else {
            throw .badRequest(.invalidFilter, "The filter nests deeper than \(FilterParser.maxDepth) levels.")
        }
        skipSpaces()
        if peekWord().caseInsensitiveEquals("not") {
            let save = index
            index += 3
            skipSpaces()
            if peek == UInt8(ascii: "(") {
                return .not(try parseParenthesised(depth: depth + 1))
            }
            index = save
        }
        if peek == UInt8(ascii: "(") { return try parseParenthesised(depth: depth + 1) }
        return try parseAttributeExpression(depth: depth)
    }

    private mutating func parseParenthesised(depth: Int) throws(SCIMError) -> FilterExpression {
        index += 1
        let inner = try parseOr(depth: depth)
        skipSpaces()
        guard peek == UInt8(ascii: ")") else { throw error("expected ')'") }
        index += 1
        return inner
    }

    private mutating func parseAttributeExpression(depth: Int) throws(SCIMError) -> FilterExpression {
        let path = try parseAttributePath()
        if peek == UInt8(ascii: "[") {
            guard path.subAttribute == nil else { throw error("a value filter cannot follow a sub-attribute") }
            index += 1
            let inner = try parseOr(depth: depth + 1)
            skipSpaces()
            guard peek == UInt8(ascii: "]") else { throw error("expected ']'") }
            index += 1
            if peek == UInt8(ascii: ".") {
                index += 1
                let sub = readName()
                guard !sub.isEmpty else { throw error("expected a sub-attribute name") }
                skipSpaces()
                let condition = try parseComparison(on: AttributePath(name: sub))
                return .valuePath(path, .and(inner, condition))
            }
            return .valuePath(path, inner)
        }
        skipSpaces()
        return try parseComparison(on: path)
    }

    private mutating func parseComparison(on path: AttributePath) throws(SCIMError) -> FilterExpression {
        let word = peekWord()
        guard !word.isEmpty else { throw error("expected an operator after '\(path)'") }
        if word.caseInsensitiveEquals("pr") {
            index += 2
            return .present(path)
        }
        guard let op = CompareOperator.allCases.first(where: { $0.rawValue.caseInsensitiveEquals(word) }) else {
            throw error("unknown operator '\(word.prefix(20))'")
        }
        index += word.utf8.count
        guard !atEnd else { throw error("expected a value after '\(op.rawValue)'") }
        guard peek == 0x20 || peek == 0x09 else { throw error("expected a space after '\(op.rawValue)'") }
        skipSpaces()
        return .compare(path, op, try parseValue())
    }

    private mutating func parseValue() throws(SCIMError) -> FilterValue {
        guard let c = peek else { throw error("expected a value") }
        if c == UInt8(ascii: "\"") { return .string(try parseQuotedString()) }
        // A bare token: a JSON literal or number, else (leniently) a string.
        let start = index
        while let c = peek, c != 0x20, c != 0x09, c != UInt8(ascii: ")"), c != UInt8(ascii: "]") { index += 1 }
        let token = String(decoding: chars[start..<index], as: UTF8.self)
        guard !token.isEmpty else { throw error("expected a value") }
        if token == "true" { return .bool(true) }
        if token == "false" { return .bool(false) }
        if token == "null" { return .null }
        if (try? JSONParser.parse(token))?.isNumber == true { return .number(token) }
        return .string(token)
    }

    private mutating func parseQuotedString() throws(SCIMError) -> String {
        let start = index
        index += 1
        while let c = peek {
            if c == UInt8(ascii: "\\") { index += 2; continue }
            index += 1
            if c == UInt8(ascii: "\"") {
                do {
                    guard case .string(let s) = try JSONParser.parse(Array(chars[start..<index])) else { break }
                    return s
                } catch {
                    throw self.error("invalid string value (\(error.message))")
                }
            }
        }
        index = start
        throw error("unterminated string")
    }

    /// Reads `[URI ":"] ATTRNAME [. subAttr]`. A URN contains ':' and '.' ("2.0"), so the name is
    /// what follows the last ':'.
    private mutating func parseAttributePath() throws(SCIMError) -> AttributePath {
        let start = index
        while let c = peek, FilterParser.isNameChar(c) || c == UInt8(ascii: ":") || c == UInt8(ascii: ".") { index += 1 }
        let token = String(decoding: chars[start..<index], as: UTF8.self)
        guard !token.isEmpty else { throw error("expected an attribute name") }
        var uri: String?
        var rest = Substring(token)
        if let colon = token.lastIndex(of: ":") {
            uri = String(token[..<colon])
            rest = token[token.index(after: colon)...]
        }
        let parts = rest.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, parts.allSatisfy({ !$0.isEmpty }), let first = parts.first,
              first.utf8.first.map({ ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == UInt8(ascii: "$") }) == true
        else { throw error("invalid attribute path '\(token.prefix(100))'") }
        return AttributePath(schemaURI: uri, name: String(first), subAttribute: parts.count == 2 ? String(parts[1]) : nil)
    }
}

extension JSONValue {
    var isNumber: Bool {
        if case .number = self { return true }
        return false
    }
}
