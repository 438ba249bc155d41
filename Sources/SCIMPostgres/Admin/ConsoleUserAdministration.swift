import SCIMAdmin
import SCIMCore

/// Console users of the tenant: list, invite, remove. Every change is audited.
extension DirectoryAdministration {
    public func consoleUsers() throws(SCIMError) -> [ConsoleUserRecord] {
        let rows = try transaction.query("""
            select id, email, password_hash is not null as active, created_at, created_by, last_signed_in_at
            from scim.console_users where tenant_id = \(tenant) order by lower(email)
            """)
        return (0..<rows.rows.count).map { i in
            ConsoleUserRecord(id: rows[i, "id"] ?? "", email: rows[i, "email"] ?? "", active: rows.bool(i, "active") == true,
                              createdAt: rows[i, "created_at"] ?? "", createdBy: rows[i, "created_by"] ?? "",
                              lastSignedInAt: rows[i, "last_signed_in_at"])
        }
    }

    /// Records the invite (a new link for an address already invited replaces nothing: each link
    /// works once, for 24 hours). The console user appears once the invite is accepted.
    public func inviteConsoleUser(_ invite: ConsoleInvite) throws(SCIMError) -> ConsoleUserRecord {
        let rows = try transaction.query("""
            insert into scim.console_invites (tenant_id, email, token_hash, created_by, expires_at)
            values (\(tenant), \(invite.email), \(APIKeyToken.byteaHex(invite.tokenHash))::bytea, \(actor),
                    now() + make_interval(hours => \(invite.validHours)))
            returning id, created_at
            """)
        try audit("console_user", "create", old: nil,
                  new: .object(JSONObject([("email", .string(invite.email)), ("invite", .string("sent"))])))
        return ConsoleUserRecord(id: rows[0, "id"] ?? "", email: invite.email, active: false,
                                 createdAt: rows[0, "created_at"] ?? "", createdBy: actor, lastSignedInAt: nil)
    }

    public func removeConsoleUser(_ id: String, currentUserId: String?) throws(SCIMError) {
        let userId = try Self.uuid(id).lowercased()
        // Locks the tenant's console users, so two users removing each other cannot leave none.
        let rows = try transaction.query("""
            select id, email from scim.console_users where tenant_id = \(tenant) order by id for update
            """)
        guard let index = rows.rows.firstIndex(where: { $0.first == userId }) else { throw .notFound("No console user \(id.prefix(100)).") }
        if userId == currentUserId && rows.rows.count == 1 {
            throw .conflict("You are the last console user of this tenant; invite someone else before removing yourself.")
        }
        try transaction.query("delete from scim.console_users where tenant_id = \(tenant) and id = \(userId)::uuid")
        try audit("console_user", "delete", old: .object(JSONObject([("email", .string(rows[index, "email"] ?? ""))])), new: nil)
    }
}
