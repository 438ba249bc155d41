import Logging
import SCIMAdmin
import SCIMCore

/// One transaction of `PostgresStore`, scoped to a tenant by `scope(toTenant:)`: every statement
/// reads the tenant from the transaction-local setting `scim.tenant_id`, which row-level security
/// policies read as well.
final class PostgresTransaction: StoreTransaction {
    let connection: PostgresConnection
    /// The failure the store's retry loop must see: a lost connection or a serialization failure.
    private(set) var databaseError: PostgresError?
    /// The tenant's schemas, set by `scope(toTenant:schemas:)`.
    private(set) var schemas = TenantSchemas.standard
    /// The tenant `scim.tenant_id` is set to in this transaction, if any.
    private var scopedTenant: String?

    let logger: Logger
    /// When the request's work must stop (nil for scimctl and background work).
    let deadline: RequestDeadline?
    /// The statement timeout in force in this transaction: the connection's, or less near the deadline.
    private var statementTimeoutMilliseconds: Int?

    init(connection: PostgresConnection, logger: Logger, deadline: RequestDeadline? = nil) {
        self.connection = connection
        self.logger = logger
        self.deadline = deadline
        statementTimeoutMilliseconds = connection.statementTimeoutMilliseconds
    }

    /// Stops at the deadline, and keeps the next statement from running past it: once the
    /// statement timeout in force would let it end more than a second late, the timeout is
    /// lowered to what remains (one extra round trip, at most about once a second).
    private func keepToDeadline() throws(SCIMError) {
        guard let deadline else { return }
        let remaining = deadline.remainingMilliseconds
        if remaining <= 0 { throw deadline.exceeded }
        if let current = statementTimeoutMilliseconds, current <= remaining + 1_000 { return }
        try run("set local statement_timeout = \(remaining)")
        statementTimeoutMilliseconds = remaining
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
        try keepToDeadline()
        do {
            return try connection.execute(sql, prepared: prepared)
        } catch {
            throw record(error)
        }
    }

    /// Keeps what the store's retry loop must see (a lost connection, a serialization failure, an
    /// unexpected failure) and answers with what the client may be told.
    private func record(_ error: PostgresError) -> SCIMError {
        let state = error.sqlState ?? ""
        if !(state.hasPrefix("22") || state.hasPrefix("23") || state == "57014") {
            databaseError = error
        }
        DatabaseErrorMapping.log(error, logger)
        if state == "57014", let deadline, deadline.remainingMilliseconds < 100 { return deadline.exceeded }
        return DatabaseErrorMapping.scimError(error, committing: false)
    }

    func withSavepoint<T>(_ body: () throws(SCIMError) -> T) throws(SCIMError) -> T {
        try run("savepoint bulk_operation")
        do {
            let result = try body()
            try run("release savepoint bulk_operation")
            return result
        } catch {
            // A lost connection cannot be rolled back to a savepoint; the whole transaction fails.
            if databaseError?.isConnectionFailure == true { throw error }
            try run("rollback to savepoint bulk_operation")
            try run("release savepoint bulk_operation")
            throw error
        }
    }

    // MARK: - Authentication

