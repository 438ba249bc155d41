/// `/Users` (RFC 7644 §3.3 to §3.6) on top of the store.
struct UserEndpoints {
    let resourceType = CoreSchemas.userResourceType
    let normalizer = ResourceNormalizer(CoreSchemas.userResourceType)
    let renderer = ResourceRenderer(CoreSchemas.userResourceType)
    let patchEngine = PatchEngine(CoreSchemas.userResourceType)

    func create(_ context: RequestContext) throws(SCIMError) -> HTTPResponse {
        let body = try RequestBody.object(context.request)
        let user = try UserWrite(attributes: normalizer.normalize(body))
        let stored = try context.transaction.insertUser(user)
        let location = renderer.location(baseURL: context.baseURL, id: stored.id)
        return .json(201, .object(renderer.render(stored, baseURL: context.baseURL)),
                     headers: [("Location", location), ("ETag", ResourceRenderer.etag(version: stored.version))])
    }

    func get(id: String, _ context: RequestContext) throws(SCIMError) -> HTTPResponse {
        guard let stored = try fetch(id, context, forUpdate: false) else { throw notFound(id) }
        let etag = ResourceRenderer.etag(version: stored.version)
        if let ifNoneMatch = context.request.header("if-none-match"), ETagList(ifNoneMatch).matches(version: stored.version) {
            return HTTPResponse(status: 304, headers: [("ETag", etag)])
        }
        let projection = try Projection(attributes: context.request.queryValue("attributes"),
                                        excludedAttributes: context.request.queryValue("excludedAttributes"))
        return render(stored, context, projection: projection)
    }

    func list(_ context: RequestContext) throws(SCIMError) -> HTTPResponse {
        try list(ListQuery(request: context.request, maxCount: context.maxListCount), context)
    }

    /// `POST /Users/.search` (RFC 7644 §3.4.3): the query travels in a SearchRequest body.
    func search(_ context: RequestContext) throws(SCIMError) -> HTTPResponse {
        let body = try RequestBody.object(context.request)
        var request = context.request
        request.query = []
        for name in ["filter", "startIndex", "count"] {
            guard let value = body.member(caseInsensitive: name)?.value else { continue }
            request.query.append((name, value.stringValue ?? value.numberText ?? ""))
        }
        for name in ["attributes", "excludedAttributes"] {
            guard let value = body.member(caseInsensitive: name)?.value else { continue }
            let items = value.arrayValue?.compactMap(\.stringValue) ?? value.stringValue.map { [$0] } ?? []
            request.query.append((name, items.joined(separator: ",")))
        }
        return try list(ListQuery(request: request, maxCount: context.maxListCount), context)
    }

    private func list(_ query: ListQuery, _ context: RequestContext) throws(SCIMError) -> HTTPResponse {
        let page = try context.transaction.listUsers(filter: query.filter, startIndex: query.startIndex, count: query.count)
        let resources = page.resources.map { stored in
            JSONValue.object(query.projection.apply(to: renderer.render(stored, baseURL: context.baseURL), resourceType: resourceType))
        }
        let response = JSONObject([
            ("schemas", .array([.string(CoreSchemas.listResponseURN)])),
            ("totalResults", .integer(page.totalResults)),
            ("startIndex", .integer(query.startIndex)),
            ("itemsPerPage", .integer(resources.count)),
            ("Resources", .array(resources)),
        ])
        return .json(200, .object(response))
    }

    /// PUT replaces the resource (RFC 7644 §3.5.1). An omitted `active` keeps its value: Okta's PUT
    /// must not deactivate a user by leaving it out.
    func replace(id: String, _ context: RequestContext) throws(SCIMError) -> HTTPResponse {
        let body = try RequestBody.object(context.request)
        guard let current = try fetch(id, context, forUpdate: true) else { throw notFound(id) }
        try checkIfMatch(context, current)
        var attributes = try normalizer.normalize(body)
        if attributes["active"] == nil, let active = current.attributes["active"] {
            attributes = try normalizer.normalize(attributes.merging("active", active))
        }
        return try write(id: id, UserWrite(attributes: attributes), current: current, context)
    }

    /// PATCH answers 200 with the full resource (RFC 7644 §3.5.2; what Entra's validator expects).
    func patch(id: String, _ context: RequestContext) throws(SCIMError) -> HTTPResponse {
        let body = try RequestBody.json(context.request)
        let request = try PatchRequest.parse(body)
        guard let current = try fetch(id, context, forUpdate: true) else { throw notFound(id) }
        try checkIfMatch(context, current)
        let attributes = try patchEngine.apply(request, to: current.attributes)
        return try write(id: id, UserWrite(attributes: attributes), current: current, context)
    }

