import SCIMAdmin
import SCIMCore

/// The admin console, `/console/...`: server-rendered pages over the admin layer, for the
/// customer's administrator (the product guide's Administration > SCIM, Data Access > API Keys,
/// mappings, errors and logs). Plain forms that post, then redirect; a few small scripts only
/// where they help (copy buttons, job progress).
public struct ConsoleApp {
    public static let pathPrefix = "/console"

    let store: any AdminStore & ConsoleAccountStore
    /// The public origin (`https://scim.example.com`) when it differs from the request's.
    let publicOrigin: String?
    let scimPathPrefix: String
    let hasher: PasswordHasher
    let templates: ConsoleTemplates?
    /// Seconds since 1970, for "expires soon".
    let now: @Sendable () -> Double

    public init(store: any AdminStore & ConsoleAccountStore, publicOrigin: String?, scimPathPrefix: String = "/scim/v2/",
                hasher: PasswordHasher = PasswordHasher(), now: @escaping @Sendable () -> Double) {
        self.store = store
        self.publicOrigin = publicOrigin
        self.scimPathPrefix = scimPathPrefix
        self.hasher = hasher
        self.templates = ConsoleTemplates.bundled
        self.now = now
    }

    public func handle(_ http: HTTPRequest) -> HTTPResponse {
        let request = ConsoleRequest(http: http, publicOrigin: publicOrigin)
        let path = http.path.dropFirst(Self.pathPrefix.count).split(separator: "/", omittingEmptySubsequences: true)
            .map { HTTPRequest.percentDecode($0) ?? String($0) }
        let method = http.method.uppercased()
        if method == "POST" && !request.isSameOrigin {
            return message(status: 403, "Refused", "This form was sent from another site. Open the console yourself and try again.",
                           tenant: path.first ?? "")
        }
        var response: HTTPResponse
        switch (method, path.first ?? "") {
        case ("GET", ""):
            response = ConsoleResponse.redirect("/console/sign-in")
        case ("GET", "assets") where path.count == 2:
            response = asset(path[1])
        case ("GET", "sign-in"):
            let tenant = http.queryValue("tenant") ?? ""
            response = render("sign-in", SignInPage(tenant: tenant, next: http.queryValue("next") ?? "",
                                                    notice: http.queryValue("signedOut") != nil ? "You are signed out." : nil))
        case ("POST", "sign-in"):
            response = signIn(request)
        case ("POST", "sign-out"):
            response = signOut(request, tenant: request.field("tenant") ?? "")
        case (_, let tenant) where Route.isValidSlug(tenant):
            response = tenantPage(request, method: method, tenant: tenant, route: Array(path.dropFirst()))
        default:
            response = message(status: 404, "Not found", "There is no console page here.", tenant: "")
        }
        if response.tenant == nil, let tenant = path.first, Route.isValidSlug(tenant) { response.tenant = tenant }
        return response
    }

    private func tenantPage(_ request: ConsoleRequest, method: String, tenant: String, route: [String]) -> HTTPResponse {
        switch (method, route.first ?? "") {
        case ("GET", ""):
            return ConsoleResponse.redirect("/console/\(tenant)/scim")
        case ("GET", "invite"):
            return invitePage(request, tenant: tenant)
        case ("POST", "invite"):
            return acceptInvite(request, tenant: tenant)
        case ("GET", "sign-in"):
            return ConsoleResponse.redirect("/console/sign-in?tenant=\(tenant)")
        default:
            return signedIn(request, method: method, tenant: tenant, route: route)
        }
    }

    // MARK: - Rendering

    func render(_ template: String, _ model: Any, status: Int = 200, headers: [(String, String)] = []) -> HTTPResponse {
        guard let templates else {
            return ConsoleResponse.page("<!doctype html><title>Console unavailable</title><p>The console's templates were not found next to the program.",
                                        status: 500)
        }
        return ConsoleResponse.page(templates.render(template, model), status: status, headers: headers)
    }

    func message(status: Int, _ heading: String, _ text: String, tenant: String) -> HTTPResponse {
        let link = tenant.isEmpty || !Route.isValidSlug(tenant) ? "/console/sign-in" : "/console/\(tenant)/scim"
        return render("message", MessagePage(layout: Layout(signedOutTitle: heading, tenant: tenant), heading: heading, text: text,
                                             linkHref: link, linkLabel: "Back to the console"), status: status)
    }

    private func asset(_ name: String) -> HTTPResponse {
        guard let bytes = templates?.assets[name] else { return message(status: 404, "Not found", "No such file.", tenant: "") }
        let type = name.hasSuffix(".css") ? "text/css; charset=utf-8" : name.hasSuffix(".js") ? "text/javascript; charset=utf-8" : "application/octet-stream"
        return ConsoleResponse.asset(bytes, contentType: type)
    }

    func endpointBase(_ request: ConsoleRequest) -> String { (publicOrigin ?? request.http.origin) + scimPathPrefix }
}
