import SCIMCore

/// The narrowing condition on scim.users' search columns (scim.search_keys and scim.search_text in
/// deploy/sql): `path=value` tokens every match must carry, or a `path=...text...` line every
/// match must contain. nil where none can be derived safely: under `or` unless both sides narrow,
/// under `not`, for numbers and dates (their text is not canonical), for non-ASCII text (PostgreSQL
/// and Swift might fold its case differently), and for equality on attributes kept in columns of
/// their own (their b-tree indexes serve it).
extension FilterRenderer {
    func prefilter(_ filter: ResolvedFilter) -> SQL? {
        switch filter {
        case .or(let a, let b):
            guard let left = prefilter(a), let right = prefilter(b) else { return nil }
            return "(\(left) or \(right))"
        case .and(let a, let b):
            switch (prefilter(a), prefilter(b)) {
            case (let left?, let right?): return "(\(left) and \(right))"
            case (let only?, nil), (nil, let only?): return only
            case (nil, nil): return nil
            }
        case .compare(let operand, let op, .text(let value)) where [.co, .sw, .ew].contains(op):
            guard let base = tokenPath(operand) ?? columnLine(operand), Self.isASCII(value), !value.isEmpty else { return nil }
            return Self.containsLine(field: base, op, value)
        case .anyElement(let attribute, let inner):
            // Equality terms inside the brackets narrow through the tokens, substring terms through the text.
            let base = elementPath(attribute)
            var conditions: [SQL] = []
            if let tokens = elementTokens(inner, base: base), !tokens.isEmpty { conditions.append(Self.carries(tokens)) }
            for (sub, op, value) in Self.substringTerms(inner) where Self.isASCII(value) {
                conditions.append(Self.containsLine(field: "\(base).\(sub.lowercased())", op, value))
            }
            return conditions.isEmpty ? nil : SQL.joined(conditions, separator: " and ")
        default:
            guard let tokens = requiredTokens(filter), !tokens.isEmpty else { return nil }
            return Self.carries(tokens)
        }
    }

    /// Tokens every match carries, from equality and presence terms joined by `and`.
    func requiredTokens(_ filter: ResolvedFilter) -> [String]? {
        switch filter {
        case .and(let a, let b):
            let left = requiredTokens(a), right = requiredTokens(b)
            if left == nil && right == nil { return nil }
            return (left ?? []) + (right ?? [])
        case .present(let operand):
            return tokenPath(operand).map { [$0] }
        case .compare(let operand, .eq, let value):
            guard let base = tokenPath(operand), let text = Self.tokenValue(value) else { return nil }
            return [Self.token(base, text)]
        case .anyElement(let attribute, let inner):
            return elementTokens(inner, base: elementPath(attribute))
        default:
            return nil
        }
    }

    private func elementTokens(_ filter: ResolvedFilter, base: String) -> [String]? {
        switch filter {
        case .and(let a, let b):
            let left = elementTokens(a, base: base), right = elementTokens(b, base: base)
            if left == nil && right == nil { return nil }
            return (left ?? []) + (right ?? [])
        case .present(.element(let sub)):
            return ["\(base).\(sub.name.lowercased())"]
        case .compare(.element(let sub), .eq, let value):
            guard let text = Self.tokenValue(value) else { return nil }
            return [Self.token("\(base).\(sub.name.lowercased())", text)]
        default:
            return nil
        }
    }

    /// `sub co "x"` / `sw` / `ew` terms joined by `and` inside `anyElement`.
    static func substringTerms(_ filter: ResolvedFilter) -> [(String, CompareOperator, String)] {
        switch filter {
        case .and(let a, let b): return substringTerms(a) + substringTerms(b)
        case .compare(.element(let sub), let op, .text(let value)) where [.co, .sw, .ew].contains(op) && !value.isEmpty:
            return [(sub.name, op, value)]
        default: return []
        }
    }

    /// The token path of a value stored in the JSON: `title`, `name.familyname`, an extension's
    /// attributes under its lower-cased URN. nil for ids, dates and attributes kept in columns.
    private func tokenPath(_ operand: FilterOperand) -> String? {
        switch operand {
        case .attribute(let attribute), .firstValue(let attribute):
            guard column(attribute) == nil, !attribute.isCommon else { return nil }
            return elementPath(attribute) + (attribute.subAttribute.map { ".\($0.name.lowercased())" } ?? "")
        case .id, .created, .lastModified, .element:
            return nil
        }
    }

    /// The line of `search_text` that repeats a column attribute (the document keeps `userName`,
    /// `displayName` and `externalId` too): substring filters on them narrow through the one trigram
    /// index of `search_text`, which spares every create the upkeep of a trigram index per column.
    private func columnLine(_ operand: FilterOperand) -> String? {
        guard case .attribute(let attribute) = operand, column(attribute) != nil else { return nil }
        return elementPath(attribute)
    }

    /// The token path of an attribute itself, without a sub-attribute.
    private func elementPath(_ attribute: ResolvedAttribute) -> String {
        (attribute.extensionURN.map { $0.lowercased() + "." } ?? "") + attribute.definition.name.lowercased()
    }

    static func tokenValue(_ value: TypedFilterValue) -> String? {
        switch value {
        case .text(let text): return isASCII(text) ? text.lowercased() : nil
        case .boolean(let flag): return flag ? "true" : "false"
        case .null, .number, .dateTime, .uuid: return nil
        }
    }

    static func isASCII(_ text: String) -> Bool { text.utf8.allSatisfy { $0 < 0x80 } }

    /// `path=value`, cut as a search key is (SearchColumns.cut).
    static func token(_ path: String, _ value: String) -> String {
        SearchColumns.cut("\(path)=\(value)")
    }

    static func carries(_ tokens: [String]) -> SQL {
        "(r.search_keys @> \(textArrayLiteral(tokens))::text[])"
    }

    static func containsLine(field: String, _ op: CompareOperator, _ value: String) -> SQL {
        let needle = value.lowercased().likeEscaped
        let pattern = op == .sw ? "%\(field.likeEscaped)=\(needle)%" : "%\(field.likeEscaped)=%\(needle)%"
        return "(r.search_text like \(pattern) escape '\\')"
    }

    /// A text[] literal of these elements, each quoted.
    static func textArrayLiteral(_ elements: [String]) -> String {
        "{" + elements.map(arrayElement).joined(separator: ",") + "}"
    }

    /// One element of a text[] literal, quoted.
    private static func arrayElement(_ text: String) -> String {
        var quoted = "\""
        for character in text {
            if character == "\\" || character == "\"" { quoted.append("\\") }
            quoted.append(character)
        }
        return quoted + "\""
    }
}
