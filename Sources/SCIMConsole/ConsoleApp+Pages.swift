import SCIMAdmin
import SCIMCore

/// The pages of a signed-in console user. Each request is one transaction of the admin layer,
/// begun by checking the session; a change that the admin layer refuses rolls back whole, and
/// the page is shown again with the values and the message.
extension ConsoleApp {
    static let csrfError = SCIMError(status: 403, detail: "console: the form's anti-forgery token is missing or wrong")

    func signedIn(_ request: ConsoleRequest, method: String, tenant: String, route: [String]) -> HTTPResponse {
        let isPost = method == "POST"
        guard let hash = request.sessionTokenHash else { return toSignIn(request, tenant: tenant, isPost: isPost) }
        do {
            return try store.administer(tenantSlug: tenant, as: .consoleSession(tokenHash: hash)) { (admin, actor) throws(SCIMError) -> HTTPResponse in
                guard let user = actor.consoleUser else { throw .unauthorized("No console session.") }
                if isPost && !request.carriesCSRFToken(of: user) { throw Self.csrfError }
                var response = try page(request, method: method, route: route, admin: admin, user: user)
                response.actor = actor.auditName
                return response
            }
        } catch where error.status == 401 {
            return toSignIn(request, tenant: tenant, isPost: isPost)
        } catch where error == Self.csrfError {
            return csrfRefusal(tenant: tenant)
        } catch {
            if isPost, let again = try? store.administer(tenantSlug: tenant, as: .consoleSession(tokenHash: hash), { (admin, actor) throws(SCIMError) -> HTTPResponse? in
                guard let user = actor.consoleUser else { return nil }
                return try refusedChange(request, route: route, admin: admin, user: user, error: error)
            }) {
                return again
            }
            return message(status: error.status, error.status == 404 ? "Not found" : "Something went wrong", error.detail, tenant: tenant)
        }
    }

    /// Back to sign-in, then to the page that was wanted (for a form: the page it was on).
    private func toSignIn(_ request: ConsoleRequest, tenant: String, isPost: Bool) -> HTTPResponse {
        var next = request.http.path
        if isPost { next = "/console/\(tenant)/" + (request.http.path.split(separator: "/").dropFirst(2).first.map(String.init) ?? "scim") }
        else if !request.http.query.isEmpty {
            next += "?" + request.http.query.map { "\($0.name)=\(Paging.escaped($0.value))" }.joined(separator: "&")
        }
        return ConsoleResponse.redirect("/console/sign-in?tenant=\(tenant)&next=\(Paging.escaped(next))",
                                        headers: [("Set-Cookie", request.expiredSessionCookie)])
    }

