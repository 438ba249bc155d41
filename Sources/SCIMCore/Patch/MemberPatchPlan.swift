/// The membership part of a Group PATCH, separated from the rest so that members change by set
/// operations on their table rather than by rewriting a list (RFC 7644 §3.5.2; docs/identity-providers.md §6).
/// Pure: it reads the request and says what to do, in order.
public struct MemberPatchPlan: Sendable, Equatable {
    public enum Change: Sendable, Equatable {
        case add([String])
        case remove([String])
        case removeAll
    }

    public var changes: [Change]
    /// The operations left for the PATCH engine (attributes other than members).
    public var remaining: [PatchRequest.Operation]

    static let membersDefinition = CoreSchemas.group.attribute(named: "members")!
    /// Member ids one PATCH may name in all. Entra sends at most a few hundred per request
    /// (docs/identity-providers.md §6); more is a client error, refused before any row is touched.
    public static let maxMembers = 10_000

    public init(_ request: PatchRequest) throws(SCIMError) {
        changes = []
        remaining = []
        let normalizer = ResourceNormalizer(CoreSchemas.groupResourceType)
        for operation in request.operations {
            guard let path = operation.path else {
                guard case .object(var object)? = operation.value, let members = object.member(caseInsensitive: "members") else {
                    remaining.append(operation)
                    continue
                }
                object.removeValue(caseInsensitive: "members")
                changes += try Self.changes(operation.op, ids: Self.memberIds(members.value, normalizer))
                if !object.isEmpty {
                    var rest = operation
                    rest.value = .object(object)
                    remaining.append(rest)
                }
                continue
            }
            guard path.attribute.name.caseInsensitiveEquals("members"),
                  path.attribute.schemaURI.map({ $0.caseInsensitiveEquals(CoreSchemas.groupURN) }) ?? true
            else {
                remaining.append(operation)
                continue
            }
            guard path.subAttribute == nil else {
                throw .badRequest(.invalidPath, "Members are added and removed whole; '\(operation.rawPath ?? "")' cannot be changed.")
            }
            if let filter = path.valueFilter {
                guard operation.op == .remove else {
                    throw .badRequest(.invalidPath, "Members can be selected by a filter only to remove them.")
                }
                changes.append(.remove(try Self.memberIds(in: filter)))
            } else if operation.op == .remove && (operation.value == nil || operation.value?.isNull == true) {
                // RFC 7644 §3.5.2.2: remove with path "members" and no value removes every member.
                changes.append(.removeAll)
            } else {
                changes += try Self.changes(operation.op, ids: Self.memberIds(operation.value ?? .null, normalizer))
            }
        }
        let named = changes.reduce(0) { total, change in
            switch change {
            case .add(let ids), .remove(let ids): return total + ids.count
            case .removeAll: return total
            }
        }
        guard named <= Self.maxMembers else {
            throw .badRequest(.tooMany, "A PATCH may name at most \(Self.maxMembers) members; this one names \(named). Send them in several requests.")
        }
    }

    /// Entra's default dialect lists the members to remove in "value": only those go.
    static func changes(_ op: PatchRequest.Op, ids: [String]) -> [Change] {
        switch op {
        case .add: return [.add(ids)]
        case .replace: return [.removeAll, .add(ids)]
        case .remove: return [.remove(ids)]
        }
    }

    /// The ids in a members value: `[{"value": id, "$ref": null}, ...]`, one object, or a bare id.
    static func memberIds(_ value: JSONValue, _ normalizer: ResourceNormalizer) throws(SCIMError) -> [String] {
        guard let normalized = try normalizer.normalizeValue(value, membersDefinition, path: "members") else { return [] }
        var ids: [String] = []
        for element in normalized.arrayValue ?? [] {
            guard let id = element.objectValue?["value"]?.stringValue else {
                throw .badRequest(.invalidValue, "Each member needs a \"value\" with the member's id.")
            }
            ids.append(id)
        }
        return ids
    }

    /// The member ids a filter like `value eq "a" or value eq "b"` selects.
    static func memberIds(in filter: FilterExpression) throws(SCIMError) -> [String] {
        switch filter {
        case .compare(let path, .eq, .string(let id)) where path.name.caseInsensitiveEquals("value") && path.subAttribute == nil:
            return [id]
        case .or(let a, let b):
            return try memberIds(in: a) + memberIds(in: b)
        default:
            throw .badRequest(.invalidFilter, "Members can be selected only by their value: members[value eq \"id\"].")
        }
    }
}

extension PatchRequest.Operation: Equatable {
    public static func == (a: Self, b: Self) -> Bool {
        a.op == b.op && a.path == b.path && a.value == b.value
    }
}
