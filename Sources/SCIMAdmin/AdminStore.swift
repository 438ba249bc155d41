import SCIMCore

/// Who asks for an administrative operation, as each face of the admin layer knows it.
public enum AdminPrincipal: Sendable {
    /// An API key presented to the JSON admin API; it must be the tenant's and hold the `admin` scope.
    case apiKey(bearerToken: String)
    /// A signed-in console user, by the SHA-256 of the session cookie's value.
    case consoleSession(tokenHash: [UInt8])
    /// The database owner through scimctl (bootstrap, scripts, a locked-out administrator).
    case owner(actor: String)
}

/// Who acts, once the store has checked the principal: what the audit trail records, and what
/// the admin layer needs to decide whether the principal may administer at all.
public struct AdminActor: Sendable {
    /// `admin-api:<key prefix>`, `console:<email>` or `scimctl:<os user>`.
    public var auditName: String
    /// Scopes of the key, for an API key; nil for console users and the owner.
    public var keyScopes: [String]?
    /// The console user and their session, for a console session.
    public var consoleUser: ConsoleUser?

    public init(auditName: String, keyScopes: [String]? = nil, consoleUser: ConsoleUser? = nil) {
        self.auditName = auditName
        self.keyScopes = keyScopes
        self.consoleUser = consoleUser
    }
}

/// A signed-in console user as a request sees it.
public struct ConsoleUser: Sendable, Equatable {
    public var id: String
    public var email: String
    public var tenantSlug: String
    /// The session's anti-forgery token: every state-changing form carries it.
    public var csrfToken: String

    public init(id: String, email: String, tenantSlug: String, csrfToken: String) {
        self.id = id
        self.email = email
        self.tenantSlug = tenantSlug
        self.csrfToken = csrfToken
    }
}

/// What the admin layer needs from storage. `SCIMPostgres` implements it in SQL; every call is
/// one transaction scoped to the tenant.
public protocol AdminStore {
    /// Checks `principal` against the tenant with this slug, then runs `body` in the same
    /// transaction. An unknown tenant, key or session is 401; `body` throwing rolls everything back.
    func administer<T>(tenantSlug: String, as principal: AdminPrincipal,
                       _ body: (any TenantAdministrator, AdminActor) throws(SCIMError) -> T) throws(SCIMError) -> T
}

extension AdminStore {
    /// `administer` for the operations only an administrator may do: an API key needs the
    /// `admin` scope (a `scim` key only provisions); console users and the owner always may.
    public func administerChecked<T>(tenantSlug: String, as principal: AdminPrincipal,
                                     _ body: (any TenantAdministrator, AdminActor) throws(SCIMError) -> T) throws(SCIMError) -> T {
        try administer(tenantSlug: tenantSlug, as: principal) { (admin, actor) throws(SCIMError) -> T in
            if let scopes = actor.keyScopes, !scopes.contains("admin") {
                throw .forbidden("This API key does not have the 'admin' scope; the admin API needs an admin key (a scim key only provisions).")
            }
            return try body(admin, actor)
        }
    }
}