    func delete(id: String, _ context: RequestContext) throws(SCIMError) -> HTTPResponse {
        if context.request.header("if-match") != nil {
            guard let current = try fetch(id, context, forUpdate: true) else { throw notFound(id) }
            try checkIfMatch(context, current)
        }
        guard ResourceID.isValid(id), try context.transaction.deleteUser(id: id) else { throw notFound(id) }
        return HTTPResponse(status: 204)
    }

    private func write(id: String, _ user: UserWrite, current: StoredResource, _ context: RequestContext) throws(SCIMError) -> HTTPResponse {
        // An update that changes nothing keeps the version, so a replayed PATCH is a true no-op.
        if user.attributes == current.attributes {
            return render(current, context, projection: .all)
        }
        guard let stored = try context.transaction.updateUser(id: id, user) else { throw notFound(id) }
        return render(stored, context, projection: .all)
    }

    private func render(_ stored: StoredResource, _ context: RequestContext, projection: Projection) -> HTTPResponse {
        let object = projection.apply(to: renderer.render(stored, baseURL: context.baseURL), resourceType: resourceType)
        return .json(200, .object(object), headers: [
            ("Location", renderer.location(baseURL: context.baseURL, id: stored.id)),
            ("ETag", ResourceRenderer.etag(version: stored.version)),
        ])
    }

    private func fetch(_ id: String, _ context: RequestContext, forUpdate: Bool) throws(SCIMError) -> StoredResource? {
        guard ResourceID.isValid(id) else { return nil }
        return try context.transaction.fetchUser(id: id, forUpdate: forUpdate)
    }

    private func checkIfMatch(_ context: RequestContext, _ current: StoredResource) throws(SCIMError) {
        guard let ifMatch = context.request.header("if-match") else { return }
        guard ETagList(ifMatch).matches(version: current.version) else {
            throw .preconditionFailed("The resource has changed: its version is \(ResourceRenderer.etag(version: current.version)), "
                                      + "If-Match asked for \(ifMatch.prefix(100)).")
        }
    }

    private func notFound(_ id: String) -> SCIMError {
        .notFound("User \(id.prefix(100)) not found.")
    }
}

extension JSONObject {
    func merging(_ key: String, _ value: JSONValue) -> JSONObject {
        var copy = self
        copy[key] = value
        return copy
    }
}

/// Resource ids are UUIDs we assign; anything else cannot name a resource (and never reaches SQL).
public enum ResourceID {
    public static func isValid(_ id: String) -> Bool {
        let bytes = Array(id.utf8)
        guard bytes.count == 36 else { return false }
        for (i, byte) in bytes.enumerated() {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                if byte != UInt8(ascii: "-") { return false }
            } else if !((byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66) || (byte >= 0x41 && byte <= 0x46)) {
                return false
            }
        }
        return true
    }
}

/// An `If-Match` / `If-None-Match` header value: `*` or a list of entity tags.
struct ETagList {
    let raw: String

    init(_ raw: String) { self.raw = raw }

    func matches(version: Int) -> Bool {
        for item in raw.split(separator: ",") {
            var tag = item.trimmingSpacesSubstring
            if tag == "*" { return true }
            if tag.hasPrefix("W/") { tag = tag.dropFirst(2) }
            if tag.hasPrefix("\"") && tag.hasSuffix("\"") && tag.count >= 2 { tag = tag.dropFirst().dropLast() }
            if tag == Substring(String(version)) { return true }
        }
        return false
    }
}

enum RequestBody {
    static func json(_ request: HTTPRequest) throws(SCIMError) -> JSONValue {
        guard !request.body.isEmpty else { throw .badRequest(.invalidSyntax, "The request has no body; a JSON object was expected.") }
        do {
            return try JSONParser.parse(request.body)
        } catch {
            throw .badRequest(.invalidSyntax, "The request body is not valid JSON: \(error.description).")
        }
    }

    static func object(_ request: HTTPRequest) throws(SCIMError) -> JSONObject {
        let value = try json(request)
        guard case .object(let object) = value else {
            throw .badRequest(.invalidSyntax, "The request body must be a JSON object, got \(value.typeName).")
        }
        return object
    }
}
