/// `/Groups`. Members live in a join table: PATCH turns member operations into set operations on
/// it (RFC 7644 §3.5.2; ENTRA.md §1.7), so a one-member change costs the same in any group, and
/// members are read only when the response includes them.
struct GroupEndpoints {
    let support: EndpointSupport
    let normalizer: ResourceNormalizer
    let patchEngine: PatchEngine

    init(_ resourceType: ResourceTypeDefinition) {
        support = EndpointSupport(resourceType)
        normalizer = ResourceNormalizer(resourceType)
        patchEngine = PatchEngine(resourceType)
    }
    let membersDefinition = CoreSchemas.group.attribute(named: "members")!

    func create(_ context: RequestContext) throws(SCIMError) -> HTTPResponse {
        let body = try RequestBody.object(context.request)
        let attributes = try normalizer.normalize(body)
        let stored = try context.transaction.insertGroup(try GroupWrite(attributes: attributes))
        if let members = attributes["members"] {
            _ = try context.transaction.addMembers(groupId: stored.id, memberIds: memberIds(members))
        }
        return try answer(stored.id, context, status: 201, projection: .all)
    }

    func get(id: String, _ context: RequestContext) throws(SCIMError) -> HTTPResponse {
        let projection = try support.projection(context)
        guard ResourceID.isValid(id),
              let stored = try context.transaction.fetchGroup(id: id, forUpdate: false, includeMembers: !projection.excludes("members")),
              try support.matchesRequestFilter(id, context, list: { (filter) throws(SCIMError) in
                  try context.transaction.listGroups(filter: filter, window: .index(1, 0), sort: nil, includeMembers: false)
              })
        else { throw support.notFound(id) }
        if let notModified = support.notModified(stored, context) { return notModified }
        return support.response(stored, context, projection: projection)
    }

    func list(_ context: RequestContext) throws(SCIMError) -> HTTPResponse {
        try list(ListQuery(request: context.request, maxCount: context.maxListCount), context)
    }

    func search(_ context: RequestContext) throws(SCIMError) -> HTTPResponse {
        try list(EndpointSupport.searchQuery(context), context)
    }

    func list(_ query: ListQuery, _ context: RequestContext) throws(SCIMError) -> HTTPResponse {
        let page = try context.transaction.listGroups(filter: query.filter, window: query.window, sort: query.sort, includeMembers: !query.projection.excludes("members"))
        return support.listResponse(page, query, context)
    }

    /// PUT replaces the group, its members included (RFC 7644 §3.5.1).
    func replace(id: String, _ context: RequestContext) throws(SCIMError) -> HTTPResponse {
        let body = try RequestBody.object(context.request)
        let current = try locked(id, context)
        let attributes = try normalizer.normalize(body)
        let group = try GroupWrite(attributes: attributes)
        if group.attributes != current.attributes {
            guard try context.transaction.updateGroup(id: id, group) != nil else { throw support.notFound(id) }
        }
        _ = try context.transaction.removeMembers(groupId: id, memberIds: nil)
        if let members = attributes["members"] {
            _ = try context.transaction.addMembers(groupId: id, memberIds: memberIds(members))
        }
        _ = try context.transaction.touchGroup(id: id)
        return try answer(id, context, status: 200, projection: try support.projection(context))
    }

    /// Answers 204, or 200 with the projected group when `attributes`/`excludedAttributes` asks
    /// for it, so a one-member change never ships a large group back.
    func patch(id: String, _ context: RequestContext) throws(SCIMError) -> HTTPResponse {
        let request = try PatchRequest.parse(try RequestBody.json(context.request))
        let current = try locked(id, context)
        var attributeOperations: [PatchRequest.Operation] = []
        var membersChanged = false
        for operation in request.operations {
            if let remaining = try applyMemberOperation(operation, groupId: id, context, changed: &membersChanged) {
                attributeOperations.append(remaining)
            }
        }
        var attributes = current.attributes
        if !attributeOperations.isEmpty {
            attributes = try patchEngine.apply(PatchRequest(operations: attributeOperations), to: attributes)
        }
        let group = try GroupWrite(attributes: attributes)
        if group.attributes != current.attributes {
            guard try context.transaction.updateGroup(id: id, group) != nil else { throw support.notFound(id) }
        } else if membersChanged {
            _ = try context.transaction.touchGroup(id: id)
        }
        let wantsBody = context.request.queryValue("attributes") != nil || context.request.queryValue("excludedAttributes") != nil
        guard wantsBody else { return HTTPResponse(status: 204) }
        return try answer(id, context, status: 200, projection: try support.projection(context))
    }