    func authenticate(tenantSlug: String, bearerToken: String) throws(SCIMError) -> AuthenticatedKey? {
        guard let prefix = APIKeyToken.prefix(of: bearerToken) else { return nil }
        let rows = try query("""
            select k.id, k.secret_hash, array_to_string(k.scopes, ',') as scopes, t.id as tenant_id, t.scim_enabled,
                   t.schema_version, t.mapping_version,
                   -- Scopes the transaction to the tenant in the same round trip; a key that then
                   -- fails verification ends the request with nothing read or written.
                   set_config('scim.tenant_id', t.id::text, true) as scoped_tenant,
                   (k.last_used_at is null or k.last_used_at < now() - interval '1 minute') as stale
            from scim.api_keys k join scim.tenants t on t.id = k.tenant_id
            where k.prefix = \(prefix) and t.slug = \(tenantSlug)
              and k.revoked_at is null and (k.expires_at is null or k.expires_at > now())
            """)
        guard rows.rows.count == 1, let storedHex = rows[0, "secret_hash"],
              let stored = APIKeyToken.bytes(fromByteaHex: storedHex),
              SecretToken.constantTimeEquals(stored, SecretToken.hash(bearerToken)),
              let keyId = rows[0, "id"], let tenantId = rows[0, "tenant_id"]
        else { return nil }
        scopedTenant = rows[0, "scoped_tenant"]
        var key = AuthenticatedKey(tenantId: tenantId, tenantSlug: tenantSlug, keyId: keyId, keyPrefix: prefix,
                                   scopes: (rows[0, "scopes"] ?? "").split(separator: ",").map(String.init),
                                   scimEnabled: rows[0, "scim_enabled"] == "t", schemaVersion: Int(rows[0, "schema_version"] ?? "") ?? 0)
        key.mappingVersion = Int(rows[0, "mapping_version"] ?? "") ?? 0
        // last_used_at is refreshed at most once a minute, and never inside the request's
        // transaction, where the row lock would hold up every other request with this key.
        key.lastUseIsStale = rows[0, "stale"] == "t"
        return key
    }

    func schemaExtensions(tenantId: String) throws(SCIMError) -> [(resourceType: String, schema: SchemaDefinition)] {
        let rows = try query("""
            select resource_type, definition::text as definition from scim.schema_extensions
            where tenant_id = \(tenantId)::uuid order by created_at, urn
            """)
        var extensions: [(String, SchemaDefinition)] = []
        for row in rows.rows {
            // Definitions were validated when saved; one that no longer parses is skipped, not fatal.
            guard let type = row[0], let text = row[1], case .object(let object)? = try? JSONParser.parse(text, maxDepth: 64),
                  let schema = try? SchemaDefinition(scimRepresentation: object) else { continue }
            extensions.append((type, schema))
        }
        return extensions
    }

    func directoryConfiguration(tenantId: String) throws(SCIMError) -> (mappings: [ColumnMapping], customFields: [CustomField]) {
        let mappings = try query("""
            select id, scim_path, field, default_value, array_to_string(transforms, ',') as transforms
            from scim.column_mappings where tenant_id = \(tenantId)::uuid order by field
            """)
        let fields = try query("""
            select name, label, max_length from app.custom_fields where tenant_id = \(tenantId)::uuid order by name
            """)
        return (Self.columnMappings(mappings), Self.customFields(fields))
    }

    static func columnMappings(_ rows: PostgresRows) -> [ColumnMapping] {
        (0..<rows.rows.count).compactMap { row in
            guard let path = rows[row, "scim_path"], let field = rows[row, "field"] else { return nil }
            return ColumnMapping(id: rows[row, "id"], scimPath: path, field: field, defaultValue: rows[row, "default_value"],
                                 transforms: (rows[row, "transforms"] ?? "").split(separator: ",")
                                     .compactMap { ColumnMapping.Transform(rawValue: String($0)) })
        }
    }

    static func customFields(_ rows: PostgresRows) -> [CustomField] {
        (0..<rows.rows.count).compactMap { row in
            guard let name = rows[row, "name"] else { return nil }
            return CustomField(name: name, label: rows[row, "label"] ?? name, maxLength: Int(rows[row, "max_length"] ?? "") ?? 200)
        }
    }

    func scope(toTenant tenantId: String, schemas: TenantSchemas) throws(SCIMError) {
        self.schemas = schemas
        guard tenantId != scopedTenant else { return }
        try query("select set_config('scim.tenant_id', \(tenantId), true)")
        scopedTenant = tenantId
    }

    // MARK: - Users

