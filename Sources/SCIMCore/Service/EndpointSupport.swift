/// `/Users` and `/Groups`: each made of the support for its resource type.
protocol ResourceEndpoints {
    init(support: EndpointSupport)
    var support: EndpointSupport { get }
    func create(_ context: RequestContext) throws(SCIMError) -> HTTPResponse
    func get(id: String, _ context: RequestContext) throws(SCIMError) -> HTTPResponse
    func list(_ query: ListQuery, _ context: RequestContext) throws(SCIMError) -> HTTPResponse
    func replace(id: String, _ context: RequestContext) throws(SCIMError) -> HTTPResponse
    func patch(id: String, _ context: RequestContext) throws(SCIMError) -> HTTPResponse
    func delete(id: String, _ context: RequestContext) throws(SCIMError) -> HTTPResponse
}

extension ResourceEndpoints {
    init(_ resourceType: ResourceTypeDefinition) { self.init(support: EndpointSupport(resourceType)) }
    var normalizer: ResourceNormalizer { support.normalizer }
    var patchEngine: PatchEngine { support.patchEngine }

    /// The collection (`/Users`) or one member (`/Users/{id}`), by method.
    func serve(id: String?, _ context: RequestContext) throws(SCIMError) -> HTTPResponse {
        let path = support.resourceType.endpoint
        guard let id else {
            try context.request.requireMethod(in: "GET, POST", on: path)
            return context.request.method.uppercased() == "GET"
                ? try list(ListQuery(request: context.request, maxCount: context.maxListCount), context) : try create(context)
        }
        try context.request.requireMethod(in: "GET, PUT, PATCH, DELETE", on: path + "/{id}")
        switch context.request.method.uppercased() {
        case "GET": return try get(id: id, context)
        case "PUT": return try replace(id: id, context)
        case "PATCH": return try patch(id: id, context)
        default: return try delete(id: id, context)
        }
    }

    /// `POST /Users/.search` (RFC 7644 §3.4.3): the query travels in a SearchRequest body.
    func search(_ context: RequestContext) throws(SCIMError) -> HTTPResponse {
        try context.request.requireMethod(in: "POST", on: support.resourceType.endpoint + "/.search")
        return try list(EndpointSupport.searchQuery(context), context)
    }
}

/// What the `/Users` and `/Groups` endpoints share: rendering, ETag checks, list responses.
struct EndpointSupport {
    let resourceType: ResourceTypeDefinition
    let renderer: ResourceRenderer
    let normalizer: ResourceNormalizer
    let patchEngine: PatchEngine

    init(_ resourceType: ResourceTypeDefinition) {
        self.resourceType = resourceType
        renderer = ResourceRenderer(resourceType)
        normalizer = ResourceNormalizer(resourceType)
        patchEngine = PatchEngine(resourceType)
    }

    func rendered(_ stored: StoredResource, _ context: RequestContext, projection: Projection) -> JSONObject {
        projection.apply(to: renderer.render(stored, baseURL: context.baseURL), resourceType: resourceType)
    }

    func response(_ stored: StoredResource, _ context: RequestContext, status: Int = 200, projection: Projection = .all) -> HTTPResponse {
        var response = HTTPResponse.json(status, .object(rendered(stored, context, projection: projection)), headers: [
            ("Location", renderer.location(baseURL: context.baseURL, id: stored.id)),
            ("ETag", ResourceRenderer.etag(version: stored.version)),
        ])
        let name = stored.attributes["userName"] ?? stored.attributes["displayName"]
        response.resource = (stored.id, name?.stringValue)
        return response
    }

    func listResponse(_ page: ListPage, _ query: ListQuery, _ context: RequestContext) -> HTTPResponse {
        let resources = page.resources.map { JSONValue.object(rendered($0, context, projection: query.projection)) }
        guard query.cursor != nil else {
            return .json(200, .object(ListResponse.body(total: page.totalResults, startIndex: query.startIndex, resources: resources)))
        }
        // RFC 9865: no startIndex; nextCursor while more follow.
        var body = JSONObject([
            ("schemas", .array([.string(CoreSchemas.listResponseURN)])),
            ("totalResults", .integer(page.totalResults)),
            ("itemsPerPage", .integer(resources.count)),
        ])
        if page.hasMore, let last = page.resources.last { body.append("nextCursor", .string(ListCursorText.encode(afterId: last.id))) }
        body.append("Resources", .array(resources))
        return .json(200, .object(body))
    }