    func delete(id: String, _ context: RequestContext) throws(SCIMError) -> HTTPResponse {
        if context.request.header("if-match") != nil { _ = try locked(id, context) }
        guard ResourceID.isValid(id), try context.transaction.deleteGroup(id: id) else { throw support.notFound(id) }
        return HTTPResponse(status: 204)
    }

    private func locked(_ id: String, _ context: RequestContext) throws(SCIMError) -> StoredResource {
        guard ResourceID.isValid(id), let current = try context.transaction.fetchGroup(id: id, forUpdate: true, includeMembers: false)
        else { throw support.notFound(id) }
        try support.checkIfMatch(context, current)
        return current
    }

    private func answer(_ id: String, _ context: RequestContext, status: Int, projection: Projection) throws(SCIMError) -> HTTPResponse {
        guard let stored = try context.transaction.fetchGroup(id: id, forUpdate: false, includeMembers: !projection.excludes("members"))
        else { throw support.notFound(id) }
        return support.response(stored, context, status: status, projection: projection)
    }

    /// Applies the member part of an operation to the join table. Returns what is left for the
    /// PATCH engine (the operation itself when it does not touch members, or a path-less value
    /// with its "members" key taken out), nil when nothing is left.
    private func applyMemberOperation(_ operation: PatchRequest.Operation, groupId: String, _ context: RequestContext,
                                      changed: inout Bool) throws(SCIMError) -> PatchRequest.Operation? {
        guard let path = operation.path else {
            guard case .object(var object)? = operation.value, let members = object.member(caseInsensitive: "members") else {
                return operation
            }
            object.removeValue(caseInsensitive: "members")
            try changeMembers(operation.op, ids: memberIds(members.value), groupId: groupId, context)
            changed = true
            if object.isEmpty { return nil }
            var rest = operation
            rest.value = .object(object)
            return rest
        }
        guard path.attribute.name.caseInsensitiveEquals("members"),
              path.attribute.schemaURI.map({ $0.caseInsensitiveEquals(CoreSchemas.groupURN) }) ?? true
        else { return operation }
        guard path.subAttribute == nil else {
            throw .badRequest(.invalidPath, "Members are added and removed whole; '\(operation.rawPath ?? "")' cannot be changed.")
        }
        changed = true
        if let filter = path.valueFilter {
            guard operation.op == .remove else {
                throw .badRequest(.invalidPath, "Members can be selected by a filter only to remove them.")
            }
            _ = try context.transaction.removeMembers(groupId: groupId, memberIds: try Self.memberIds(in: filter))
            return nil
        }
        if operation.op == .remove && (operation.value == nil || operation.value?.isNull == true) {
            // RFC 7644 §3.5.2.2: remove with path "members" and no value removes every member.
            _ = try context.transaction.removeMembers(groupId: groupId, memberIds: nil)
            return nil
        }
        try changeMembers(operation.op, ids: memberIds(operation.value ?? .null), groupId: groupId, context)
        return nil
    }

    private func changeMembers(_ op: PatchRequest.Op, ids: [String], groupId: String, _ context: RequestContext) throws(SCIMError) {
        switch op {
        case .add:
            _ = try context.transaction.addMembers(groupId: groupId, memberIds: ids)
        case .replace:
            _ = try context.transaction.removeMembers(groupId: groupId, memberIds: nil)
            _ = try context.transaction.addMembers(groupId: groupId, memberIds: ids)
        case .remove:
            // Entra's default dialect lists the members to remove in "value": only those go.
            _ = try context.transaction.removeMembers(groupId: groupId, memberIds: ids)
        }
    }

    /// The ids in a members value: `[{"value": id, "$ref": null}, ...]`, one object, or a bare id.
    private func memberIds(_ value: JSONValue) throws(SCIMError) -> [String] {
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
