import SCIMCore

/// Translates a SCIM filter into a parameterised SQL condition. Attribute names go through an
/// allow-list (real columns first, then JSON paths built from the schema); values only ever become
/// binds. A filter we cannot serve is a 400 `invalidFilter`, never a wrong answer.
struct FilterTranslator {
    struct Column {
        var sql: String
        var type: AttributeDefinition.DataType
        var caseExact: Bool
    }

    let resourceType: ResourceTypeDefinition
    /// Top-level attributes (lower-cased name) that live in their own column.
    let columns: [String: Column]
    /// The attribute answered from `scim.group_members` (Group.members, User.groups), and the SQL
    /// condition joining a membership row `m` to the resource row `r`, plus the column the value names.
    let membership: (attribute: String, join: String, valueColumn: String)?
    /// The generated column of `scim.search_keys(attributes)` tokens, where the table has one;
    /// `search_text` (the same lines, whole) sits beside it.
    var searchKeysColumn: String?
    var searchTextColumn: String? { searchKeysColumn.map { $0.replacingOccurrences(of: "search_keys", with: "search_text") } }
    let jsonColumn = "r.attributes"

    static func users(_ resourceType: ResourceTypeDefinition) -> FilterTranslator {
        FilterTranslator(resourceType: resourceType, columns: userColumns,
                         membership: ("groups", "m.tenant_id = r.tenant_id and m.member_id = r.id", "m.group_id"),
                         searchKeysColumn: "r.search_keys")
    }

    static func groups(_ resourceType: ResourceTypeDefinition) -> FilterTranslator {
        FilterTranslator(resourceType: resourceType, columns: groupColumns,
                         membership: ("members", "m.tenant_id = r.tenant_id and m.group_id = r.id", "m.member_id"))
    }

    static let userColumns: [String: Column] = [
        "id": Column(sql: "r.id", type: .reference, caseExact: true),
        "username": Column(sql: "r.user_name", type: .string, caseExact: false),
        "externalid": Column(sql: "r.external_id", type: .string, caseExact: true),
        "displayname": Column(sql: "r.display_name", type: .string, caseExact: false),
        "active": Column(sql: "r.active", type: .boolean, caseExact: false),
        "meta.created": Column(sql: "r.created_at", type: .dateTime, caseExact: false),
        "meta.lastmodified": Column(sql: "r.updated_at", type: .dateTime, caseExact: false),
    ]

    static let groupColumns: [String: Column] = [
        "id": Column(sql: "r.id", type: .reference, caseExact: true),
        "displayname": Column(sql: "r.display_name", type: .string, caseExact: false),
        "externalid": Column(sql: "r.external_id", type: .string, caseExact: true),
        "meta.created": Column(sql: "r.created_at", type: .dateTime, caseExact: false),
        "meta.lastmodified": Column(sql: "r.updated_at", type: .dateTime, caseExact: false),
    ]

    /// `order by` for sortBy (RFC 7644 §3.4.2.3); resources without a value sort last, ties by id.
    func orderBy(_ sort: SortOrder?) throws(SCIMError) -> String {
        guard let sort else { return "r.id" }
        let direction = sort.descending ? "desc" : "asc"
        switch try resolve(sort.attribute, element: nil) {
        case .scalar(let sql, let type, let caseExact, _):
            let key = (type == .string && !caseExact) ? "lower(\(sql))" : sql
            return "\(key) \(direction) nulls last, r.id"
        case .elements(let array, _, let sub):
            return "(\(array)->0->>\(literal(sub.name))) \(direction) nulls last, r.id"
        }
    }

    /// What a path in the filter refers to.
    enum Operand {
        /// A scalar SQL expression (a column or a `->>` path).
        case scalar(sql: String, type: AttributeDefinition.DataType, caseExact: Bool, isUUID: Bool)
        /// Elements of a multi-valued attribute: `jsonb` array expression, and the sub-attribute compared.
        case elements(array: String, definition: AttributeDefinition, sub: AttributeDefinition)
    }

