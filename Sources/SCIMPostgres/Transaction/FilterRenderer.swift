import SCIMCore

/// Renders a resolved filter (`FilterResolver` decided it can be served) as a SQL condition on a
/// resource row `r`. Attribute names, URNs and values all become binds; the only text spliced in
/// is the literals written here. Where the table has search columns, a condition on them that every
/// match satisfies goes first, so that their indexes narrow the rows the exact condition reads.
struct FilterRenderer {
    /// Core attributes kept in a column of their own, by lower-cased name.
    let columns: [String: SQL]
    /// The membership relation: the condition joining a membership row `m` to `r`, and the
    /// column that holds the other side's id.
    let membershipJoin: SQL
    let membershipValue: SQL
    /// Whether the table has `search_keys` and `search_text` (scim.search_keys in deploy/sql).
    let hasSearchColumns: Bool
    /// The column attributes a unique index keeps to one row per tenant, ignoring case.
    let uniqueColumns: Set<String>

    static let users = FilterRenderer(
        columns: ["username": "r.user_name", "externalid": "r.external_id", "displayname": "r.display_name", "active": "r.active"],
        membershipJoin: "m.tenant_id = r.tenant_id and m.member_id = r.id", membershipValue: "m.group_id", hasSearchColumns: true,
        uniqueColumns: ["username"])

    static let groups = FilterRenderer(
        columns: ["displayname": "r.display_name", "externalid": "r.external_id"],
        membershipJoin: "m.tenant_id = r.tenant_id and m.group_id = r.id", membershipValue: "m.member_id", hasSearchColumns: false,
        uniqueColumns: ["displayname"])

    func condition(_ filter: ResolvedFilter) -> SQL {
        let exact = render(filter)
        guard hasSearchColumns, let prefilter = prefilter(filter) else { return exact }
        return "(\(prefilter) and \(exact))"
    }

    /// Whether no more than one resource can match: an id, or a value a unique index holds once
    /// (Entra's `userName eq "..."` before every create). Such a page needs no sort and no count.
    func matchesAtMostOne(_ filter: ResolvedFilter) -> Bool {
        switch filter {
        case .and(let a, let b): return matchesAtMostOne(a) || matchesAtMostOne(b)
        case .compare(.id, .eq, .uuid): return true
        case .compare(.attribute(let attribute), .eq, .text):
            return column(attribute) != nil && uniqueColumns.contains(attribute.definition.name.lowercased()) && !attribute.definition.caseExact
        case .constant(false): return true
        default: return false
        }
    }

    /// The column an attribute is kept in, if it has one.
    func column(_ attribute: ResolvedAttribute) -> SQL? {
        attribute.isCore && attribute.subAttribute == nil ? columns[attribute.definition.name.lowercased()] : nil
    }

    /// `order by` for sortBy; resources without a value sort last, ties by id.
    func orderBy(_ sort: ResolvedSort?) -> SQL {
        guard let sort else { return "r.id" }
        let value = operand(sort.key)
        let key: SQL = sort.key.type == .string && !sort.key.caseExact ? "lower(\(value))" : value
        return sort.descending ? "\(key) desc nulls last, r.id" : "\(key) asc nulls last, r.id"
    }

    private func render(_ filter: ResolvedFilter) -> SQL {
        switch filter {
        case .and(let a, let b): return "(\(render(a)) and \(render(b)))"
        case .or(let a, let b): return "(\(render(a)) or \(render(b)))"
        case .not(let a): return "(not coalesce(\(render(a)), false))"
        case .constant(let value): return value ? "true" : "false"
        case .hasMembership: return "exists (select 1 from scim.group_members m where \(membershipJoin))"
        case .membership(let id):
            return "exists (select 1 from scim.group_members m where \(membershipJoin) and \(membershipValue) = \(id)::uuid)"
        case .anyElement(let attribute, let condition):
            return "exists (select 1 from jsonb_array_elements(coalesce(\(json(attribute)), '[]'::jsonb)) as e(v) where \(render(condition)))"
        case .present(let operand):
            let value = self.operand(operand)
            return operand.type == .string ? "(\(value) is not null and \(value) <> '')" : "(\(value) is not null)"
        case .compare(let operand, let op, let value):
            return compare(self.operand(operand), operand, op, value)
        }
    }

    private func operand(_ operand: FilterOperand) -> SQL {
        switch operand {
        case .id: return "r.id"
        case .created: return "r.created_at"
        case .lastModified: return "r.updated_at"
        case .element(let sub): return "(e.v->>\(sub.name)::text)"
        case .attribute(let attribute):
            if let column = column(attribute) { return column }
            if let sub = attribute.subAttribute { return "(\(json(attribute))->>\(sub.name)::text)" }
            return "(\(container(attribute))->>\(attribute.definition.name)::text)"
        case .firstValue(let attribute):
            if let sub = attribute.subAttribute { return "(\(json(attribute))->0->>\(sub.name)::text)" }
            return "(\(json(attribute))->>0)"
        }
    }

    /// The JSON that holds the attribute's value: the document, or the extension's object in it.
    private func container(_ attribute: ResolvedAttribute) -> SQL {
        guard let urn = attribute.extensionURN else { return "r.attributes" }
        return "(r.attributes->\(urn)::text)"
    }

    /// The attribute's JSON value (an array, for a multi-valued one).
    private func json(_ attribute: ResolvedAttribute) -> SQL {
        "(\(container(attribute))->\(attribute.definition.name)::text)"
    }

    private func compare(_ value: SQL, _ operand: FilterOperand, _ op: CompareOperator, _ expected: TypedFilterValue) -> SQL {
        let comparison = Self.comparison(op)
        // `ne` also matches resources without a value (RFC 7644 §3.4.2.2 compares what is there).
        func orMissing(_ condition: SQL) -> SQL { op == .ne ? "(\(value) is null or \(condition))" : condition }
        switch expected {
        case .null:
            return op == .eq ? "(\(value) is null)" : "(\(value) is not null)"
        case .uuid(let id):
            return "(\(value) \(comparison) \(id)::uuid)"
        case .boolean(let flag):
            return orMissing("((\(value))::boolean \(comparison) \(flag))")
        case .number(let number):
            return orMissing("((\(value))::numeric \(comparison) \(number)::numeric)")
        case .dateTime(let text):
            return orMissing("((\(value))::timestamptz \(comparison) \(text)::timestamptz)")
        case .text(let text):
            let caseExact = operand.caseExact
            let left: SQL = caseExact ? value : "lower(\(value))"
            switch op {
            case .co, .sw, .ew:
                let escaped = text.likeEscaped
                let pattern = op == .co ? "%\(escaped)%" : (op == .sw ? "\(escaped)%" : "%\(escaped)")
                let right: SQL = caseExact ? "\(pattern)" : "lower(\(pattern))"
                return "(\(left) like \(right) escape '\\')"
            default:
                let right: SQL = caseExact ? "\(text)" : "lower(\(text))"
                return orMissing("(\(left) \(comparison) \(right))")
            }
        }
    }

    static func comparison(_ op: CompareOperator) -> SQL {
        switch op {
        case .eq: return "="
        case .ne: return "<>"
        case .gt: return ">"
        case .ge: return ">="
        case .lt: return "<"
        case .le: return "<="
        case .co, .sw, .ew: return "like"
        }
    }
}
