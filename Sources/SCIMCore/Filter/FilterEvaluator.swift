/// Evaluates a filter against one element of a multi-valued attribute, in memory. Used by PATCH
/// value-selection filters (`emails[type eq "work"]`); list filters run in SQL instead.
public struct FilterEvaluator: Sendable {
    /// The multi-valued attribute whose elements are tested; its sub-attributes give types and caseExact.
    public let attribute: AttributeDefinition

    public init(attribute: AttributeDefinition) {
        self.attribute = attribute
    }

    public func matches(_ expression: FilterExpression, _ element: JSONValue) -> Bool {
        switch expression {
        case .and(let a, let b): return matches(a, element) && matches(b, element)
        case .or(let a, let b): return matches(a, element) || matches(b, element)
        case .not(let a): return !matches(a, element)
        case .valuePath: return false
        case .present(let path):
            guard let value = lookup(path, in: element) else { return false }
            return !value.isNull
        case .compare(let path, let op, let expected):
            let definition = subDefinition(path)
            guard let actual = lookup(path, in: element) else {
                return op == .ne ? expected != .null : (op == .eq && expected == .null)
            }
            return compare(actual, op, expected, definition)
        }
    }

    private func subDefinition(_ path: AttributePath) -> AttributeDefinition? {
        attribute.subAttribute(named: path.name)
    }

    private func lookup(_ path: AttributePath, in element: JSONValue) -> JSONValue? {
        switch element {
        case .object(let object):
            // A sub-attribute filter inside brackets names the sub-attribute directly ("type eq ...").
            return object.member(caseInsensitive: path.name)?.value
        default:
            // A multi-valued attribute of simple values: the element is its own "value".
            return path.name.caseInsensitiveEquals("value") ? element : nil
        }
    }

    private func compare(_ actual: JSONValue, _ op: CompareOperator, _ expected: FilterValue,
                         _ definition: AttributeDefinition?) -> Bool {
        if definition?.type == .boolean || actual.boolValue != nil {
            let left = actual.boolValue
            var right: Bool?
            switch expected {
            case .bool(let b): right = b
            // Entra's role mapping filters on `primary eq "True"` (docs/identity-providers.md quirk 5).
            case .string(let s): right = s.caseInsensitiveEquals("true") ? true : (s.caseInsensitiveEquals("false") ? false : nil)
            default: right = nil
            }
            switch op {
            case .eq: return left != nil && left == right
            case .ne: return left != right
            default: return false
            }
        }
        if case .number(let a) = actual, case .number(let b) = expected, let x = Double(a), let y = Double(b) {
            switch op {
            case .eq: return x == y
            case .ne: return x != y
            case .gt: return x > y
            case .ge: return x >= y
            case .lt: return x < y
            case .le: return x <= y
            default: return false
            }
        }
        guard let left = actual.stringValue ?? actual.numberText else { return op == .ne }
        let right: String
        switch expected {
        case .string(let s): right = s
        case .number(let n): right = n
        case .bool(let b): right = b ? "true" : "false"
        case .null: return op == .ne
        }
        let caseExact = definition?.caseExact ?? false
        let l = caseExact ? left : left.lowercased()
        let r = caseExact ? right : right.lowercased()
        switch op {
        case .eq: return l == r
        case .ne: return l != r
        case .co: return l.contains(r)
        case .sw: return l.hasPrefix(r)
        case .ew: return l.hasSuffix(r)
        case .gt: return l > r
        case .ge: return l >= r
        case .lt: return l < r
        case .le: return l <= r
        }
    }
}

extension JSONValue {
    var numberText: String? {
        if case .number(let n) = self { return n }
        return nil
    }
}