    func translate(_ expression: FilterExpression) throws(SCIMError) -> SQL {
        let exact = try translate(expression, element: nil)
        // Narrow by the indexed search columns first where the filter allows; the exact condition
        // still decides.
        guard let prefilter = prefilter(expression) else { return exact }
        return "(\(prefilter) and \(exact))"
    }

    /// A condition on the indexed search columns that every match satisfies, or nil.
    func prefilter(_ expression: FilterExpression) -> SQL? {
        guard let keys = searchKeysColumn, let text = searchTextColumn else { return nil }
        switch expression {
        case .or(let a, let b):
            // Each side must narrow, or the union cannot.
            guard let left = prefilter(a), let right = prefilter(b) else { return nil }
            return "(\(left) or \(right))"
        case .and(let a, let b):
            switch (prefilter(a), prefilter(b)) {
            case (let left?, let right?): return "(\(left) and \(right))"
            case (let only?, nil), (nil, let only?): return only
            case (nil, nil): return nil
            }
        case .compare(let path, let op, .string(let value)) where [.co, .sw, .ew].contains(op):
            guard let base = tokenPath(path), value.utf8.allSatisfy({ $0 < 0x80 }), !value.isEmpty else { return nil }
            let needle = value.lowercased().likeEscaped
            let pattern = op == .sw ? "%\(base.likeEscaped)=\(needle)%" : "%\(base.likeEscaped)=%\(needle)%"
            return "(\(unsafeRaw: text) like \(pattern) escape '\\')"
        case .valuePath(let path, let inner):
            // Equality terms inside the brackets narrow through the tokens, substring terms through the text.
            guard path.subAttribute == nil, let base = tokenPath(path, element: true) else { return nil }
            var conditions: [SQL] = []
            if let tokens = elementTokens(inner, base: base), !tokens.isEmpty {
                conditions.append("(\(unsafeRaw: keys) @> \("{" + tokens.map(Self.arrayElement).joined(separator: ",") + "}")::text[])")
            }
            for (sub, op, value) in Self.substringTerms(inner) where value.utf8.allSatisfy({ $0 < 0x80 }) {
                let field = "\(base).\(sub.lowercased())".likeEscaped
                let needle = value.lowercased().likeEscaped
                let pattern = op == .sw ? "%\(field)=\(needle)%" : "%\(field)=%\(needle)%"
                conditions.append("(\(unsafeRaw: text) like \(pattern) escape '\\')")
            }
            return conditions.isEmpty ? nil : SQL.joined(conditions, separator: " and ")
        default:
            guard let tokens = requiredTokens(expression), !tokens.isEmpty else { return nil }
            return "(\(unsafeRaw: keys) @> \("{" + tokens.map(Self.arrayElement).joined(separator: ",") + "}")::text[])"
        }
    }

    /// `sub co "x"` / `sw` / `ew` terms joined by `and` inside a value path.
    static func substringTerms(_ expression: FilterExpression) -> [(String, CompareOperator, String)] {
        switch expression {
        case .and(let a, let b): return substringTerms(a) + substringTerms(b)
        case .compare(let path, let op, .string(let value))
            where [.co, .sw, .ew].contains(op) && path.schemaURI == nil && path.subAttribute == nil && !value.isEmpty:
            return [(path.name, op, value)]
        default: return []
        }
    }

    /// Tokens every matching resource must carry (see scim.search_keys in deploy/sql): from
    /// equality and presence terms joined by `and`. nil when none can be derived safely, e.g. under
    /// `or`/`not`, for numbers (their text is not canonical), or for non-ASCII values, whose lower
    /// case PostgreSQL and Swift might fold differently.
    func requiredTokens(_ expression: FilterExpression) -> [String]? {
        switch expression {
        case .and(let a, let b):
            let left = requiredTokens(a), right = requiredTokens(b)
            if left == nil && right == nil { return nil }
            return (left ?? []) + (right ?? [])
        case .present(let path):
            return tokenPath(path).map { [$0] }
        case .compare(let path, .eq, let value):
            guard let base = tokenPath(path), let text = Self.tokenValue(value) else { return nil }
            return [Self.token(base, text)]
        case .valuePath(let path, let inner):
            guard path.subAttribute == nil, let base = tokenPath(path, element: true) else { return nil }
            return elementTokens(inner, base: base)
        default:
            return nil
        }
    }