    private func page(_ request: ConsoleRequest, method: String, route: [String], admin: any TenantAdministrator,
                      user: ConsoleUser) throws(SCIMError) -> HTTPResponse {
        let http = request.http
        let tenant = user.tenantSlug
        let home = "/console/\(tenant)"
        switch (method, route.first ?? "", route.count) {
        case ("GET", "scim", 1):
            return render("scim", SCIMPage(user: user, settings: try admin.settings(endpointBase: endpointBase(request)),
                                           summary: try admin.activitySummary(hours: 24), message: http.queryValue("saved").map { _ in "Saved." }))
        case ("POST", "scim", 1):
            _ = try admin.updateSettings(SettingsChange(scimEnabled: request.field("scimEnabled") == "on"), endpointBase: endpointBase(request))
            return ConsoleResponse.redirect("\(home)/scim?saved=1")

        case ("GET", "keys", 1):
            return render("keys", KeysPage(user: user, keys: try admin.keys(), nowEpoch: now(), message: http.queryValue("revoked").map { "Revoked key \($0)." }))
        case ("POST", "keys", 1):
            let scopes: [APIKeyScope] = request.field("scope") == "admin" ? [.admin] : [.scim]
            let key = try admin.createKey(try NewAPIKey(name: request.field("name") ?? "", scopes: scopes, expiresAt: request.field("expires")))
            return render("keys", KeysPage(user: user, keys: try admin.keys(), nowEpoch: now(), created: Self.createdKey(key)))
        case ("GET", "keys", 3) where route[2] == "revoke":
            guard let key = try admin.keys().listItems.first(where: { $0["id"]?.stringValue == route[1].lowercased() }) else {
                throw .notFound("There is no such API key.")
            }
            return render("revoke-key", RevokeKeyPage(layout: Layout(title: "Revoke API key", section: "keys", user: user),
                                                      name: key["name"]?.stringValue ?? "", prefix: "sk_" + (key["prefix"]?.stringValue ?? ""),
                                                      action: "\(home)/keys/\(route[1])/revoke", cancelHref: "\(home)/keys"))
        case ("POST", "keys", 3) where route[2] == "revoke":
            let key = try admin.revokeKey(route[1])
            return ConsoleResponse.redirect("\(home)/keys?revoked=sk_\(key["prefix"]?.stringValue ?? "")")
        case ("POST", "keys", 3) where route[2] == "rotate":
            let hours = try KeyRotation.overlapHours(request.field("overlapHours").map { Int($0) ?? -1 })
            let rotated = try admin.rotateKey(route[1], overlapHours: hours)
            return render("keys", KeysPage(user: user, keys: try admin.keys(), nowEpoch: now(),
                                           created: rotated["key"]?.objectValue.map(Self.createdKey),
                                           message: "The old key keeps working for \(hours) hours; give the identity provider the new one before then."))

        case ("GET", "errors", 1):
            let resolved = http.queryValue("resolved") == "true"
            let list = try admin.errors(try ActivityFilter(since: nil, until: nil, status: nil, resourceType: nil, text: nil,
                                                           resolved: resolved, startIndex: Self.startIndex(http), count: Paging.pageSize))
            return render("errors", ErrorsPage(user: user, summary: try admin.errorSummary(), list: list, showingResolved: resolved,
                                               message: http.queryValue("resolvedError").map { _ in "Marked as resolved." }))
        case ("POST", "errors", 3) where route[2] == "resolve":
            _ = try admin.resolveError(route[1])
            return ConsoleResponse.redirect("\(home)/errors?resolvedError=1")

        case ("GET", "logs", 1):
            var form = LogsPage.Filter(since: http.queryValue("since") ?? "", until: http.queryValue("until") ?? "",
                                       status: http.queryValue("status") ?? "", resourceType: http.queryValue("resourceType") ?? "",
                                       text: http.queryValue("text") ?? "")
            let filter: ActivityFilter
            do {
                filter = try ActivityFilter(since: form.since.nonEmpty, until: form.until.nonEmpty, status: form.status.nonEmpty,
                                            resourceType: form.resourceType.nonEmpty, text: form.text.nonEmpty,
                                            startIndex: Self.startIndex(http), count: Paging.pageSize)
            } catch {
                form.error = error.detail
                return render("logs", LogsPage(user: user, log: JSONObject(), filter: form), status: 400)
            }
            return render("logs", LogsPage(user: user, log: try admin.log(filter), filter: form))

        case ("GET", "audit", 1):
            return render("audit", AuditPage(user: user, changes: try admin.changes(startIndex: Self.startIndex(http), count: Paging.pageSize)))

        case ("GET", "people", 1):
            return render("people", PeoplePage(user: user, users: try admin.consoleUsers(), message: http.queryValue("removed").map { _ in "Removed." }))
        case ("POST", "people", 1):
            let secret = SecretToken.generate()
            _ = try admin.inviteConsoleUser(try ConsoleInvite(email: request.field("email") ?? "", tokenHash: secret.hash))
            let link = (publicOrigin ?? http.origin) + ConsoleInviteLink.path(tenantSlug: tenant, token: secret)
            return render("people", PeoplePage(user: user, users: try admin.consoleUsers(), inviteLink: link))
        case ("POST", "people", 3) where route[2] == "remove":
            try admin.removeConsoleUser(route[1], currentUserId: user.id)
            return ConsoleResponse.redirect(route[1].lowercased() == user.id ? "/console/sign-in?tenant=\(tenant)" : "\(home)/people?removed=1")

        default:
            return try mappingOrDirectoryPage(request, method: method, route: route, admin: admin, user: user)
        }
    }

    /// The page a refused change came from, with the values sent and the message.
    private func refusedChange(_ request: ConsoleRequest, route: [String], admin: any TenantAdministrator, user: ConsoleUser,
                               error: SCIMError) throws(SCIMError) -> HTTPResponse? {
        switch (route.first ?? "", route.count) {
        case ("keys", 1):
            var form = KeysPage.Form(name: request.field("name") ?? "", scopeAdmin: request.field("scope") == "admin",
                                     expires: request.field("expires") ?? "")
            switch error.field {
            case "name": form.nameError = error.detail
            case "expiresAt": form.expiresError = error.detail
            default: form.error = error.detail
            }
            return render("keys", KeysPage(user: user, keys: try admin.keys(), nowEpoch: now(), form: form), status: error.status)
        case ("keys", 3):
            return render("keys", KeysPage(user: user, keys: try admin.keys(), nowEpoch: now(), message: error.detail), status: error.status)
        case ("people", 1):
            return render("people", PeoplePage(user: user, users: try admin.consoleUsers(), email: request.field("email") ?? "",
                                               emailError: error.detail), status: error.status)
        case ("people", 3):
            return render("people", PeoplePage(user: user, users: try admin.consoleUsers(), message: error.detail), status: error.status)
        case ("mappings", _):
            return try refusedMappingChange(request, route: route, admin: admin, user: user, error: error)
        default:
            return nil
        }
    }

    static func createdKey(_ key: JSONObject) -> KeysPage.CreatedKey {
        let scopes = key["scopes"]?.arrayValue?.compactMap(\.stringValue) ?? []
        return KeysPage.CreatedKey(name: key["name"]?.stringValue ?? "", prefix: "sk_" + (key["prefix"]?.stringValue ?? ""),
                                   token: key["token"]?.stringValue ?? "",
                                   scope: scopes.map { $0 == "scim" ? "SCIM" : "Admin" }.joined(separator: ", "))
    }

    static func startIndex(_ http: HTTPRequest) -> Int {
        max(1, Int(http.queryValue("startIndex") ?? "1") ?? 1)
    }
}

extension String {
    var nonEmpty: String? { isEmpty ? nil : self }
}
