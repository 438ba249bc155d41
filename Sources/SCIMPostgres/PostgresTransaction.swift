import SCIMCore

/// One transaction of `PostgresStore`, scoped to a tenant by `scope(toTenant:)`: every statement
/// reads the tenant from the transaction-local setting `scim.tenant_id`, which row-level security
/// policies read as well.
final class PostgresTransaction: StoreTransaction {
    let connection: PostgresConnection
    /// The failure the store's retry loop must see: a lost connection or a serialization failure.
    private(set) var databaseError: PostgresError?

    init(connection: PostgresConnection) {
        self.connection = connection
    }

    func run(_ script: String) throws(SCIMError) {
        do {
            try connection.executeScript(script)
        } catch {
            throw record(error)
        }
    }

    @discardableResult
    func query(_ sql: SQL, prepared: Bool = true) throws(SCIMError) -> PostgresRows {
        do {
            return try connection.execute(sql, prepared: prepared)
        } catch {
            throw record(error)
        }
    }

    private func record(_ error: PostgresError) -> SCIMError {
        if error.isConnectionFailure || error.isRetryable {
            databaseError = error
            return .unavailable("The database is unavailable.")
        }
        switch error.sqlState ?? "" {
        case "23505": return .conflict("A value that must be unique is already in use.")
        case "57014": return .unavailable("The request took too long and was cancelled.")
        case let state where state.hasPrefix("22") || state.hasPrefix("23"):
            return .badRequest(.invalidValue, "The database refused a value: \(error.message)")
        default:
            databaseError = error
            return .internalError("An internal database error occurred.")
        }
    }

    // MARK: - Authentication

    func authenticate(tenantSlug: String, bearerToken: String) throws(SCIMError) -> AuthenticatedKey? {
        guard let prefix = APIKeyToken.prefix(of: bearerToken) else { return nil }
        let rows = try query("""
            select k.id, k.secret_hash, array_to_string(k.scopes, ',') as scopes, t.id as tenant_id, t.scim_enabled,
                   (k.last_used_at is null or k.last_used_at < now() - interval '1 minute') as stale
            from scim.api_keys k join scim.tenants t on t.id = k.tenant_id
            where k.prefix = \(prefix) and t.slug = \(tenantSlug)
              and k.revoked_at is null and (k.expires_at is null or k.expires_at > now())
            """)
        guard rows.rows.count == 1, let storedHex = rows[0, "secret_hash"],
              let stored = APIKeyToken.bytes(fromByteaHex: storedHex),
              APIKeyToken.constantTimeEquals(stored, APIKeyToken.hash(bearerToken)),
              let keyId = rows[0, "id"], let tenantId = rows[0, "tenant_id"]
        else { return nil }
        if rows[0, "stale"] == "t" {
            // last_used_at is refreshed at most once a minute, not written on every request.
            try query("update scim.api_keys set last_used_at = now() where id = \(keyId)::uuid")
        }
        return AuthenticatedKey(tenantId: tenantId, tenantSlug: tenantSlug, keyId: keyId, keyPrefix: prefix,
                                scopes: (rows[0, "scopes"] ?? "").split(separator: ",").map(String.init),
                                scimEnabled: rows[0, "scim_enabled"] == "t")
    }

    func scope(toTenant tenantId: String) throws(SCIMError) {
        try query("select set_config('scim.tenant_id', \(tenantId), true)")
    }

    // MARK: - Users

    static let userColumns = """
        id, attributes::text as attributes, version,
        to_char(created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as created,
        to_char(updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as modified
        """
    static let tenant = "current_setting('scim.tenant_id')::uuid"

    func insertUser(_ user: UserWrite) throws(SCIMError) -> StoredResource {
        do {
            let rows = try query("""
                insert into scim.users (tenant_id, user_name, external_id, display_name, active, attributes)
                values (\(unsafeRaw: Self.tenant), \(user.userName), \(user.externalId), \(user.displayName), \(user.active),
                        \(user.attributes.jsonText)::jsonb)
                returning \(unsafeRaw: Self.userColumns)
                """)
            return try Self.resource(rows, 0)
        } catch where error.status == 409 {
            throw .conflict("A user with userName \"\(user.userName.prefix(200))\" already exists (userName is unique, ignoring case).")
        }
    }