    private func elementTokens(_ expression: FilterExpression, base: String) -> [String]? {
        switch expression {
        case .and(let a, let b):
            let left = elementTokens(a, base: base), right = elementTokens(b, base: base)
            if left == nil && right == nil { return nil }
            return (left ?? []) + (right ?? [])
        case .compare(let path, .eq, let value) where path.schemaURI == nil && path.subAttribute == nil:
            guard let text = Self.tokenValue(value) else { return nil }
            return [Self.token("\(base).\(path.name.lowercased())", text)]
        default:
            return nil
        }
    }

    /// The token path of an attribute stored in the JSON (not a column, not the membership table).
    /// With `element`, the path of a multi-valued attribute's elements, whose sub-attributes the
    /// caller appends (`emails[type eq "work"]`).
    private func tokenPath(_ path: AttributePath, element: Bool = false) -> String? {
        let isCore = path.schemaURI == nil || path.schemaURI!.caseInsensitiveEquals(resourceType.schema.id)
        if isCore {
            let key = (path.name + (path.subAttribute.map { ".\($0)" } ?? "")).lowercased()
            if columns[key] != nil || path.name.caseInsensitiveEquals("meta") || path.name.caseInsensitiveEquals("id") { return nil }
            if let membership, path.name.caseInsensitiveEquals(membership.attribute) { return nil }
        }
        guard let (definition, _, isCoreAttribute) = try? locate(path) else { return nil }
        var token = definition.name.lowercased()
        if !isCoreAttribute {
            guard let ext = resourceType.extensions.first(where: { $0.attribute(named: definition.name) != nil
                && (path.schemaURI == nil || $0.id.caseInsensitiveEquals(path.schemaURI!)) }) else { return nil }
            token = ext.id.lowercased() + "." + token
        }
        if element { return definition.multiValued && definition.type == .complex ? token : nil }
        if definition.type == .complex {
            guard let sub = path.subAttribute.map({ definition.subAttribute(named: $0) }) ?? definition.subAttribute(named: "value") else {
                return nil
            }
            token += "." + sub.name.lowercased()
        } else if path.subAttribute != nil {
            return nil
        }
        return token
    }

    static func tokenValue(_ value: FilterValue) -> String? {
        switch value {
        case .string(let text): return text.utf8.allSatisfy({ $0 < 0x80 }) ? text.lowercased() : nil
        case .bool(let flag): return flag ? "true" : "false"
        case .number, .null: return nil
        }
    }

    /// `path=value`, cut to 200 characters as scim.search_keys does.
    static func token(_ path: String, _ value: String) -> String {
        String(String.UnicodeScalarView(("\(path)=\(value)").unicodeScalars.prefix(200)))
    }

