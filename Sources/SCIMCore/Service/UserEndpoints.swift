/// `/Users` (RFC 7644 §3.3 to §3.6) on top of the store.
struct UserEndpoints: ResourceEndpoints {
    let support: EndpointSupport

    func create(_ context: RequestContext) throws(SCIMError) -> HTTPResponse {
        let body = try RequestBody.resource(context.request, schema: support.resourceType.schema.id)
        var attributes = try normalizer.normalize(body)
        // RFC 7643 leaves an absent "active" to the provider: a provisioned user is active, and says so.
        if attributes["active"] == nil { attributes = try normalizer.normalize(attributes.merging("active", .bool(true))) }
        let stored = try context.transaction.insertUser(withDirectory(try UserWrite(attributes: attributes), context))
        return support.response(stored, context, status: 201)
    }

    func get(id: String, _ context: RequestContext) throws(SCIMError) -> HTTPResponse {
        guard let stored = try fetch(id, context, forUpdate: false),
              try support.matchesRequestFilter(id, context, list: { (filter) throws(SCIMError) in
                  try context.transaction.listUsers(filter: filter, window: .index(1, 0), sort: nil)
              })
        else { throw support.notFound(id) }
        if let notModified = support.notModified(stored, context) { return notModified }
        return support.response(stored, context, projection: try support.projection(context))
    }

    func list(_ query: ListQuery, _ context: RequestContext) throws(SCIMError) -> HTTPResponse {
        let (filter, sort) = try support.resolved(query)
        let page = try context.transaction.listUsers(filter: filter, window: query.window, sort: sort,
                                                     fields: FieldSelection(query.projection, support.resourceType, membershipAttribute: "groups"))
        return support.listResponse(page, query, context)
    }

    /// PUT replaces the resource (RFC 7644 §3.5.1). An omitted `active` keeps its value: Okta's PUT
    /// must not deactivate a user by leaving it out.
    func replace(id: String, _ context: RequestContext) throws(SCIMError) -> HTTPResponse {
        let body = try RequestBody.resource(context.request, schema: support.resourceType.schema.id)
        guard let current = try fetch(id, context, forUpdate: true) else { throw support.notFound(id) }
        try support.checkIfMatch(context, current)
        var attributes = try normalizer.normalize(body)
        if attributes["active"] == nil, let active = current.attributes["active"] {
            attributes = try normalizer.normalize(attributes.merging("active", active))
        }
        return try write(id: id, UserWrite(attributes: attributes), current: current, context)
    }

    /// PATCH answers 200 with the full resource (RFC 7644 §3.5.2; what Entra's validator expects).
    func patch(id: String, _ context: RequestContext) throws(SCIMError) -> HTTPResponse {
        let request = try PatchRequest.parse(try RequestBody.json(context.request))
        guard let current = try fetch(id, context, forUpdate: true) else { throw support.notFound(id) }
        try support.checkIfMatch(context, current)
        let attributes = try patchEngine.apply(request, to: current.attributes.removing("groups"))
        return try write(id: id, UserWrite(attributes: attributes), current: current, context)
    }

    func delete(id: String, _ context: RequestContext) throws(SCIMError) -> HTTPResponse {
        if context.request.header("if-match") != nil {
            guard let current = try fetch(id, context, forUpdate: true) else { throw support.notFound(id) }
            try support.checkIfMatch(context, current)
        }
        guard ResourceID.isValid(id), try context.transaction.deleteUser(id: id) else { throw support.notFound(id) }
        return HTTPResponse(status: 204)
    }

    private func write(id: String, _ user: UserWrite, current: StoredResource, _ context: RequestContext) throws(SCIMError) -> HTTPResponse {
        // An update that changes nothing keeps the version, so a replayed PATCH is a true no-op.
        if user.attributes == current.attributes.removing("groups") {
            return support.response(current, context, projection: try support.projection(context))
        }
        guard let stored = try context.transaction.updateUser(id: id, withDirectory(user, context)) else { throw support.notFound(id) }
        return support.response(stored, context, projection: try support.projection(context))
    }

    /// A user write that carries what its application user becomes, so both change in one
    /// statement (deletion is the database's part: a trigger deprovisions).
    private func withDirectory(_ user: UserWrite, _ context: RequestContext) -> UserWrite {
        var write = user
        write.directoryFields = context.directory.fields(of: user.attributes)
        write.requestId = context.request.requestId
        return write
    }

    private func fetch(_ id: String, _ context: RequestContext, forUpdate: Bool) throws(SCIMError) -> StoredResource? {
        guard ResourceID.isValid(id) else { return nil }
        return try context.transaction.fetchUser(id: id, forUpdate: forUpdate)
    }
}

extension JSONObject {
    func merging(_ key: String, _ value: JSONValue) -> JSONObject {
        var copy = self
        copy[key] = value
        return copy
    }

    func removing(_ key: String) -> JSONObject {
        var copy = self
        copy[key] = nil
        return copy
    }
}

