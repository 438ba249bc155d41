import SCIMCore

/// The admin API, `/admin/v1/{tenant}/...`: the JSON interface an admin console (and any script)
/// uses to configure a tenant's provisioning. Authenticated with an `admin`-scope key of that
/// tenant; errors have the SCIM error shape. Every request is one transaction.
///
///     GET  PATCH  settings
///     GET  POST   keys                 DELETE keys/{id}          POST keys/{id}/rotate
///     GET  POST   column-mappings      PUT DELETE column-mappings/{id}        (?dryRun=true)
///     GET  POST   department-mappings  PUT DELETE department-mappings/{id}    (?dryRun=true)
///     GET  POST   group-role-mappings  PUT DELETE group-role-mappings/{id}    (?dryRun=true)
///     GET  POST   departments          PUT DELETE departments/{id}
///     GET  POST   roles                PUT DELETE roles/{id}
///     GET  POST   custom-fields        DELETE custom-fields/{name}
///     GET         users                GET users/{id}   POST users/{id}/roles   DELETE users/{id}/roles/{role}
///     GET         log                  (since, until, status, resourceType, text, startIndex, count)
///     GET         errors               GET errors/summary        POST errors/{id}/resolve
///     GET  POST   jobs                 GET jobs/{id}              (POST: re-apply all mappings now)
///     GET         changes
public struct AdminJSONAPI {
    public static let pathPrefix = "/admin/v1/"

    let store: any AdminStore
    /// The public origin (`https://scim.example.com`) when it differs from the request's.
    let publicOrigin: String?
    let scimPathPrefix: String

    public init(store: any AdminStore, publicOrigin: String?, scimPathPrefix: String = "/scim/v2/") {
        self.store = store
        self.publicOrigin = publicOrigin
        self.scimPathPrefix = scimPathPrefix
    }

    public func handle(_ request: HTTPRequest) -> HTTPResponse {
        let segments = request.path.dropFirst(Self.pathPrefix.count).split(separator: "/").map { HTTPRequest.percentDecode($0) ?? String($0) }
        guard let tenant = segments.first, Route.isValidSlug(tenant) else {
            return .error(.notFound("The URL must name a tenant: \(Self.pathPrefix)TENANT/settings."))
        }
        var response: HTTPResponse
        do {
            let token = try BearerToken.from(request)
            response = try handle(request, path: Array(segments.dropFirst()), tenantSlug: tenant, as: .apiKey(bearerToken: token))
        } catch {
            response = .error(error)
        }
        response.tenant = tenant
        return response
    }

    /// The same endpoints for the database owner (scimctl): no key, the tenant by slug, `actor` audited.
    /// `request.path` is what follows `/admin/v1/TENANT/`.
    public func handleAsOwner(tenantSlug: String, _ request: HTTPRequest, actor: String) -> HTTPResponse {
        let segments = request.path.split(separator: "/").map { HTTPRequest.percentDecode($0) ?? String($0) }
        do {
            return try handle(request, path: segments, tenantSlug: tenantSlug, as: .owner(actor: actor))
        } catch {
            return .error(error)
        }
    }

    private func handle(_ request: HTTPRequest, path: [String], tenantSlug: String,
                        as principal: AdminPrincipal) throws(SCIMError) -> HTTPResponse {
        let endpointBase = (publicOrigin ?? request.origin) + scimPathPrefix
        return try store.administerChecked(tenantSlug: tenantSlug, as: principal) { (admin, actor) throws(SCIMError) -> HTTPResponse in
            var response = try route(request, path, admin, endpointBase: endpointBase)
            response.actor = actor.auditName
            return response
        }
    }