    static let timestamps = """
        to_char(r.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as created,
        to_char(r.updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as modified
        """
    /// A user's `groups` (RFC 7643 §4.1.2) come from the membership table, never from its JSON.
    static let userColumns = "r.id, r.attributes::text as attributes, r.version, \(timestamps), \(groupsColumn)"
    static let groupsColumn = """
        (select jsonb_agg(jsonb_build_object('value', g.id, 'display', g.display_name, 'type', 'direct')
                          order by g.display_name)::text
           from scim.group_members m join scim.groups g on g.tenant_id = m.tenant_id and g.id = m.group_id
          where m.tenant_id = r.tenant_id and m.member_id = r.id) as groups
        """
    static let groupColumns = "r.id, r.attributes::text as attributes, r.version, \(timestamps)"
    static let tenant = "current_setting('scim.tenant_id')::uuid"
    /// Every change to a resource: the next version (its ETag), and a lastModified that moves
    /// forward even when two changes fall in the same transaction timestamp.
    static let nextVersion = "version = r.version + 1, updated_at = greatest(now(), r.updated_at + interval '1 millisecond')"

    func insertUser(_ user: UserWrite) throws(SCIMError) -> StoredResource {
        do {
            let rows = try query(Self.withDirectorySync(user, """
                insert into scim.users as r (tenant_id, user_name, external_id, display_name, active, attributes)
                values (\(unsafeRaw: Self.tenant), \(user.userName), \(user.externalId), \(user.displayName), \(user.active),
                        \(user.attributes.jsonText)::jsonb)
                returning \(unsafeRaw: Self.userColumns)
                """))
            return try resource(rows, 0, .user)
        } catch where error.status == 409 {
            throw .conflict("A user with userName \"\(user.userName.prefix(200))\" already exists (userName is unique, ignoring case).")
        }
    }

    func fetchUser(id: String, forUpdate: Bool) throws(SCIMError) -> StoredResource? {
        let rows = try query("""
            select \(unsafeRaw: Self.userColumns) from scim.users r
            where r.tenant_id = \(unsafeRaw: Self.tenant) and r.id = \(id)::uuid \(unsafeRaw: forUpdate ? "for update of r" : "")
            """)
        return rows.rows.isEmpty ? nil : try resource(rows, 0, .user)
    }

    func listUsers(filter: FilterExpression?, window: ListWindow, sort: SortOrder?, fields: FieldSelection) throws(SCIMError) -> ListPage {
        try list(table: "scim.users", columns: Self.userColumns(fields), translator: .users(schemas.user), kind: .user, filter: filter,
                 window: window, sort: sort)
    }

    /// The user columns for a listing that needs only some of each user: the listed JSON keys, and
    /// the groups subquery only when groups are returned.
    static func userColumns(_ fields: FieldSelection) -> SQL {
        guard fields != .all else { return SQL(unsafeRaw: userColumns) }
        var columns: SQL = "r.id, r.version, \(unsafeRaw: timestamps), "
        if let keys = fields.keys {
            columns = columns + """
                (select coalesce(jsonb_object_agg(e.key, e.value), '{}'::jsonb) from jsonb_each(r.attributes) e
                  where e.key = any(\("{" + keys.map(FilterTranslator.arrayElement).joined(separator: ",") + "}")::text[]))::text as attributes
                """
        } else {
            columns = columns + "r.attributes::text as attributes"
        }
        return columns + (fields.memberships ? SQL(unsafeRaw: ", " + groupsColumn) : ", null::text as groups")
    }

    /// One page and the total. The total rides along as a window count; a page past the end (no
    /// rows to carry it) asks for the count alone.
    private func list(table: String, columns: SQL, translator: FilterTranslator, kind: ResourceKind, filter: FilterExpression?,
                      window: ListWindow, sort: SortOrder?) throws(SCIMError) -> ListPage {
        let statement = try Self.listStatement(table: table, columns: columns, translator: translator, filter: filter,
                                               window: window, sort: sort)
        if window.count == 0 { return ListPage(totalResults: try total(statement.count), resources: []) }
        let rows = try query(statement.page)
        var resources: [StoredResource] = []
        for row in 0..<min(rows.rows.count, window.count) { resources.append(try resource(rows, row, kind)) }
        if window.cursor != nil {
            // One row more than asked tells whether another page follows; the total is counted apart,
            // since the page query sees only what lies after the cursor.
            return ListPage(totalResults: try total(statement.count), resources: resources,
                            hasMore: rows.rows.count > window.count)
        }
        let totalResults = rows.rows.isEmpty
            ? (window.startIndex == 1 ? 0 : try total(statement.count))
            : Int(rows[0, "total"] ?? "0") ?? 0
        return ListPage(totalResults: totalResults, resources: resources)
    }