    /// One element of a text[] literal, quoted.
    static func arrayElement(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    /// `element` is set inside a value path: names refer to sub-attributes of that element.
    private func translate(_ expression: FilterExpression, element: (alias: String, definition: AttributeDefinition)?) throws(SCIMError) -> SQL {
        switch expression {
        case .and(let a, let b):
            return "(\(try translate(a, element: element)) and \(try translate(b, element: element)))"
        case .or(let a, let b):
            return "(\(try translate(a, element: element)) or \(try translate(b, element: element)))"
        case .not(let a):
            return "(not coalesce(\(try translate(a, element: element)), false))"
        case .valuePath(let path, let inner):
            guard element == nil else { throw .badRequest(.invalidFilter, "Value filters cannot be nested.") }
            let (array, definition) = try multiValued(path)
            let condition = try translate(inner, element: ("e.v", definition))
            return "exists (select 1 from jsonb_array_elements(coalesce(\(unsafeRaw: array), '[]'::jsonb)) as e(v) where \(condition))"
        case .present(let path) where element == nil && isMembership(path):
            return "exists (select 1 from scim.group_members m where \(unsafeRaw: membership!.join))"
        case .compare(let path, let op, let value) where element == nil && isMembership(path):
            guard op == .eq || op == .ne, case .string(let id) = value else {
                throw .badRequest(.invalidFilter, "'\(path.description.prefix(100))' can be compared only with eq or ne and an id.")
            }
            guard ResourceID.isValid(id) else { return op == .eq ? "false" : "true" }
            let condition: SQL = "exists (select 1 from scim.group_members m where \(unsafeRaw: membership!.join) and \(unsafeRaw: membership!.valueColumn) = \(id)::uuid)"
            return op == .eq ? condition : "(not \(condition))"
        case .present(let path):
            switch try resolve(path, element: element) {
            case .scalar(let sql, let type, _, _):
                return type == .string ? "(\(unsafeRaw: sql) is not null and \(unsafeRaw: sql) <> '')" : "(\(unsafeRaw: sql) is not null)"
            case .elements(let array, _, let sub):
                return "exists (select 1 from jsonb_array_elements(coalesce(\(unsafeRaw: array), '[]'::jsonb)) as e(v) "
                    + "where (e.v->>\(unsafeRaw: literal(sub.name))) is not null)"
            }
        case .compare(let path, let op, let value):
            switch try resolve(path, element: element) {
            case .scalar(let sql, let type, let caseExact, let isUUID):
                return try compare(sql, type: type, caseExact: caseExact, isUUID: isUUID, op, value, path: path)
            case .elements(let array, _, let sub):
                let condition = try compare("(e.v->>\(literal(sub.name)))", type: sub.type, caseExact: sub.caseExact, isUUID: false,
                                            op, value, path: path)
                return "exists (select 1 from jsonb_array_elements(coalesce(\(unsafeRaw: array), '[]'::jsonb)) as e(v) where \(condition))"
            }
        }
    }

    /// `members`/`members.value` on groups, `groups`/`groups.value` on users: answered from the join table.
    private func isMembership(_ path: AttributePath) -> Bool {
        guard let membership, path.name.caseInsensitiveEquals(membership.attribute) else { return false }
        if let uri = path.schemaURI, !uri.caseInsensitiveEquals(resourceType.schema.id) { return false }
        return path.subAttribute == nil || path.subAttribute!.caseInsensitiveEquals("value")
    }

    /// A SQL string literal for a schema-defined name (never client text: names come from the schema).
    private func literal(_ name: String) -> String { "'\(name.replacingQuotes)'" }

    private func unsupported(_ path: AttributePath) -> SCIMError {
        .badRequest(.invalidFilter, "Filtering on '\(path.description.prefix(200))' is not supported: no such attribute.")
    }

    /// The schema and JSON container for a path's attribute.
    private func locate(_ path: AttributePath) throws(SCIMError) -> (definition: AttributeDefinition, container: String, isCore: Bool) {
        var schema = resourceType.schema
        if let uri = path.schemaURI {
            if uri.caseInsensitiveEquals(resourceType.schema.id) {
                schema = resourceType.schema
            } else if let ext = resourceType.extensionSchema(uri) {
                schema = ext
            } else {
                throw .badRequest(.invalidFilter, "Unknown schema '\(uri.prefix(200))' in the filter.")
            }
        }
        let isCore = schema.id == resourceType.schema.id
        let definition = schema.attribute(named: path.name)
        if definition == nil, path.schemaURI == nil {
            // `manager eq "id"` (Entra's legacy check) names the enterprise manager without its URN.
            let matches = resourceType.extensions.compactMap { ext in ext.attribute(named: path.name).map { (ext, $0) } }
            if matches.count == 1 {
                return (matches[0].1, "\(jsonColumn)->\(literal(matches[0].0.id))", false)
            }
        }
        guard let definition else { throw unsupported(path) }
        return (definition, isCore ? jsonColumn : "\(jsonColumn)->\(literal(schema.id))", isCore)
    }

    private func multiValued(_ path: AttributePath) throws(SCIMError) -> (array: String, definition: AttributeDefinition) {
        let (definition, container, _) = try locate(path)
        guard definition.multiValued, definition.type == .complex, path.subAttribute == nil else {
            throw .badRequest(.invalidFilter, "'\(path.description.prefix(200))[...]' needs a multi-valued complex attribute.")
        }
        return ("\(container)->\(literal(definition.name))", definition)
    }

    private func resolve(_ path: AttributePath, element: (alias: String, definition: AttributeDefinition)?) throws(SCIMError) -> Operand {
        if let element {
            guard path.schemaURI == nil, path.subAttribute == nil, let sub = element.definition.subAttribute(named: path.name) else {
                throw .badRequest(.invalidFilter,
                                  "'\(path.description.prefix(200))' is not a sub-attribute of '\(element.definition.name)'.")
            }
            return .scalar(sql: "(\(element.alias)->>\(literal(sub.name)))", type: sub.type, caseExact: sub.caseExact, isUUID: false)
        }
        let isCoreOrUnqualified = path.schemaURI == nil || path.schemaURI!.caseInsensitiveEquals(resourceType.schema.id)
        if isCoreOrUnqualified {
            let key = (path.name + (path.subAttribute.map { ".\($0)" } ?? "")).lowercased()
            if let column = columns[key] {
                return .scalar(sql: column.sql, type: column.type, caseExact: column.caseExact, isUUID: key == "id")
            }
            if path.name.caseInsensitiveEquals("meta") || path.name.caseInsensitiveEquals("id") { throw unsupported(path) }
        }
        if let membership, path.name.caseInsensitiveEquals(membership.attribute) {
            throw .badRequest(.invalidFilter, "'\(membership.attribute)' can be filtered by its value (an id) only.")
        }
        let (definition, container, _) = try locate(path)
        let attribute = "\(container)->\(literal(definition.name))"
        if definition.type == .complex {
            // A complex attribute compared as a whole compares its "value" (RFC 7644 §3.4.2.2, e.g. `emails co "x"`).
            guard let sub = path.subAttribute.map({ definition.subAttribute(named: $0) }) ?? definition.subAttribute(named: "value") else {
                throw unsupported(path)
            }
            if definition.multiValued { return .elements(array: attribute, definition: definition, sub: sub) }
            return .scalar(sql: "(\(attribute)->>\(literal(sub.name)))", type: sub.type, caseExact: sub.caseExact, isUUID: false)
        }
        guard path.subAttribute == nil else { throw unsupported(path) }
        if definition.multiValued {
            return .scalar(sql: "(\(attribute)->>0)", type: definition.type, caseExact: definition.caseExact, isUUID: false)
        }
        return .scalar(sql: "(\(container)->>\(literal(definition.name)))", type: definition.type, caseExact: definition.caseExact,
                       isUUID: false)
    }

    private func compare(_ sql: String, type: AttributeDefinition.DataType, caseExact: Bool, isUUID: Bool,
                         _ op: CompareOperator, _ value: FilterValue, path: AttributePath) throws(SCIMError) -> SQL {
        let operand = SQL(unsafeRaw: sql)
        if value == .null {
            switch op {
            case .eq: return "(\(operand) is null)"
            case .ne: return "(\(operand) is not null)"
            default: throw .badRequest(.invalidFilter, "'\(op.rawValue) null' is not a meaningful comparison.")
            }
        }
        let text: String
        switch value {
        case .string(let s): text = s
        case .number(let n): text = n
        case .bool(let b): text = b ? "true" : "false"
        case .null: text = ""
        }
        let sqlOperator: String
        switch op {
        case .eq: sqlOperator = "="
        case .ne: sqlOperator = "<>"
        case .gt: sqlOperator = ">"
        case .ge: sqlOperator = ">="
        case .lt: sqlOperator = "<"
        case .le: sqlOperator = "<="
        case .co, .sw, .ew: sqlOperator = "like"
        }
        func wrapNe(_ condition: SQL) -> SQL {
            op == .ne ? "(\(operand) is null or \(condition))" : condition
        }
        if isUUID {
            guard op == .eq || op == .ne else {
                throw .badRequest(.invalidFilter, "'id' supports only eq and ne.")
            }
            // A value that is not a UUID names no resource; don't let it reach the uuid cast.
            guard ResourceID.isValid(text) else { return op == .eq ? "false" : "true" }
            return "(\(operand) \(unsafeRaw: sqlOperator) \(text)::uuid)"
        }
        switch type {
        case .boolean:
            guard op == .eq || op == .ne else {
                throw .badRequest(.invalidFilter, "'\(path.description.prefix(200))' is a boolean; only eq and ne apply.")
            }
            let flag: Bool
            if text.caseInsensitiveEquals("true") { flag = true } else if text.caseInsensitiveEquals("false") { flag = false } else {
                throw .badRequest(.invalidFilter, "'\(path.description.prefix(200))' is a boolean; compare it with true or false.")
            }
            return wrapNe("((\(operand))::boolean \(unsafeRaw: sqlOperator) \(flag))")
        case .integer, .decimal:
            guard case .number = value, ![.co, .sw, .ew].contains(op) else {
                throw .badRequest(.invalidFilter, "'\(path.description.prefix(200))' is numeric; compare it with a number.")
            }
            return wrapNe("((\(operand))::numeric \(unsafeRaw: sqlOperator) \(text)::numeric)")
        case .dateTime:
            guard ![.co, .sw, .ew].contains(op) else {
                throw .badRequest(.invalidFilter, "'\(path.description.prefix(200))' is a dateTime; co, sw and ew do not apply.")
            }
            guard DateTimeText.isValid(text) else {
                throw .badRequest(.invalidFilter, "'\(text.prefix(100))' is not an RFC 3339 dateTime.")
            }
            return wrapNe("((\(operand))::timestamptz \(unsafeRaw: sqlOperator) \(text)::timestamptz)")
        case .string, .reference, .binary, .complex:
            let left: SQL = caseExact ? operand : "lower(\(operand))"
            switch op {
            case .co, .sw, .ew:
                let escaped = text.likeEscaped
                let pattern = op == .co ? "%\(escaped)%" : (op == .sw ? "\(escaped)%" : "%\(escaped)")
                let right: SQL = caseExact ? "\(pattern)" : "lower(\(pattern))"
                return "(\(left) like \(right) escape '\\')"
            default:
                let right: SQL = caseExact ? "\(text)" : "lower(\(text))"
                return wrapNe("(\(left) \(unsafeRaw: sqlOperator) \(right))")
            }
        }
    }
}

/// A loose RFC 3339 check, so that a bad date is an `invalidFilter` rather than a database error.
enum DateTimeText {
    static func isValid(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count >= 10, bytes.count <= 40 else { return false }
        let digit = { (i: Int) in bytes[i] >= 0x30 && bytes[i] <= 0x39 }
        guard digit(0), digit(1), digit(2), digit(3), bytes[4] == UInt8(ascii: "-"), digit(5), digit(6),
              bytes[7] == UInt8(ascii: "-"), digit(8), digit(9) else { return false }
        return bytes.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ":.-+TZtz ".utf8.contains($0) }
    }
}

extension String {
    var replacingQuotes: String { split(separator: "'", omittingEmptySubsequences: false).joined(separator: "''") }

}
