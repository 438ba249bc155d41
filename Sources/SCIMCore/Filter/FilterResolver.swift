/// Checks a parsed filter (and `sortBy`) against a resource type's schemas and types its values:
/// the one place that decides whether a filter can be served. Unknown attributes, operators that
/// do not suit a type, values of the wrong type and malformed dateTimes are 400 `invalidFilter`.
public struct FilterResolver: Sendable {
    public let resourceType: ResourceTypeDefinition

    public init(_ resourceType: ResourceTypeDefinition) {
        self.resourceType = resourceType
    }

    /// The attribute answered by the membership relation rather than the resource's own data:
    /// a group's `members`, a user's `groups` (RFC 7643 §4.1.2, §4.2).
    var membershipAttribute: String? {
        switch resourceType.name {
        case "Group": return "members"
        case "User": return "groups"
        default: return nil
        }
    }

    public func resolve(_ expression: FilterExpression) throws(SCIMError) -> ResolvedFilter {
        try resolve(expression, element: nil)
    }

    public func resolve(_ sort: SortOrder) throws(SCIMError) -> ResolvedSort {
        let key: FilterOperand
        switch try operand(sort.attribute, element: nil) {
        case .single(let operand): key = operand
        case .elements(let attribute): key = .firstValue(attribute)
        }
        return ResolvedSort(key: key, descending: sort.descending)
    }

    /// A path's operand: one value, or the elements of a multi-valued complex attribute (compared
    /// by their `subAttribute`).
    enum Operand {
        case single(FilterOperand)
        case elements(ResolvedAttribute)
    }

    /// `element` is set inside a value path: names there are sub-attributes of that attribute.
    private func resolve(_ expression: FilterExpression, element: AttributeDefinition?) throws(SCIMError) -> ResolvedFilter {
        switch expression {
        case .and(let a, let b):
            return .and(try resolve(a, element: element), try resolve(b, element: element))
        case .or(let a, let b):
            return .or(try resolve(a, element: element), try resolve(b, element: element))
        case .not(let a):
            return .not(try resolve(a, element: element))
        case .valuePath(let path, let inner):
            guard element == nil else { throw .badRequest(.invalidFilter, "Value filters cannot be nested.") }
            let attribute = try self.attribute(path)
            guard attribute.definition.multiValued, attribute.definition.type == .complex, path.subAttribute == nil else {
                throw .badRequest(.invalidFilter, "'\(path.description.prefix(200))[...]' needs a multi-valued complex attribute.")
            }
            return .anyElement(attribute, try resolve(inner, element: attribute.definition))
        case .present(let path) where element == nil && isMembership(path):
            return .hasMembership
        case .compare(let path, let op, let value) where element == nil && isMembership(path):
            guard op == .eq || op == .ne, case .string(let id) = value else {
                throw .badRequest(.invalidFilter, "'\(path.description.prefix(100))' can be compared only with eq or ne and an id.")
            }
            guard ResourceID.isValid(id) else { return .constant(op == .ne) }
            return op == .eq ? .membership(id) : .not(.membership(id))
        case .present(let path):
            switch try operand(path, element: element) {
            case .single(let operand): return .present(operand)
            case .elements(let attribute): return .anyElement(attribute, .present(.element(attribute.subAttribute!)))
            }
        case .compare(let path, let op, let value):
            switch try operand(path, element: element) {
            case .single(let operand): return try compare(operand, op, value, path)
            case .elements(let attribute):
                return .anyElement(attribute, try compare(.element(attribute.subAttribute!), op, value, path))
            }
        }
    }

    private func isMembership(_ path: AttributePath) -> Bool {
        guard let membershipAttribute, path.name.caseInsensitiveEquals(membershipAttribute) else { return false }
        if let uri = path.schemaURI, !uri.caseInsensitiveEquals(resourceType.schema.id) { return false }
        return path.subAttribute == nil || path.subAttribute!.caseInsensitiveEquals("value")
    }

    private func unsupported(_ path: AttributePath) -> SCIMError {
        .badRequest(.invalidFilter, "Filtering on '\(path.description.prefix(200))' is not supported: no such attribute.")
    }

    private func attribute(_ path: AttributePath) throws(SCIMError) -> ResolvedAttribute {
        switch resourceType.resolve(path) {
        case .success(let attribute): return attribute
        case .failure(.unknownSchema(let uri)): throw .badRequest(.invalidFilter, "Unknown schema '\(uri.prefix(200))' in the filter.")
        case .failure: throw unsupported(path)
        }
    }

