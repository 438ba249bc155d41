import SCIMCore

/// Users: one statement per operation, the application user kept in step in the same statement.
extension PostgresTransaction {
    func insertUser(_ user: UserWrite) throws(SCIMError) -> StoredResource {
        let rows = try query(withDirectorySync(user, """
            insert into scim.users as r (tenant_id, user_name, external_id, display_name, active, attributes, search_text, search_keys)
            values (\(tenant), \(user.userName), \(user.externalId), \(user.displayName), \(user.active),
                    \(user.attributes.jsonText)::jsonb, \(Self.searchColumns(user)))
            returning \(Self.userColumns(Self.newUserFields))
            """))
        return try resource(rows, 0, .user)
    }

    func fetchUser(id: String, forUpdate: Bool) throws(SCIMError) -> StoredResource? {
        let rows = try query("""
            select \(Self.userColumns) from scim.users r
            where r.tenant_id = \(tenant) and r.id = \(id)::uuid \(forUpdate ? "for update of r" : "" as SQL)
            """)
        return rows.rows.isEmpty ? nil : try resource(rows, 0, .user)
    }

    func listUsers(filter: ResolvedFilter?, window: ListWindow, sort: ResolvedSort?, fields: FieldSelection) throws(SCIMError) -> ListPage {
        try list(table: "scim.users", columns: Self.userColumns(fields), renderer: .users, kind: .user, filter: filter,
                 window: window, sort: sort)
    }

    /// A user as it is created: its id is new, so no membership can name it yet (no groups subquery).
    static let newUserFields = FieldSelection(keys: nil, memberships: false)

    /// The user columns for a listing that needs only some of each user: the listed JSON keys, and
    /// the groups subquery only when groups are returned.
    static func userColumns(_ fields: FieldSelection) -> SQL {
        guard fields != .all else { return userColumns }
        var columns: SQL = "r.id, r.version, \(timestamps), "
        if let keys = fields.keys {
            columns = columns + """
                (select coalesce(jsonb_object_agg(e.key, e.value), '{}'::jsonb) from jsonb_each(r.attributes) e
                  where e.key = any(\(FilterRenderer.textArrayLiteral(keys))::text[]))::text as attributes
                """
        } else {
            columns = columns + "r.attributes::text as attributes"
        }
        return columns + (fields.memberships ? ", \(groupsColumn)" : ", null::text as groups")
    }

    func updateUser(id: String, _ user: UserWrite) throws(SCIMError) -> StoredResource? {
        let rows = try query(withDirectorySync(user, """
            update scim.users r set user_name = \(user.userName), external_id = \(user.externalId),
                display_name = \(user.displayName), active = \(user.active), attributes = \(user.attributes.jsonText)::jsonb,
                (search_text, search_keys) = (\(Self.searchColumns(user))), \(Self.nextVersion)
            where r.tenant_id = \(tenant) and r.id = \(id)::uuid
            returning \(Self.userColumns)
            """))
        return rows.rows.isEmpty ? nil : try resource(rows, 0, .user)
    }

    /// The search columns' values (SearchColumns), lowered by the database.
    static func searchColumns(_ user: UserWrite) -> SQL {
        let search = SearchColumns(user.attributes)
        return "lower(\(search.text)), lower(\(search.keysLiteral))::text[]"
    }

    /// The write, and in the same statement the application user's sync: `app.sync_user` is
    /// volatile, so it runs after the write and sees it, with no round trip of its own.
    func withDirectorySync(_ user: UserWrite, _ write: SQL) -> SQL {
        guard let fields = user.directoryFields else { return write }
        return """
            with written as (\(write))
            select written.*, app.sync_user(\(tenant), written.id, \(fields.jsonText)::jsonb, \(user.requestId)) as directory
            from written
            """
    }

    func deleteUser(id: String) throws(SCIMError) -> Bool {
        try deleteResource(table: "scim.users", id: id)
    }

    /// Deletes a user or group and, in the same statement, its memberships in groups.
    func deleteResource(table: SQL, id: String) throws(SCIMError) -> Bool {
        let rows = try query("""
            with deleted as (
                delete from \(table) where tenant_id = \(tenant) and id = \(id)::uuid returning id
            ), memberships as (
                delete from scim.group_members m using deleted
                where m.tenant_id = \(tenant) and m.member_id = deleted.id
            )
            select count(*) as deleted from deleted
            """)
        return rows[0, "deleted"] == "1"
    }
}