    private func total(_ statement: SQL, prepared: Bool = true) throws(SCIMError) -> Int {
        Int(try query(statement, prepared: prepared)[0, "total"] ?? "0") ?? 0
    }

    /// The statements of a list request: the page (with the total as a window count in index
    /// paging), and the count alone for a page past the end, `count=0`, or cursor paging.
    static func listStatement(table: String, columns: SQL, translator: FilterTranslator, filter: FilterExpression?,
                              window: ListWindow, sort: SortOrder?) throws(SCIMError) -> (page: SQL, count: SQL) {
        var condition: SQL = "true"
        if let filter { condition = try translator.translate(filter) }
        let total: SQL = "select count(*) as total from \(unsafeRaw: table) r where r.tenant_id = \(unsafeRaw: tenant) and (\(condition))"
        let page: SQL
        switch window.cursor {
        case nil:
            page = """
                select \(columns), count(*) over () as total from \(unsafeRaw: table) r
                where r.tenant_id = \(unsafeRaw: tenant) and (\(condition))
                order by \(unsafeRaw: try translator.orderBy(sort)) limit \(window.count) offset \(window.startIndex - 1)
                """
        case .first:
            page = """
                select \(columns) from \(unsafeRaw: table) r where r.tenant_id = \(unsafeRaw: tenant) and (\(condition))
                order by r.id limit \(window.count + 1)
                """
        case .after(let id):
            page = """
                select \(columns) from \(unsafeRaw: table) r
                where r.tenant_id = \(unsafeRaw: tenant) and r.id > \(id)::uuid and (\(condition))
                order by r.id limit \(window.count + 1)
                """
        }
        return (page, total)
    }

    func updateUser(id: String, _ user: UserWrite) throws(SCIMError) -> StoredResource? {
        do {
            let rows = try query(Self.withDirectorySync(user, """
                update scim.users r set user_name = \(user.userName), external_id = \(user.externalId),
                    display_name = \(user.displayName), active = \(user.active), attributes = \(user.attributes.jsonText)::jsonb,
                    \(unsafeRaw: Self.nextVersion)
                where r.tenant_id = \(unsafeRaw: Self.tenant) and r.id = \(id)::uuid
                returning \(unsafeRaw: Self.userColumns)
                """))
            return rows.rows.isEmpty ? nil : try resource(rows, 0, .user)
        } catch where error.status == 409 {
            throw .conflict("Another user already has userName \"\(user.userName.prefix(200))\" (userName is unique, ignoring case).")
        }
    }

    /// The write, and in the same statement the application user's sync: `app.sync_user` is
    /// volatile, so it runs after the write and sees it, with no round trip of its own.
    static func withDirectorySync(_ user: UserWrite, _ write: SQL) -> SQL {
        guard let fields = user.directoryFields else { return write }
        return """
            with written as (\(write))
            select written.*, app.sync_user(\(unsafeRaw: tenant), written.id, \(fields.jsonText)::jsonb, \(user.requestId)) as directory
            from written
            """
    }

    func deleteUser(id: String) throws(SCIMError) -> Bool {
        try deleteResource(table: "scim.users", id: id)
    }

    /// Deletes a user or group and, in the same statement, its memberships in groups.
    private func deleteResource(table: String, id: String) throws(SCIMError) -> Bool {
        let rows = try query("""
            with deleted as (
                delete from \(unsafeRaw: table) where tenant_id = \(unsafeRaw: Self.tenant) and id = \(id)::uuid returning id
            ), memberships as (
                delete from scim.group_members m using deleted
                where m.tenant_id = \(unsafeRaw: Self.tenant) and m.member_id = deleted.id
            )
            select count(*) as deleted from deleted
            """)
        return rows[0, "deleted"] == "1"
    }

    // MARK: - Groups

