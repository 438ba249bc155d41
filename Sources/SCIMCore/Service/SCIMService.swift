
/// The SCIM protocol service: routes a request, authenticates it, runs it in one store transaction
/// and renders the answer. It knows nothing of FastCGI or SQL.
public final class SCIMService {
    public struct Configuration: Sendable {
        /// The path prefix nginx forwards, before the tenant slug.
        public var pathPrefix: String
        /// Overrides the origin taken from the request (`https://scim.example.com`).
        public var publicOrigin: String?
        public var maxBodyBytes: Int
        public var maxListCount: Int

        public init(pathPrefix: String = "/scim/v2/", publicOrigin: String? = nil, maxBodyBytes: Int = 1 << 20,
                    maxListCount: Int = ListQuery.maxCount) {
            self.pathPrefix = pathPrefix
            self.publicOrigin = publicOrigin
            self.maxBodyBytes = maxBodyBytes
            self.maxListCount = maxListCount
        }
    }

    let store: any ResourceStore
    let configuration: Configuration
    /// When set, successful reads are counted here and written as sums (scim.read_counts) instead
    /// of a log row each; nil keeps a row per read (SCIM_LOG_READS=rows).
    public var readTally: ReadTally?
    let clock: MonotonicClock
    /// Each tenant's schemas, by tenant id, with the schema_version they were read at.
    private var schemaCache: [String: (version: Int, schemas: TenantSchemas)] = [:]
    /// Requests this process refused for want of a valid key: the operator's count (they go into
    /// no tenant's log or errors, since nothing proves they concern the tenant their URL names).
    public private(set) var unauthenticatedRequests = 0
    /// Each tenant's directory mapper, with the schema and mapping versions it was built at.
    private var mapperCache: [String: (schemaVersion: Int, mappingVersion: Int, mapper: DirectoryMapper)] = [:]

    /// Claims this worker for the tenant once its key is checked (the fair share); nil: no limit.
    let admission: (any WorkerAdmission)?

    public init(store: any ResourceStore, configuration: Configuration = Configuration(),
                clock: MonotonicClock = MonotonicClock { 0 }, admission: (any WorkerAdmission)? = nil) {
        self.store = store
        self.configuration = configuration
        self.clock = clock
        self.admission = admission
    }

    public func handle(_ request: HTTPRequest) -> HTTPResponse {
        // Liveness and readiness, for load balancers and orchestrators: no tenant, no key.
        if request.path == "/healthz" {
            return .json(200, .object(JSONObject([("status", .string("ok"))])))
        }
        if request.path == "/readyz" {
            do {
                try store.checkReadiness()
                return .json(200, .object(JSONObject([("status", .string("ready"))])))
            } catch {
                return .error(error)
            }
        }
        let route: Route
        do {
            route = try Route(path: request.path, prefix: configuration.pathPrefix)
        } catch {
            return .error(error)
        }
        let baseURL = (configuration.publicOrigin ?? request.origin) + configuration.pathPrefix + route.tenant
        let started = clock.now()
        var keyPrefix: String?
        var staleKeyId: String?
        var admitted: (any WorkerAdmission)?
        defer { admitted?.leave() }
        var loggedInTheTransaction = false
        var countedRead: (tenantId: String, keyPrefix: String?)?
        var response: HTTPResponse
        do {
            let reading = Self.readMethods.contains(request.method.uppercased())
            response = try store.transaction(readOnly: reading && Self.readsInOneStatement(route, request)) { (transaction) throws(SCIMError) -> HTTPResponse in
                let key = try authenticate(request, route: route, in: transaction)
                keyPrefix = key.keyPrefix
                staleKeyId = key.lastUseIsStale ? key.keyId : nil
                try authorize(key, route: route)
                if admitted == nil, let admission {
                    guard admission.enter(tenant: key.tenantId) else { throw admission.refusal }
                    admitted = admission
                }
                let schemas = try tenantSchemas(key, transaction)
                try transaction.scope(toTenant: key.tenantId, schemas: schemas)
                let context = RequestContext(request: request, route: route, baseURL: baseURL, transaction: transaction,
                                             maxListCount: configuration.maxListCount, schemas: schemas,
                                             directory: try directoryMapper(key, schemas, transaction))
                let answer = try dispatch(context)
                // A successful read is counted; a successful write's log row travels with its
                // commit (one flush for both); so does a read's when reads are logged as rows
                // (scim.record_request commits those without a flush).
                if answer.status < 400, readTally != nil, reading {
                    countedRead = (key.tenantId, key.keyPrefix)
                    return answer
                }
                loggedInTheTransaction = answer.status < 400
                if loggedInTheTransaction {
                    try transaction.recordSuccess(logEntry(request, route: route, response: answer, keyPrefix: key.keyPrefix,
                                                         milliseconds: clock.milliseconds(since: started)))
                }
                return answer
            }
        } catch {
            response = .error(error)
        }
        response.tenant = route.tenant
        if let staleKeyId { store.recordKeyUse(keyId: staleKeyId) }
        // A wrong or missing key is always 401 (RFC 7644 §3.12), never slowed down: keys are
        // 238-bit secrets, and the identity provider's addresses are shared by all its customers.
        // Only requests made with one of the tenant's keys are the tenant's to see.
        if let countedRead, let readTally, response.status < 400 {
            readTally.add(tenantId: countedRead.tenantId, keyPrefix: countedRead.keyPrefix, endpoint: Self.endpointLabel(route.resource),
                          milliseconds: clock.milliseconds(since: started))
        } else if keyPrefix == nil {
            unauthenticatedRequests += 1
            response.unauthenticatedCount = unauthenticatedRequests
        } else if !loggedInTheTransaction || response.status >= 400 {
            store.record(logEntry(request, route: route, response: response, keyPrefix: keyPrefix,
                                  milliseconds: clock.milliseconds(since: started)))
        }
        if readTally?.isDue == true { flushReadCounts() }
        return response
    }

