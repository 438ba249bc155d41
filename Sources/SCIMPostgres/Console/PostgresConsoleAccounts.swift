import SCIMAdmin
import SCIMCore

extension PostgresStore: ConsoleAccountStore {
    public func invitation(tokenHash: [UInt8]) throws(SCIMError) -> ConsoleInvitation? {
        try postgresTransaction { (transaction) throws(SCIMError) -> ConsoleInvitation? in
            let rows = try transaction.query("""
                select t.slug, i.email, (i.accepted_at is null and i.expires_at > now()) as usable
                from scim.console_invites i join scim.tenants t on t.id = i.tenant_id
                where i.token_hash = \(APIKeyToken.byteaHex(tokenHash))::bytea
                """)
            guard let slug = rows[0, "slug"], let email = rows[0, "email"] else { return nil }
            return ConsoleInvitation(tenantSlug: slug, email: email, usable: rows.bool(0, "usable") == true)
        }
    }

    public func acceptInvitation(tokenHash: [UInt8], passwordHash: String, session: NewConsoleSession) throws(SCIMError) -> ConsoleUser? {
        try postgresTransaction { (transaction) throws(SCIMError) -> ConsoleUser? in
            // Taking the invite row first makes a second use of the same link wait, then find it used.
            let invite = try transaction.query("""
                update scim.console_invites i set accepted_at = now()
                from scim.tenants t
                where i.token_hash = \(APIKeyToken.byteaHex(tokenHash))::bytea and t.id = i.tenant_id
                  and i.accepted_at is null and i.expires_at > now()
                returning i.tenant_id, i.email, i.created_by, t.slug, set_config('scim.tenant_id', i.tenant_id::text, true) as scoped
                """)
            guard let tenantId = invite[0, "tenant_id"], let email = invite[0, "email"], let invitedBy = invite[0, "created_by"] else {
                return nil
            }
            let user = try transaction.query("""
                insert into scim.console_users (tenant_id, email, password_hash, created_by)
                values (\(tenantId)::uuid, \(email), \(passwordHash), \(invitedBy))
                on conflict (tenant_id, lower(email)) do update
                    set password_hash = excluded.password_hash, failed_sign_ins = 0, last_failed_at = null
                returning id
                """)
            guard let userId = user[0, "id"] else { throw .internalError("The console user was not created.") }
            try transaction.query("""
                insert into scim.mapping_changes (tenant_id, changed_by, kind, action, new_value)
                values (\(tenantId)::uuid, \("console:" + email), 'console_user', 'update',
                        jsonb_build_object('email', \(email)::text, 'invite', 'accepted'))
                """)
            return try transaction.startConsoleSession(userId: userId, session)
        }
    }

    public func account(tenantSlug: String, email: String) throws(SCIMError) -> ConsoleAccount? {
        try postgresTransaction { (transaction) throws(SCIMError) -> ConsoleAccount? in
            let rows = try transaction.query("""
                select u.id, u.password_hash, u.failed_sign_ins,
                       extract(epoch from now() - u.last_failed_at)::float8 as since_failure
                from scim.console_users u join scim.tenants t on t.id = u.tenant_id
                where t.slug = \(tenantSlug) and lower(u.email) = lower(\(email))
                """)
            guard let id = rows[0, "id"] else { return nil }
            return ConsoleAccount(userId: id, passwordHash: rows[0, "password_hash"],
                                  failedSignIns: rows.int(0, "failed_sign_ins") ?? 0,
                                  secondsSinceLastFailure: rows[0, "since_failure"].flatMap(Double.init))
        }
    }

    public func recordFailedSignIn(userId: String) throws(SCIMError) {
        try postgresTransaction { (transaction) throws(SCIMError) in
            try transaction.query("""
                update scim.console_users set failed_sign_ins = failed_sign_ins + 1, last_failed_at = now()
                where id = \(userId)::uuid
                """)
        }
    }

    public func startSession(userId: String, _ session: NewConsoleSession) throws(SCIMError) -> ConsoleUser {
        try postgresTransaction { (transaction) throws(SCIMError) -> ConsoleUser in
            try transaction.startConsoleSession(userId: userId, session)
        }
    }

    public func endSession(tokenHash: [UInt8]) throws(SCIMError) {
        try postgresTransaction { (transaction) throws(SCIMError) in
            try transaction.query("delete from scim.console_sessions where token_hash = \(APIKeyToken.byteaHex(tokenHash))::bytea")
        }
    }
}

extension PostgresTransaction {
    /// A new session for the user (their expired ones are removed); their failed sign-ins are cleared.
    func startConsoleSession(userId: String, _ session: NewConsoleSession) throws(SCIMError) -> ConsoleUser {
        try query("""
            delete from scim.console_sessions where user_id = \(userId)::uuid
              and (last_seen_at < now() - \(ConsoleSessionPolicy.idleInterval)
                   or created_at < now() - \(ConsoleSessionPolicy.absoluteInterval))
            """)
        let rows = try query("""
            with signed_in as (
                update scim.console_users set failed_sign_ins = 0, last_failed_at = null, last_signed_in_at = now()
                where id = \(userId)::uuid returning id, tenant_id, email
            )
            insert into scim.console_sessions (tenant_id, user_id, token_hash, csrf_token)
            select tenant_id, id, \(APIKeyToken.byteaHex(session.cookie.hash))::bytea, \(session.csrfToken.value) from signed_in
            returning user_id, (select email from signed_in) as email,
                      (select slug from scim.tenants t where t.id = tenant_id) as slug
            """)
        guard let id = rows[0, "user_id"], let email = rows[0, "email"], let slug = rows[0, "slug"] else {
            throw .unauthorized("The console user no longer exists.")
        }
        return ConsoleUser(id: id, email: email, tenantSlug: slug, csrfToken: session.csrfToken.value)
    }
}