    func fetchUser(id: String, forUpdate: Bool) throws(SCIMError) -> StoredResource? {
        let rows = try query("""
            select \(unsafeRaw: Self.userColumns) from scim.users
            where tenant_id = \(unsafeRaw: Self.tenant) and id = \(id)::uuid \(unsafeRaw: forUpdate ? "for update" : "")
            """)
        return rows.rows.isEmpty ? nil : try Self.resource(rows, 0)
    }

    func listUsers(filter: FilterExpression?, startIndex: Int, count: Int) throws(SCIMError) -> ListPage {
        var condition: SQL = "true"
        if let filter { condition = try FilterTranslator.users.translate(filter) }
        let offset = startIndex - 1
        if count == 0 {
            return ListPage(totalResults: try countUsers(condition), resources: [])
        }
        let rows = try query("""
            select \(unsafeRaw: Self.userColumns), count(*) over () as total from scim.users
            where tenant_id = \(unsafeRaw: Self.tenant) and (\(condition))
            order by id limit \(count) offset \(offset)
            """, prepared: filter == nil)
        var resources: [StoredResource] = []
        for row in 0..<rows.rows.count { resources.append(try Self.resource(rows, row)) }
        let total = rows.rows.isEmpty ? (offset == 0 ? 0 : try countUsers(condition)) : Int(rows[0, "total"] ?? "0") ?? 0
        return ListPage(totalResults: total, resources: resources)
    }

    private func countUsers(_ condition: SQL) throws(SCIMError) -> Int {
        let rows = try query("select count(*) as total from scim.users where tenant_id = \(unsafeRaw: Self.tenant) and (\(condition))",
                             prepared: false)
        return Int(rows[0, "total"] ?? "0") ?? 0
    }

    func updateUser(id: String, _ user: UserWrite) throws(SCIMError) -> StoredResource? {
        do {
            let rows = try query("""
                update scim.users set user_name = \(user.userName), external_id = \(user.externalId),
                    display_name = \(user.displayName), active = \(user.active), attributes = \(user.attributes.jsonText)::jsonb,
                    version = version + 1, updated_at = greatest(now(), updated_at + interval '1 millisecond')
                where tenant_id = \(unsafeRaw: Self.tenant) and id = \(id)::uuid
                returning \(unsafeRaw: Self.userColumns)
                """)
            return rows.rows.isEmpty ? nil : try Self.resource(rows, 0)
        } catch where error.status == 409 {
            throw .conflict("Another user already has userName \"\(user.userName.prefix(200))\" (userName is unique, ignoring case).")
        }
    }

    func deleteUser(id: String) throws(SCIMError) -> Bool {
        let rows = try query("""
            with deleted as (
                delete from scim.users where tenant_id = \(unsafeRaw: Self.tenant) and id = \(id)::uuid returning id
            ), memberships as (
                delete from scim.group_members m using deleted
                where m.tenant_id = \(unsafeRaw: Self.tenant) and m.member_id = deleted.id
            )
            select count(*) as deleted from deleted
            """)
        return rows[0, "deleted"] == "1"
    }

    static func resource(_ rows: PostgresRows, _ row: Int) throws(SCIMError) -> StoredResource {
        guard let id = rows[row, "id"], let text = rows[row, "attributes"], let version = rows[row, "version"].flatMap({ Int($0) }),
              let created = rows[row, "created"], let modified = rows[row, "modified"],
              case .object(let stored)? = try? JSONParser.parse(text, maxDepth: 64)
        else { throw .internalError("A stored resource could not be read.") }
        // jsonb keeps keys in its own order; put them back in schema order for output.
        let attributes = (try? ResourceNormalizer(CoreSchemas.userResourceType).normalize(stored)) ?? stored
        return StoredResource(id: id, attributes: attributes, version: version, created: created, lastModified: modified)
    }
}

extension JSONObject {
    var jsonText: String { JSONValue.object(self).serialized() }
}