    static let readMethods: Set<String> = ["GET", "HEAD"]

    /// A read the store may run without a transaction of its own (each round trip one): one whose
    /// answer comes from one statement. A group read with its members takes two, which must see the
    /// same moment (members and `meta.version` together), so it is one transaction; Entra's group
    /// lookups exclude members.
    static func readsInOneStatement(_ route: Route, _ request: HTTPRequest) -> Bool {
        switch route.resource {
        case .groups, .groupsSearch:
            let excluded = request.queryValue("excludedAttributes")?.lowercased().split(separator: ",") ?? []
            return excluded.contains { $0.trimmingSpaces == "members" }
        default:
            return true
        }
    }

    /// Writes the counted reads now (also when the worker is idle, and before it stops). Sums that
    /// cannot be written stay for the next try.
    public func flushReadCounts() {
        guard let readTally, !readTally.isEmpty else { return }
        let taken = readTally.take()
        do {
            try store.addReadCounts(taken)
        } catch {
            readTally.putBack(taken)
        }
    }

    /// The endpoint a read is counted under.
    static func endpointLabel(_ resource: Route.Resource) -> String {
        switch resource {
        case .users(nil): return "Users"
        case .users: return "Users/{id}"
        case .groups(nil): return "Groups"
        case .groups: return "Groups/{id}"
        case .usersSearch, .groupsSearch, .rootSearch: return ".search"
        case .bulk: return "Bulk"
        case .serviceProviderConfig, .resourceTypes, .schemas: return "discovery"
        }
    }

    /// What the provisioning log keeps of a request (ProvisioningLogEntry).
    private func logEntry(_ request: HTTPRequest, route: Route, response: HTTPResponse, keyPrefix: String?,
                          milliseconds: Double) -> ProvisioningLogEntry {
        let failed = response.status >= 400
        // The subject: the resource answered, or else what the request named (a refused create).
        let answered = failed ? nil : response.resource
        func subject(_ object: JSONObject?) -> String? {
            (object?.member(caseInsensitive: "userName") ?? object?.member(caseInsensitive: "displayName"))?.value.stringValue
        }
        let requestedSubject = answered?.subject == nil ? subject((try? JSONParser.parse(request.body))?.objectValue) : nil
        var resourceType: String?
        var resourceId: String?
        switch route.resource {
        case .users(let id): resourceType = "User"; resourceId = id
        case .groups(let id): resourceType = "Group"; resourceId = id
        default: break
        }
        if resourceId == nil, let id = answered?.id { resourceId = id }
        return ProvisioningLogEntry(
            tenantSlug: route.tenant, requestId: request.requestId, keyPrefix: keyPrefix,
            method: request.method, path: request.path, resourceType: resourceType,
            resourceId: resourceId.map { String($0.prefix(100)) },
            subject: (requestedSubject ?? answered?.subject).map { String($0.prefix(300)) },
            status: response.status, scimType: response.error?.scimType?.rawValue,
            detail: response.error.map { String($0.detail.prefix(1000)) },
            durationMilliseconds: milliseconds, requestBody: failed ? Redaction.loggedBody(request.body) : nil)
    }