    private func operand(_ path: AttributePath, element: AttributeDefinition?) throws(SCIMError) -> Operand {
        if let element {
            guard path.schemaURI == nil, path.subAttribute == nil, let sub = element.subAttribute(named: path.name) else {
                throw .badRequest(.invalidFilter, "'\(path.description.prefix(200))' is not a sub-attribute of '\(element.name)'.")
            }
            return .single(.element(sub))
        }
        if path.schemaURI == nil || path.schemaURI!.caseInsensitiveEquals(resourceType.schema.id) {
            switch (path.name + (path.subAttribute.map { ".\($0)" } ?? "")).lowercased() {
            case "id": return .single(.id)
            case "meta.created": return .single(.created)
            case "meta.lastmodified": return .single(.lastModified)
            case _ where path.name.caseInsensitiveEquals("meta") || path.name.caseInsensitiveEquals("id"): throw unsupported(path)
            default: break
            }
        }
        if let membershipAttribute, path.name.caseInsensitiveEquals(membershipAttribute) {
            throw .badRequest(.invalidFilter, "'\(membershipAttribute)' can be filtered by its value (an id) only.")
        }
        let attribute = try self.attribute(path)
        let definition = attribute.definition
        if definition.type == .complex {
            // A complex attribute compared as a whole compares its "value" (RFC 7644 §3.4.2.2, e.g. `emails co "x"`).
            guard let sub = attribute.subAttribute ?? definition.subAttribute(named: "value") else { throw unsupported(path) }
            let compared = ResolvedAttribute(schema: attribute.schema, definition: definition, subAttribute: sub, isCore: attribute.isCore)
            return definition.multiValued ? .elements(compared) : .single(.attribute(compared))
        }
        return .single(definition.multiValued ? .firstValue(attribute) : .attribute(attribute))
    }

    private func compare(_ operand: FilterOperand, _ op: CompareOperator, _ value: FilterValue,
                         _ path: AttributePath) throws(SCIMError) -> ResolvedFilter {
        let named = "'\(path.description.prefix(200))'"
        if value == .null {
            guard op == .eq || op == .ne else { throw .badRequest(.invalidFilter, "'\(op.rawValue) null' is not a meaningful comparison.") }
            return .compare(operand, op, .null)
        }
        let text: String
        switch value {
        case .string(let s): text = s
        case .number(let n): text = n
        case .bool(let b): text = b ? "true" : "false"
        case .null: text = ""
        }
        let substring = [.co, .sw, .ew].contains(op)
        if case .id = operand {
            guard op == .eq || op == .ne else { throw .badRequest(.invalidFilter, "'id' supports only eq and ne.") }
            // A value that is not a UUID names no resource.
            guard ResourceID.isValid(text) else { return .constant(op == .ne) }
            return .compare(operand, op, .uuid(text))
        }
        switch operand.type {
        case .boolean:
            guard op == .eq || op == .ne else { throw .badRequest(.invalidFilter, "\(named) is a boolean; only eq and ne apply.") }
            // Entra sends `active eq "True"` (docs/identity-providers.md quirk 5).
            if text.caseInsensitiveEquals("true") { return .compare(operand, op, .boolean(true)) }
            if text.caseInsensitiveEquals("false") { return .compare(operand, op, .boolean(false)) }
            throw .badRequest(.invalidFilter, "\(named) is a boolean; compare it with true or false.")
        case .integer, .decimal:
            guard case .number(let number) = value, !substring else {
                throw .badRequest(.invalidFilter, "\(named) is numeric; compare it with a number.")
            }
            return .compare(operand, op, .number(number))
        case .dateTime:
            guard !substring else { throw .badRequest(.invalidFilter, "\(named) is a dateTime; co, sw and ew do not apply.") }
            guard DateTimeText.isValid(text) else { throw .badRequest(.invalidFilter, "'\(text.prefix(100))' is not an RFC 3339 dateTime.") }
            return .compare(operand, op, .dateTime(text))
        case .string, .reference, .binary, .complex:
            return .compare(operand, op, .text(text))
        }
    }
}

/// A loose RFC 3339 check, so that a bad date is an `invalidFilter` rather than a database error.
public enum DateTimeText {
    public static func isValid(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count >= 10, bytes.count <= 40 else { return false }
        let digit = { (i: Int) in bytes[i] >= 0x30 && bytes[i] <= 0x39 }
        guard digit(0), digit(1), digit(2), digit(3), bytes[4] == UInt8(ascii: "-"), digit(5), digit(6),
              bytes[7] == UInt8(ascii: "-"), digit(8), digit(9) else { return false }
        return bytes.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ":.-+TZtz ".utf8.contains($0) }
    }
}