    func insertGroup(_ group: GroupWrite) throws(SCIMError) -> StoredResource {
        do {
            let rows = try query("""
                insert into scim.groups as r (tenant_id, display_name, external_id, attributes)
                values (\(unsafeRaw: Self.tenant), \(group.displayName), \(group.externalId), \(group.attributes.jsonText)::jsonb)
                returning \(unsafeRaw: Self.groupColumns)
                """)
            return try resource(rows, 0, .group)
        } catch where error.status == 409 {
            throw .conflict("A group named \"\(group.displayName.prefix(200))\" already exists (displayName is unique, ignoring case).")
        }
    }

    func fetchGroup(id: String, forUpdate: Bool, includeMembers: Bool) throws(SCIMError) -> StoredResource? {
        let rows = try query("""
            select \(unsafeRaw: Self.groupColumns) from scim.groups r
            where r.tenant_id = \(unsafeRaw: Self.tenant) and r.id = \(id)::uuid \(unsafeRaw: forUpdate ? "for update" : "")
            """)
        guard !rows.rows.isEmpty else { return nil }
        var group = try resource(rows, 0, .group)
        if includeMembers { group = try withMembers([group])[0] }
        return group
    }

    func listGroups(filter: FilterExpression?, window: ListWindow, sort: SortOrder?, includeMembers: Bool) throws(SCIMError) -> ListPage {
        var page = try list(table: "scim.groups", columns: SQL(unsafeRaw: Self.groupColumns), translator: .groups(schemas.group), kind: .group, filter: filter,
                            window: window, sort: sort)
        if includeMembers { page.resources = try withMembers(page.resources) }
        return page
    }

    /// Reads the members of these groups in one statement, from the join table alone (RFC 7643
    /// §8.7.1 gives members value, $ref and type; no display name, so no join to users).
    private func withMembers(_ groups: [StoredResource]) throws(SCIMError) -> [StoredResource] {
        guard !groups.isEmpty else { return groups }
        let rows = try query("""
            select m.group_id, m.member_id, m.member_type
            from scim.group_members m
            where m.tenant_id = \(unsafeRaw: Self.tenant) and m.group_id = any(\(Self.uuidArray(groups.map(\.id)))::uuid[])
            order by m.group_id, m.added_at, m.member_id
            """)
        var members: [String: [JSONValue]] = [:]
        for row in rows.rows {
            guard let group = row[0], let member = row[1], let type = row[2] else { continue }
            let object = JSONObject([("value", .string(member)), ("type", .string(type))])
            members[group, default: []].append(.object(object))
        }
        return groups.map { group in
            var group = group
            group.attributes["members"] = .array(members[group.id] ?? [])
            return group
        }
    }

    func updateGroup(id: String, _ group: GroupWrite) throws(SCIMError) -> StoredResource? {
        do {
            let rows = try query("""
                update scim.groups r set display_name = \(group.displayName), external_id = \(group.externalId),
                    attributes = \(group.attributes.jsonText)::jsonb,
                    \(unsafeRaw: Self.nextVersion)
                where r.tenant_id = \(unsafeRaw: Self.tenant) and r.id = \(id)::uuid
                returning \(unsafeRaw: Self.groupColumns)
                """)
            return rows.rows.isEmpty ? nil : try resource(rows, 0, .group)
        } catch where error.status == 409 {
            throw .conflict("Another group is already named \"\(group.displayName.prefix(200))\" (displayName is unique, ignoring case).")
        }
    }

    func touchGroup(id: String) throws(SCIMError) -> StoredResource? {
        let rows = try query("""
            update scim.groups r set \(unsafeRaw: Self.nextVersion)
            where r.tenant_id = \(unsafeRaw: Self.tenant) and r.id = \(id)::uuid
            returning \(unsafeRaw: Self.groupColumns)
            """)
        return rows.rows.isEmpty ? nil : try resource(rows, 0, .group)
    }

    func deleteGroup(id: String) throws(SCIMError) -> Bool {
        // Its own members go with it by the foreign key.
        try deleteResource(table: "scim.groups", id: id)
    }