    private func authenticate(_ request: HTTPRequest, route: Route, in transaction: any StoreTransaction) throws(SCIMError) -> AuthenticatedKey {
        let token = try BearerToken.from(request)
        guard let key = try transaction.authenticate(tenantSlug: route.tenant, bearerToken: token) else {
            throw .unauthorized("The bearer token is not valid for this endpoint.")
        }
        return key
    }

    /// A key of the tenant that may not provision here: the tenant's own concern, logged.
    private func authorize(_ key: AuthenticatedKey, route: Route) throws(SCIMError) {
        guard key.scopes.contains("scim") else {
            throw .forbidden("This API key does not have the 'scim' scope; create a key with --scope scim to provision"
                             + (key.scopes.contains("admin") ? " (an admin key is for /admin/v1 only)." : "."))
        }
        guard key.scimEnabled else {
            throw .forbidden("SCIM provisioning is disabled for this tenant. An administrator can enable it "
                             + "(scimctl scim enable \(route.tenant)).")
        }
    }

    /// The tenant's resource types with its extension schemas, read again only when they changed.
    private func tenantSchemas(_ key: AuthenticatedKey, _ transaction: any StoreTransaction) throws(SCIMError) -> TenantSchemas {
        if let cached = schemaCache[key.tenantId], cached.version == key.schemaVersion { return cached.schemas }
        let schemas = TenantSchemas(extensions: try transaction.schemaExtensions(tenantId: key.tenantId))
        schemaCache[key.tenantId] = (key.schemaVersion, schemas)
        return schemas
    }

    /// The tenant's column mappings, compiled against its schemas; rebuilt when either changed.
    private func directoryMapper(_ key: AuthenticatedKey, _ schemas: TenantSchemas,
                                 _ transaction: any StoreTransaction) throws(SCIMError) -> DirectoryMapper {
        if let cached = mapperCache[key.tenantId], cached.schemaVersion == key.schemaVersion,
           cached.mappingVersion == key.mappingVersion { return cached.mapper }
        let configuration = try transaction.directoryConfiguration(tenantId: key.tenantId)
        let mapper = DirectoryMapper(resourceType: schemas.user, mappings: configuration.mappings, customFields: configuration.customFields)
        mapperCache[key.tenantId] = (key.schemaVersion, key.mappingVersion, mapper)
        return mapper
    }

    private func dispatch(_ context: RequestContext) throws(SCIMError) -> HTTPResponse {
        let users = UserEndpoints(context.schemas.user)
        let groups = GroupEndpoints(context.schemas.group)
        func only(_ allowed: String, _ what: String) throws(SCIMError) {
            try context.request.requireMethod(in: allowed, on: what)
        }
        switch context.route.resource {
        case .users(let id): return try users.serve(id: id, context)
        case .usersSearch: return try users.search(context)
        case .groups(let id): return try groups.serve(id: id, context)
        case .groupsSearch: return try groups.search(context)
        case .bulk:
            try only("POST", "/Bulk")
            return try BulkEndpoint().run(context) { (inner) throws(SCIMError) -> HTTPResponse in try dispatch(inner) }
        case .rootSearch:
            try only("POST", "/.search")
            return try RootSearch(users: users, groups: groups).search(context)
        case .serviceProviderConfig:
            try only("GET", "/ServiceProviderConfig")
            return .json(200, .object(Discovery.serviceProviderConfig(baseURL: context.baseURL, maxResults: context.maxListCount, maxPayloadSize: configuration.maxBodyBytes)))
        case .resourceTypes(let name):
            try only("GET", "/ResourceTypes")
            return try discoveryResponse(context.schemas.resourceTypes.map { ($0.name, Discovery.resourceType($0, baseURL: context.baseURL)) },
                                         name, "resource type")
        case .schemas(let id):
            try only("GET", "/Schemas")
            return try discoveryResponse(context.schemas.allSchemas.map { ($0.id, Discovery.schema($0, baseURL: context.baseURL)) }, id, "schema")
        }
    }

