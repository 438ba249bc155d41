/// `[URI ":"] ATTRNAME *1subAttr` (RFC 7644 §3.4.2.2 and §3.10). The URI is kept as written; callers
/// resolve it against the resource type's schemas, case-insensitively.
public struct AttributePath: Sendable, Equatable, CustomStringConvertible {
    public var schemaURI: String?
    public var name: String
    public var subAttribute: String?

    public init(schemaURI: String? = nil, name: String, subAttribute: String? = nil) {
        self.schemaURI = schemaURI
        self.name = name
        self.subAttribute = subAttribute
    }

    public var description: String {
        (schemaURI.map { "\($0):" } ?? "") + name + (subAttribute.map { ".\($0)" } ?? "")
    }
}

public enum CompareOperator: String, Sendable, CaseIterable {
    case eq, ne, co, sw, ew, gt, ge, lt, le
}

public enum FilterValue: Sendable, Equatable {
    case string(String)
    case number(String)
    case bool(Bool)
    case null
}

/// A parsed filter (RFC 7644 §3.4.2.2).
public indirect enum FilterExpression: Sendable, Equatable {
    case compare(AttributePath, CompareOperator, FilterValue)
    case present(AttributePath)
    case and(FilterExpression, FilterExpression)
    case or(FilterExpression, FilterExpression)
    case not(FilterExpression)
    /// `attr[filter]`: some element of the multi-valued `attr` satisfies the inner filter, whose
    /// paths are sub-attributes of `attr`.
    case valuePath(AttributePath, FilterExpression)
}

/// A PATCH `path` (RFC 7644 §3.5.2): `attrPath` or `valuePath [subAttr]`.
public struct PatchPath: Sendable, Equatable {
    public var attribute: AttributePath
    public var valueFilter: FilterExpression?
    /// The sub-attribute after a value filter (`emails[type eq "work"].value`).
    public var subAttribute: String? {
        valueFilter == nil ? attribute.subAttribute : trailingSubAttribute
    }
    var trailingSubAttribute: String?

    public init(attribute: AttributePath, valueFilter: FilterExpression? = nil, subAttribute: String? = nil) {
        self.attribute = attribute
        self.valueFilter = valueFilter
        self.trailingSubAttribute = valueFilter == nil ? nil : subAttribute
        if valueFilter == nil, let subAttribute { self.attribute.subAttribute = subAttribute }
    }
}