    func addMembers(groupId: String, memberIds: [String]) throws(SCIMError) -> Int {
        guard !memberIds.isEmpty else { return 0 }
        let invalid = memberIds.filter { !ResourceID.isValid($0) }
        guard invalid.isEmpty else { throw Self.unknownMembers(invalid) }
        let rows = try query("""
            with wanted as (select distinct unnest(\(Self.uuidArray(memberIds))::uuid[]) as id),
            found as (
                select u.id, 'User' as member_type from scim.users u join wanted w on w.id = u.id
                where u.tenant_id = \(unsafeRaw: Self.tenant)
                union all
                select g.id, 'Group' from scim.groups g join wanted w on w.id = g.id
                where g.tenant_id = \(unsafeRaw: Self.tenant)
            ),
            added as (
                insert into scim.group_members (tenant_id, group_id, member_id, member_type)
                select \(unsafeRaw: Self.tenant), \(groupId)::uuid, id, member_type from found
                where exists (select 1 from wanted) and (select count(*) from wanted) = (select count(*) from found)
                on conflict do nothing
                returning member_id
            )
            select (select count(*) from added) as added,
                   (select string_agg(w.id::text, ',') from wanted w where w.id not in (select id from found)) as missing
            """)
        if let missing = rows[0, "missing"], !missing.isEmpty {
            throw Self.unknownMembers(missing.split(separator: ",").map(String.init))
        }
        return Int(rows[0, "added"] ?? "0") ?? 0
    }

    static func unknownMembers(_ ids: [String]) -> SCIMError {
        .badRequest(.invalidValue, "No user or group of this tenant has the id \(ids.prefix(5).map { "\"\($0.prefix(100))\"" }.joined(separator: ", "))"
                    + (ids.count > 5 ? " (and \(ids.count - 5) more)" : "") + "; no member was added.")
    }

    func removeMembers(groupId: String, memberIds: [String]?) throws(SCIMError) -> Int {
        if let memberIds {
            let valid = memberIds.filter(ResourceID.isValid)
            guard !valid.isEmpty else { return 0 }
            let rows = try query("""
                delete from scim.group_members
                where tenant_id = \(unsafeRaw: Self.tenant) and group_id = \(groupId)::uuid
                  and member_id = any(\(Self.uuidArray(valid))::uuid[])
                """)
            return rows.affected
        }
        let rows = try query("""
            delete from scim.group_members where tenant_id = \(unsafeRaw: Self.tenant) and group_id = \(groupId)::uuid
            """)
        return rows.affected
    }

    /// `{a,b,c}`: the text form of a uuid[] bind. Only validated UUIDs reach it.
    static func uuidArray(_ ids: [String]) -> String { "{" + ids.joined(separator: ",") + "}" }

    enum ResourceKind {
        case user, group
    }

    func resource(_ rows: PostgresRows, _ row: Int, _ kind: ResourceKind) throws(SCIMError) -> StoredResource {
        guard let id = rows[row, "id"], let text = rows[row, "attributes"], let version = rows[row, "version"].flatMap({ Int($0) }),
              let created = rows[row, "created"], let modified = rows[row, "modified"],
              case .object(let stored)? = try? JSONParser.parse(text, maxDepth: 64)
        else { throw .internalError("A stored resource could not be read.") }
        // jsonb keeps keys in its own order; put them back in schema order for output.
        let normalizer = ResourceNormalizer(kind == .user ? schemas.user : schemas.group)
        var attributes = (try? normalizer.normalize(stored)) ?? stored
        if kind == .user, let groups = rows[row, "groups"], case .array(let list)? = try? JSONParser.parse(groups) {
            attributes["groups"] = .array(list.map { element in
                let object = element.objectValue ?? JSONObject()
                return .object(JSONObject(["value", "display", "type"].compactMap { key in object[key].map { (key, $0) } }))
            })
        }
        return StoredResource(id: id, attributes: attributes, version: version, created: created, lastModified: modified)
    }
}

extension JSONObject {
    var jsonText: String { JSONValue.object(self).serialized() }
}