    /// A discovery collection as a ListResponse, or one member of it by id.
    private func discoveryResponse(_ items: [(String, JSONObject)], _ id: String?, _ what: String) throws(SCIMError) -> HTTPResponse {
        guard let id else {
            return .json(200, .object(ListResponse.body(total: items.count, startIndex: 1, resources: items.map { .object($0.1) })))
        }
        guard let item = items.first(where: { $0.0.caseInsensitiveEquals(id) }) else { throw .notFound("No \(what) \(id.prefix(200)).") }
        return .json(200, .object(item.1))
    }
}

/// What one request needs while it runs (hummingbird's RequestContext is the model).
struct RequestContext {
    var request: HTTPRequest
    var route: Route
    var baseURL: String
    var transaction: any StoreTransaction
    var maxListCount: Int
    var schemas: TenantSchemas
    var directory: DirectoryMapper
}

/// `{prefix}{tenant}/{resource}[/{id}]`.
public struct Route {
    enum Resource: Equatable {
        case users(String?)
        case usersSearch
        case groups(String?)
        case groupsSearch
        case rootSearch
        case serviceProviderConfig
        case resourceTypes(String?)
        case schemas(String?)
        case bulk
    }

    var tenant: String
    var resource: Resource

    init(path: String, prefix: String) throws(SCIMError) {
        guard path.hasPrefix(prefix) else { throw .notFound("No SCIM endpoint at \(path.prefix(200)).") }
        let segments = path.dropFirst(prefix.count).split(separator: "/", omittingEmptySubsequences: true)
        guard let first = segments.first, let tenant = HTTPRequest.percentDecode(first), Route.isValidSlug(tenant) else {
            throw .notFound("The URL must name a tenant: \(prefix)TENANT/Users.")
        }
        self.tenant = tenant
        let rest = segments.dropFirst().map { HTTPRequest.percentDecode($0) ?? String($0) }
        switch (rest.first, rest.count) {
        case ("Users", 1): resource = .users(nil)
        case ("Users", 2): resource = rest[1] == ".search" ? .usersSearch : .users(rest[1])
        case ("Groups", 1): resource = .groups(nil)
        case ("Groups", 2): resource = rest[1] == ".search" ? .groupsSearch : .groups(rest[1])
        case (".search", 1): resource = .rootSearch
        case ("Bulk", 1): resource = .bulk
        case ("ServiceProviderConfig", 1): resource = .serviceProviderConfig
        case ("ResourceTypes", 1): resource = .resourceTypes(nil)
        case ("ResourceTypes", 2): resource = .resourceTypes(rest[1])
        case ("Schemas", 1): resource = .schemas(nil)
        case ("Schemas", 2): resource = .schemas(rest[1])
        default: throw .notFound("No SCIM endpoint at \(path.prefix(200)).")
        }
    }

    /// The route of a bulk operation's path ("/Users/{id}") within the bulk request's tenant.
    init(resourcePath: String, tenant: String) throws(SCIMError) {
        try self.init(path: "/" + tenant + resourcePath, prefix: "/")
    }

    public static func isValidSlug(_ slug: String) -> Bool {
        guard (1...63).contains(slug.utf8.count), let first = slug.utf8.first,
              (first >= 0x61 && first <= 0x7A) || (first >= 0x30 && first <= 0x39) else { return false }
        return slug.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "-") }
    }
}

/// Time for durations, given by the transport (the core does no I/O of its own).
public struct MonotonicClock: Sendable {
    let nanoseconds: @Sendable () -> Int64

    public init(nanoseconds: @escaping @Sendable () -> Int64) {
        self.nanoseconds = nanoseconds
    }

    public func now() -> Int64 { nanoseconds() }
    func milliseconds(since start: Int64) -> Double { Double(nanoseconds() - start) / 1_000_000 }
}