    private func route(_ request: HTTPRequest, _ path: [String], _ admin: any TenantAdministrator,
                       endpointBase: String) throws(SCIMError) -> HTTPResponse {
        let method = request.method.uppercased()
        let dryRun = request.queryValue("dryRun").map { $0.lowercased() == "true" } ?? false
        func body() throws(SCIMError) -> JSONObject { try RequestBody.object(request) }
        func ok(_ object: JSONObject, _ status: Int = 200) -> HTTPResponse { .json(status, .object(object)) }
        func created(_ object: JSONObject) -> HTTPResponse { ok(object, dryRun ? 200 : 201) }
        /// An answer that carries a new token: no cache may keep it.
        func secret(_ response: HTTPResponse) -> HTTPResponse {
            var response = response
            response.headers.append(("Cache-Control", "no-store"))
            return response
        }
        func allow(_ methods: String) throws(SCIMError) {
            try request.requireMethod(in: methods, on: path.joined(separator: "/"))
        }
        let (index, count) = try Self.paging(request)

        switch (path.first ?? "", path.count) {
        case ("settings", 1):
            try allow("GET, PATCH")
            return ok(method == "GET" ? try admin.settings(endpointBase: endpointBase) : try admin.updateSettings(try Self.settingsChange(try body()), endpointBase: endpointBase))
        case ("keys", 1):
            try allow("GET, POST")
            return method == "GET" ? ok(try admin.keys()) : secret(created(try admin.createKey(try Self.newKey(try body()))))
        case ("keys", 2):
            try allow("DELETE")
            return ok(try admin.revokeKey(path[1]))
        case ("keys", 3) where path[2] == "rotate":
            try allow("POST")
            return secret(created(try admin.rotateKey(path[1], overlapHours: try Self.overlapHours(request.body.isEmpty ? JSONObject() : try body()))))
        case ("users", 1):
            try allow("GET")
            return ok(try admin.applicationUsers(startIndex: index, count: count, text: request.queryValue("text")))
        case ("users", 2):
            try allow("GET")
            return ok(try admin.applicationUser(path[1]))
        case ("users", 3) where path[2] == "roles":
            try allow("POST")
            return ok(try admin.grantRole(userId: path[1], try body()))
        case ("users", 4) where path[2] == "roles":
            try allow("DELETE")
            return ok(try admin.revokeRole(userId: path[1], roleId: path[3]))
        case ("log", 1):
            try allow("GET")
            return ok(try admin.log(try Self.activityFilter(request)))
        case ("errors", 1):
            try allow("GET")
            return ok(try admin.errors(try Self.activityFilter(request)))
        case ("errors", 2) where path[1] == "summary":
            try allow("GET")
            return ok(try admin.errorSummary())
        case ("errors", 3) where path[2] == "resolve":
            try allow("POST")
            return ok(try admin.resolveError(path[1]))
        case ("jobs", 1):
            try allow("GET, POST")
            return method == "GET" ? ok(try admin.jobs()) : created(try admin.startReapply())
        case ("jobs", 2):
            try allow("GET")
            return ok(try admin.job(path[1]))
        case ("changes", 1):
            try allow("GET")
            return ok(try admin.changes(startIndex: index, count: count))
        case (let name, 1...2):
            guard let collection = Collection(name, admin, dryRun: dryRun) else { break }
            if path.count == 1 {
                try allow("GET, POST")
                return method == "GET" ? ok(try collection.list()) : created(try collection.create(try body()))
            }
            try allow(collection.replace == nil ? "DELETE" : "PUT, DELETE")
            if method == "PUT", let replace = collection.replace { return ok(try replace(path[1], try body())) }
            return try collection.delete(path[1]).map { ok($0) } ?? HTTPResponse(status: 204)
        default:
            break
        }
        throw .notFound("No admin endpoint at \(request.path.prefix(200)).")
    }

    static func id(_ text: String) throws(SCIMError) -> String {
        guard ResourceID.isValid(text) else { throw .notFound("No item \(text.prefix(100)).") }
        return text.lowercased()
    }
}

/// The tenant's named collections (mappings, departments, roles, custom fields) answer the same
/// requests: list and create on the collection, replace (where it can be) and delete on an item.
private struct Collection {
    typealias Item = (_ id: String, _ body: JSONObject) throws(SCIMError) -> JSONObject
    let list: () throws(SCIMError) -> JSONObject
    let create: (_ body: JSONObject) throws(SCIMError) -> JSONObject
    let replace: Item?
    /// What was deleted, or nil for a bare 204.
    let delete: (_ id: String) throws(SCIMError) -> JSONObject?

    init?(_ name: String, _ admin: any TenantAdministrator, dryRun: Bool) {
        switch name {
        case "column-mappings":
            list = { () throws(SCIMError) in try admin.columnMappings() }
            create = { (body) throws(SCIMError) in try admin.saveColumnMapping(id: nil, body, dryRun: dryRun) }
            replace = { (id, body) throws(SCIMError) in try admin.saveColumnMapping(id: try AdminJSONAPI.id(id), body, dryRun: dryRun) }
            delete = { (id) throws(SCIMError) in try admin.deleteColumnMapping(id, dryRun: dryRun) }
        case "department-mappings":
            list = { () throws(SCIMError) in try admin.departmentMappings() }
            create = { (body) throws(SCIMError) in try admin.saveDepartmentMapping(id: nil, body, dryRun: dryRun) }
            replace = { (id, body) throws(SCIMError) in try admin.saveDepartmentMapping(id: try AdminJSONAPI.id(id), body, dryRun: dryRun) }
            delete = { (id) throws(SCIMError) in try admin.deleteDepartmentMapping(id, dryRun: dryRun) }
        case "group-role-mappings":
            list = { () throws(SCIMError) in try admin.groupRoleMappings() }
            create = { (body) throws(SCIMError) in try admin.saveGroupRoleMapping(id: nil, body, dryRun: dryRun) }
            replace = { (id, body) throws(SCIMError) in try admin.saveGroupRoleMapping(id: try AdminJSONAPI.id(id), body, dryRun: dryRun) }
            delete = { (id) throws(SCIMError) in try admin.deleteGroupRoleMapping(id, dryRun: dryRun) }
        case "departments":
            list = { () throws(SCIMError) in try admin.departments() }
            create = { (body) throws(SCIMError) in try admin.createDepartment(body) }
            replace = { (id, body) throws(SCIMError) in try admin.renameDepartment(id, body) }
            delete = { (id) throws(SCIMError) in try admin.deleteDepartment(id); return nil }
        case "roles":
            list = { () throws(SCIMError) in try admin.roles() }
            create = { (body) throws(SCIMError) in try admin.createRole(body) }
            replace = { (id, body) throws(SCIMError) in try admin.updateRole(id, body) }
            delete = { (id) throws(SCIMError) in try admin.deleteRole(id); return nil }
        case "custom-fields":
            list = { () throws(SCIMError) in try admin.customFields() }
            create = { (body) throws(SCIMError) in try admin.createCustomField(body) }
            replace = nil
            delete = { (id) throws(SCIMError) in try admin.deleteCustomField(id); return nil }
        default:
            return nil
        }
    }
}
