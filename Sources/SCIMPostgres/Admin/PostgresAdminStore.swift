import SCIMAdmin
import SCIMCore

extension PostgresStore: AdminStore {
    /// Checks the principal and scopes the transaction to the tenant in one round trip, then runs
    /// `body` in the same transaction.
    public func administer<T>(tenantSlug: String, as principal: AdminPrincipal,
                              _ body: (any TenantAdministrator, AdminActor) throws(SCIMError) -> T) throws(SCIMError) -> T {
        var staleKeyId: String?
        var admitted: (any WorkerAdmission)?
        defer { admitted?.leave() }
        let result = try postgresTransaction { (transaction) throws(SCIMError) -> T in
            // Admin listings filter on values whose selectivity decides the plan (a text most
            // users match, or almost none): a generic plan of the prepared statement would fit
            // one case and take seconds in the other. Planning each costs well under a millisecond.
            try transaction.query("select set_config('plan_cache_mode', 'force_custom_plan', true)")
            let (tenantId, actor, stale) = try transaction.adminActor(tenantSlug: tenantSlug, principal)
            staleKeyId = stale
            if admitted == nil, let admission {
                guard admission.enter(tenant: tenantId) else { throw admission.refusal }
                admitted = admission
            }
            return try body(DirectoryAdministration(transaction: transaction, tenantId: tenantId, actor: actor.auditName), actor)
        }
        if let staleKeyId { recordKeyUse(keyId: staleKeyId) }
        return result
    }

    @discardableResult
    func postgresTransaction<T>(_ body: (PostgresTransaction) throws(SCIMError) -> T) throws(SCIMError) -> T {
        try transaction { (transaction) throws(SCIMError) -> T in
            guard let transaction = transaction as? PostgresTransaction else { throw .internalError("Not a PostgreSQL transaction.") }
            return try body(transaction)
        }
    }
}

extension PostgresTransaction {
    /// The tenant's id and who acts, or 401 when the key or session is not (or no longer) valid for
    /// it; and a key whose use is to be recorded after the transaction.
    func adminActor(tenantSlug: String, _ principal: AdminPrincipal) throws(SCIMError)
        -> (tenantId: String, actor: AdminActor, staleKeyId: String?) {
        switch principal {
        case .apiKey(let token):
            guard let key = try authenticate(tenantSlug: tenantSlug, bearerToken: token) else {
                throw .unauthorized("The bearer token is not valid for this tenant.")
            }
            return (key.tenantId, AdminActor(auditName: "admin-api:\(key.keyPrefix)", keyScopes: key.scopes),
                    key.lastUseIsStale ? key.keyId : nil)
        case .consoleSession(let tokenHash):
            guard let (tenantId, user) = try consoleSession(tenantSlug: tenantSlug, tokenHash: tokenHash) else {
                throw .unauthorized("Your console session has ended; sign in again.")
            }
            return (tenantId, AdminActor(auditName: "console:\(user.email)", consoleUser: user), nil)
        case .owner(let actor):
            let rows = try query("""
                select id, set_config('scim.tenant_id', id::text, true) from scim.tenants where slug = \(tenantSlug)
                """)
            guard let tenantId = rows[0, "id"] else { throw .notFound("No tenant with slug '\(tenantSlug)'.") }
            return (tenantId, AdminActor(auditName: actor), nil)
        }
    }

    /// A live session of this tenant (idle under 30 minutes, younger than 12 hours), refreshed.
    func consoleSession(tenantSlug: String, tokenHash: [UInt8]) throws(SCIMError) -> (String, ConsoleUser)? {
        let rows = try query("""
            update scim.console_sessions s set last_seen_at = now()
            from scim.console_users u, scim.tenants t
            where s.token_hash = \(APIKeyToken.byteaHex(tokenHash))::bytea and u.id = s.user_id and t.id = s.tenant_id
              and t.slug = \(tenantSlug) and s.last_seen_at > now() - \(ConsoleSessionPolicy.idleInterval)
              and s.created_at > now() - \(ConsoleSessionPolicy.absoluteInterval)
            returning t.id as tenant_id, u.id as user_id, u.email, s.csrf_token,
                      set_config('scim.tenant_id', t.id::text, true) as scoped
            """)
        guard let tenantId = rows[0, "tenant_id"], let userId = rows[0, "user_id"], let email = rows[0, "email"],
              let csrf = rows[0, "csrf_token"] else { return nil }
        return (tenantId, ConsoleUser(id: userId, email: email, tenantSlug: tenantSlug, csrfToken: csrf))
    }
}

/// How long console sessions live (scim.console_sessions), as SQL intervals.
enum ConsoleSessionPolicy {
    static let idleInterval: SQL = "interval '30 minutes'"
    static let absoluteInterval: SQL = "interval '12 hours'"
}