    /// `If-None-Match` on GET: 304 when the client's copy is current.
    func notModified(_ stored: StoredResource, _ context: RequestContext) -> HTTPResponse? {
        guard let header = context.request.header("if-none-match"), ETagList(header).matches(version: stored.version) else { return nil }
        return HTTPResponse(status: 304, headers: [("ETag", ResourceRenderer.etag(version: stored.version))])
    }

    /// `If-Match` on writes (RFC 7644 §3.14), checked against the row locked FOR UPDATE, so the
    /// comparison and the write are atomic.
    func checkIfMatch(_ context: RequestContext, _ current: StoredResource) throws(SCIMError) {
        guard let ifMatch = context.request.header("if-match") else { return }
        guard ETagList(ifMatch).matches(version: current.version) else {
            throw .preconditionFailed("The resource has changed: its version is \(ResourceRenderer.etag(version: current.version)), "
                                      + "If-Match asked for \(ifMatch.prefix(100)).")
        }
    }

    func notFound(_ id: String) -> SCIMError {
        .notFound("\(resourceType.name) \(id.prefix(100)) not found.")
    }

    /// The projection of a single-resource request's query string.
    func projection(_ context: RequestContext) throws(SCIMError) -> Projection {
        try Projection(attributes: context.request.queryValue("attributes"),
                       excludedAttributes: context.request.queryValue("excludedAttributes"))
    }

    /// `GET /{type}/{id}?filter=...`: Entra's legacy reference checks ("id eq X and manager eq Y")
    /// also arrive against a single resource; answered 404 when the resource does not match.
    func matchesRequestFilter(_ id: String, _ context: RequestContext,
                              list: (ResolvedFilter) throws(SCIMError) -> ListPage) throws(SCIMError) -> Bool {
        guard let text = context.request.queryValue("filter"), !text.trimmingSpaces.isEmpty else { return true }
        let filter = FilterExpression.and(.compare(AttributePath(name: "id"), .eq, .string(id)), try FilterParser.parse(text))
        return try list(try FilterResolver(resourceType).resolve(filter)).totalResults > 0
    }

    /// The query's filter and sort, checked against this resource type.
    func resolved(_ query: ListQuery) throws(SCIMError) -> (filter: ResolvedFilter?, sort: ResolvedSort?) {
        let resolver = FilterResolver(resourceType)
        return (try query.filter.map { (filter) throws(SCIMError) in try resolver.resolve(filter) },
                try query.sort.map { (sort) throws(SCIMError) in try resolver.resolve(sort) })
    }

    /// A list query from a `.search` body (RFC 7644 §3.4.3).
    static func searchQuery(_ context: RequestContext) throws(SCIMError) -> ListQuery {
        let body = try RequestBody.object(context.request)
        var request = context.request
        request.query = []
        for name in ["filter", "startIndex", "count", "sortBy", "sortOrder", "cursor"] {
            guard let value = body.member(caseInsensitive: name)?.value else { continue }
            request.query.append((name, value.stringValue ?? value.numberText ?? ""))
        }
        for name in ["attributes", "excludedAttributes"] {
            guard let value = body.member(caseInsensitive: name)?.value else { continue }
            let items = value.arrayValue?.compactMap(\.stringValue) ?? value.stringValue.map { [$0] } ?? []
            request.query.append((name, items.joined(separator: ",")))
        }
        return try ListQuery(request: request, maxCount: context.maxListCount)
    }
}

enum ListResponse {
    static func body(total: Int, startIndex: Int, resources: [JSONValue]) -> JSONObject {
        JSONObject([
            ("schemas", .array([.string(CoreSchemas.listResponseURN)])),
            ("totalResults", .integer(total)),
            ("startIndex", .integer(startIndex)),
            ("itemsPerPage", .integer(resources.count)),
            ("Resources", .array(resources)),
        ])
    }
}
