/// A filter checked against a resource type's schemas (RFC 7644 §3.4.2.2): every path names an
/// attribute that exists, every operator suits the type it compares, every value has that type.
/// A store renders it into its own query language and decides nothing; what cannot be served is
/// refused by `FilterResolver`, as 400 `invalidFilter`.
public indirect enum ResolvedFilter: Sendable {
    case and(ResolvedFilter, ResolvedFilter)
    case or(ResolvedFilter, ResolvedFilter)
    case not(ResolvedFilter)
    /// Every resource, or none (`id eq "garbage"` names no resource).
    case constant(Bool)
    /// The operand has a value (for text, a non-empty one).
    case present(FilterOperand)
    case compare(FilterOperand, CompareOperator, TypedFilterValue)
    /// Some element of a multi-valued complex attribute satisfies the condition, whose operands
    /// are that element's sub-attributes (`.element`).
    case anyElement(ResolvedAttribute, ResolvedFilter)
    /// The resource has members (Group.members) or is a member of a group (User.groups).
    case hasMembership
    /// Its memberships include the resource with this id (a valid UUID).
    case membership(String)
}

/// What a filter term compares.
public enum FilterOperand: Sendable {
    case id
    case created
    case lastModified
    /// A single-valued attribute; for a complex one, its `subAttribute` (named, or `value`).
    case attribute(ResolvedAttribute)
    /// The first value of a multi-valued attribute; for a complex one, its `subAttribute` (sorting).
    case firstValue(ResolvedAttribute)
    /// A sub-attribute of the element `anyElement` tests.
    case element(AttributeDefinition)

    /// The type the operand is compared as.
    public var type: AttributeDefinition.DataType {
        switch self {
        case .id: return .reference
        case .created, .lastModified: return .dateTime
        case .attribute(let a), .firstValue(let a): return (a.subAttribute ?? a.definition).type
        case .element(let sub): return sub.type
        }
    }

    /// Whether text comparisons respect case (RFC 7643 §2.2 caseExact).
    public var caseExact: Bool {
        switch self {
        case .id: return true
        case .created, .lastModified: return false
        case .attribute(let a), .firstValue(let a): return (a.subAttribute ?? a.definition).caseExact
        case .element(let sub): return sub.caseExact
        }
    }
}

/// A comparison value in the type its operand has.
public enum TypedFilterValue: Sendable, Equatable {
    case null
    case text(String)
    case boolean(Bool)
    /// A JSON number, as written.
    case number(String)
    /// An RFC 3339 timestamp.
    case dateTime(String)
    /// A resource id.
    case uuid(String)
}

/// `sortBy` resolved (RFC 7644 §3.4.2.3).
public struct ResolvedSort: Sendable {
    public let key: FilterOperand
    public let descending: Bool
}
