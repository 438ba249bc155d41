/// `/Groups`. Members live in a join table: PATCH turns member operations into set operations on
/// it (RFC 7644 §3.5.2; docs/identity-providers.md §6), so a one-member change costs the same in any group, and
/// members are read only when the response includes them.
struct GroupEndpoints: ResourceEndpoints {
    let support: EndpointSupport

    func create(_ context: RequestContext) throws(SCIMError) -> HTTPResponse {
        let body = try RequestBody.resource(context.request, schema: support.resourceType.schema.id)
        let attributes = try normalizer.normalize(body)
        let stored = try context.transaction.insertGroup(try GroupWrite(attributes: attributes))
        if let members = attributes["members"] {
            _ = try context.transaction.addMembers(groupId: stored.id, memberIds: MemberPatchPlan.memberIds(members, normalizer))
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

    func list(_ query: ListQuery, _ context: RequestContext) throws(SCIMError) -> HTTPResponse {
        let (filter, sort) = try support.resolved(query)
        let page = try context.transaction.listGroups(filter: filter, window: query.window, sort: sort, includeMembers: !query.projection.excludes("members"))
        return support.listResponse(page, query, context)
    }

    /// PUT replaces the group, its members included (RFC 7644 §3.5.1).
    func replace(id: String, _ context: RequestContext) throws(SCIMError) -> HTTPResponse {
        let body = try RequestBody.resource(context.request, schema: support.resourceType.schema.id)
        let current = try locked(id, context)
        let attributes = try normalizer.normalize(body)
        let group = try GroupWrite(attributes: attributes)
        let members = try attributes["members"].map { (members) throws(SCIMError) in try MemberPatchPlan.memberIds(members, normalizer) } ?? []
        try context.transaction.lockMemberships(groupId: id, memberIds: members, currentMembers: true)
        if group.attributes != current.attributes {
            guard try context.transaction.updateGroup(id: id, group) != nil else { throw support.notFound(id) }
        }
        _ = try context.transaction.removeMembers(groupId: id, memberIds: nil)
        if !members.isEmpty {
            _ = try context.transaction.addMembers(groupId: id, memberIds: members)
        }
        try context.transaction.touchGroup(id: id)
        return try answer(id, context, status: 200, projection: try support.projection(context))
    }

    /// Answers 204, or 200 with the projected group when `attributes`/`excludedAttributes` asks
    /// for it, so a one-member change never ships a large group back.
    func patch(id: String, _ context: RequestContext) throws(SCIMError) -> HTTPResponse {
        let request = try PatchRequest.parse(try RequestBody.json(context.request))
        let current = try locked(id, context)
        let plan = try MemberPatchPlan(request)
        if !plan.changes.isEmpty {
            var ids: [String] = []
            var everyone = false
            for change in plan.changes {
                switch change {
                case .add(let added): ids += added
                case .remove(let removed): ids += removed
                case .removeAll: everyone = true
                }
            }
            try context.transaction.lockMemberships(groupId: id, memberIds: ids, currentMembers: everyone)
        }
        for change in plan.changes {
            switch change {
            case .add(let ids): _ = try context.transaction.addMembers(groupId: id, memberIds: ids)
            case .remove(let ids): _ = try context.transaction.removeMembers(groupId: id, memberIds: ids)
            case .removeAll: _ = try context.transaction.removeMembers(groupId: id, memberIds: nil)
            }
        }
        let attributeOperations = plan.remaining
        let membersChanged = !plan.changes.isEmpty
        var attributes = current.attributes
        if !attributeOperations.isEmpty {
            attributes = try patchEngine.apply(PatchRequest(operations: attributeOperations), to: attributes)
        }
        let group = try GroupWrite(attributes: attributes)
        if group.attributes != current.attributes {
            guard try context.transaction.updateGroup(id: id, group) != nil else { throw support.notFound(id) }
        } else if membersChanged {
            try context.transaction.touchGroup(id: id)
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
}
