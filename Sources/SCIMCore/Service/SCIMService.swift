import Logging

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
    let users = UserEndpoints()

    public init(store: any ResourceStore, configuration: Configuration = Configuration()) {
        self.store = store
        self.configuration = configuration
    }

    public func handle(_ request: HTTPRequest) -> HTTPResponse {
        let route: Route
        do {
            route = try Route(path: request.path, prefix: configuration.pathPrefix)
        } catch {
            return .error(error)
        }
        guard request.body.count <= configuration.maxBodyBytes else {
            var response = HTTPResponse.error(SCIMError(status: 413, detail: "The request body is larger than \(configuration.maxBodyBytes) bytes."))
            response.tenant = route.tenant
            return response
        }
        let baseURL = (configuration.publicOrigin ?? request.origin) + configuration.pathPrefix + route.tenant
        var response: HTTPResponse
        do {
            response = try store.transaction { (transaction) throws(SCIMError) -> HTTPResponse in
                let key = try authenticate(request, route: route, in: transaction)
                try transaction.scope(toTenant: key.tenantId)
                let context = RequestContext(request: request, route: route, baseURL: baseURL, transaction: transaction,
                                             maxListCount: configuration.maxListCount)
                return try dispatch(context)
            }
        } catch {
            response = .error(error)
        }
        response.tenant = route.tenant
        return response
    }

    private func authenticate(_ request: HTTPRequest, route: Route, in transaction: any StoreTransaction) throws(SCIMError) -> AuthenticatedKey {
        guard let header = request.header("authorization"), !header.isEmpty else {
            throw .unauthorized("Authentication required: send 'Authorization: Bearer <token>'.")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw .unauthorized("Only the Bearer authentication scheme is supported.")
        }
        let token = String(parts[1].trimmingSpacesSubstring)
        guard let key = try transaction.authenticate(tenantSlug: route.tenant, bearerToken: token) else {
            throw .unauthorized("The bearer token is not valid for this endpoint.")
        }
        guard key.scopes.contains("scim") else {
            throw .forbidden("This API key does not have the 'scim' scope; create a key with --scope scim to provision.")
        }
        guard key.scimEnabled else {
            throw .forbidden("SCIM provisioning is disabled for this tenant. An administrator can enable it "
                             + "(scimctl scim enable \(route.tenant)).")
        }
        return key
    }

    private func dispatch(_ context: RequestContext) throws(SCIMError) -> HTTPResponse {
        let method = context.request.method.uppercased()
        switch context.route.resource {
        case .users(nil):
            switch method {
            case "GET": return try users.list(context)
            case "POST": return try users.create(context)
            default: throw .methodNotAllowed("\(method) is not supported on /Users.", allow: "GET, POST")
            }
        case .users(let id?):
            switch method {
            case "GET": return try users.get(id: id, context)
            case "PUT": return try users.replace(id: id, context)
            case "PATCH": return try users.patch(id: id, context)
            case "DELETE": return try users.delete(id: id, context)
            default: throw .methodNotAllowed("\(method) is not supported on /Users/{id}.", allow: "GET, PUT, PATCH, DELETE")
            }
        case .usersSearch:
            guard method == "POST" else { throw .methodNotAllowed("Use POST for /Users/.search.", allow: "POST") }
            return try users.search(context)
        }
    }
}

/// What one request needs while it runs (hummingbird's RequestContext is the model).
struct RequestContext {
    var request: HTTPRequest
    var route: Route
    var baseURL: String
    var transaction: any StoreTransaction
    var maxListCount: Int
}

/// `{prefix}{tenant}/{resource}[/{id}]`.
public struct Route {
    enum Resource: Equatable {
        case users(String?)
        case usersSearch
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
        switch rest.count {
        case 1 where rest[0] == "Users":
            resource = .users(nil)
        case 2 where rest[0] == "Users" && rest[1] == ".search":
            resource = .usersSearch
        case 2 where rest[0] == "Users":
            resource = .users(rest[1])
        default:
            throw .notFound("No SCIM endpoint at \(path.prefix(200)).")
        }
    }

    public static func isValidSlug(_ slug: String) -> Bool {
        guard (1...63).contains(slug.utf8.count), let first = slug.utf8.first,
              (first >= 0x61 && first <= 0x7A) || (first >= 0x30 && first <= 0x39) else { return false }
        return slug.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "-") }
    }
}
