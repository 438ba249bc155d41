import SCIMCore

/// The operator's work across tenants (create and list tenants, extension schemas, log retention),
/// for scimctl. What a tenant's own administrator does goes through the admin layer (`SCIMAdmin`).
public struct TenantAdministration {
    public struct Tenant: Sendable {
        public var id: String
        public var slug: String
        public var name: String
        public var scimEnabled: Bool
        public var createdAt: String
    }

    public enum Failure: Error, CustomStringConvertible {
        case invalid(String)
        case notFound(String)
        case database(PostgresError)

        public var description: String {
            switch self {
            case .invalid(let message), .notFound(let message): return message
            case .database(let error): return "database error: \(error)"
            }
        }
    }

    let connection: PostgresConnection

    public init(connection: PostgresConnection) {
        self.connection = connection
    }

    private func run(_ sql: SQL) throws(Failure) -> PostgresRows {
        do {
            return try connection.execute(sql)
        } catch {
            throw .database(error)
        }
    }

    static let tenantColumns: SQL = "id, slug, name, scim_enabled, to_char(created_at at time zone 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') as created"

    private func tenant(_ rows: PostgresRows, _ i: Int) -> Tenant {
        Tenant(id: rows[i, "id"] ?? "", slug: rows[i, "slug"] ?? "", name: rows[i, "name"] ?? "",
               scimEnabled: rows.bool(i, "scim_enabled") == true, createdAt: rows[i, "created"] ?? "")
    }

    public func createTenant(slug: String, name: String, scimEnabled: Bool) throws(Failure) -> Tenant {
        guard Route.isValidSlug(slug) else {
            throw .invalid("'\(slug)' is not a valid tenant slug: use 1-63 lower-case letters, digits and dashes, starting with a letter or digit.")
        }
        do {
            let rows = try connection.execute("""
                with created as (
                    insert into scim.tenants (slug, name, scim_enabled) values (\(slug), \(name), \(scimEnabled))
                    returning *
                ), mappings as (
                    select scim.create_default_column_mappings(id) from created
                )
                select \(Self.tenantColumns), (select count(*) from mappings) as default_mappings from created
                """)
            return tenant(rows, 0)
        } catch where error.sqlState?.isRefusedValue == true {
            throw .invalid(DatabaseErrorMapping.scimError(error, committing: false).detail)
        } catch {
            throw .database(error)
        }
    }

    public func tenants() throws(Failure) -> [Tenant] {
        let rows = try run("select \(Self.tenantColumns) from scim.tenants order by slug")
        return (0..<rows.rows.count).map { tenant(rows, $0) }
    }

    public func tenant(slug: String) throws(Failure) -> Tenant {
        let rows = try run("select \(Self.tenantColumns) from scim.tenants where slug = \(slug)")
        guard !rows.rows.isEmpty else { throw .notFound("No tenant with slug '\(slug)'.") }
        return tenant(rows, 0)
    }

    // MARK: - Extension schemas

    /// Declares (or redefines) a custom extension schema for the tenant's Users or Groups.
    public func setExtension(tenantSlug: String, resourceType: String, definition: JSONObject) throws(Failure) -> SchemaDefinition {
        guard resourceType == "User" || resourceType == "Group" else { throw .invalid("The resource type must be User or Group.") }
        let schema: SchemaDefinition
        do {
            schema = try SchemaDefinition(scimRepresentation: definition)
        } catch {
            throw .invalid(error.detail)
        }
        let owner = try tenant(slug: tenantSlug)
        let stored = JSONValue.object(Discovery.representation(schema)).serialized()
        do {
            try connection.executeScript("begin")
            try connection.execute("""
                insert into scim.schema_extensions (tenant_id, urn, resource_type, definition)
                values (\(owner.id)::uuid, \(schema.id), \(resourceType), \(stored)::jsonb)
                on conflict (tenant_id, urn) do update
                set resource_type = excluded.resource_type, definition = excluded.definition, updated_at = now()
                """)
            try connection.execute("update scim.tenants set schema_version = schema_version + 1 where id = \(owner.id)::uuid")
            try connection.executeScript("commit")
        } catch {
            _ = try? connection.executeScript("rollback")
            if error.sqlState?.isRefusedValue == true { throw .invalid(DatabaseErrorMapping.scimError(error, committing: false).detail) }
            throw .database(error)
        }
        return schema
    }

    public func extensions(tenantSlug: String) throws(Failure) -> [(resourceType: String, schema: SchemaDefinition)] {
        let owner = try tenant(slug: tenantSlug)
        let rows = try run("""
            select resource_type, definition::text from scim.schema_extensions where tenant_id = \(owner.id)::uuid order by created_at, urn
            """)
        return rows.rows.compactMap { row in
            guard let type = row[0], let text = row[1], case .object(let object)? = try? JSONParser.parse(text, maxDepth: 64),
                  let schema = try? SchemaDefinition(scimRepresentation: object) else { return nil }
            return (type, schema)
        }
    }

    /// Removes the declaration; values already stored stay in the resources but are no longer served.
    public func removeExtension(tenantSlug: String, urn: String) throws(Failure) {
        let owner = try tenant(slug: tenantSlug)
        let rows = try run("""
            with removed as (
                delete from scim.schema_extensions where tenant_id = \(owner.id)::uuid and lower(urn) = lower(\(urn)) returning urn
            ), bumped as (
                update scim.tenants set schema_version = schema_version + 1
                where id = \(owner.id)::uuid and exists (select 1 from removed)
            )
            select count(*) as removed from removed
            """)
        guard rows[0, "removed"] != "0" else { throw .notFound("Tenant '\(tenantSlug)' has no extension \(urn).") }
    }

    // MARK: - Provisioning log

    /// The log's retention and what its automatic maintenance last did (scim.log_retention).
    public struct LogRetention: Sendable, Equatable {
        public var days: Int
        public var monthsAhead: Int
        public var lastRunAt: String?
        public var lastRunDropped: Int?
        public var partitions: [String]
    }

    public func logRetention() throws(Failure) -> LogRetention {
        let rows = try run("""
            select retention_days, months_ahead,
                   to_char(last_run_at at time zone 'UTC', 'YYYY-MM-DD HH24:MI "UTC"') as last_run_at, last_run_dropped,
                   (select string_agg(c.relname, ' ' order by c.relname) from pg_inherits i join pg_class c on c.oid = i.inhrelid
                    where i.inhparent = 'scim.provisioning_log'::regclass) as partitions
            from scim.log_retention where singleton
            """)
        return LogRetention(days: rows.int(0, "retention_days") ?? 90, monthsAhead: rows.int(0, "months_ahead") ?? 3,
                            lastRunAt: rows[0, "last_run_at"], lastRunDropped: rows.int(0, "last_run_dropped"),
                            partitions: (rows[0, "partitions"] ?? "").split(separator: " ").map(String.init))
    }

    /// Sets how long the log keeps rows; the next automatic maintenance (within the hour) applies it.
    public func setLogRetention(days: Int) throws(Failure) {
        guard (1...3650).contains(days) else { throw .invalid("The retention is from 1 to 3650 days.") }
        try run("update scim.log_retention set retention_days = \(days), last_run_at = null where singleton")
    }

    /// Applies the retention: rows older than `days` go (see scim.purge_provisioning_log).
    public func purgeLog(olderThanDays days: Int) throws(Failure) -> Int {
        guard days >= 1 else { throw .invalid("Keep at least one day of log.") }
        let rows = try run("select scim.purge_provisioning_log(make_interval(days => \(days))) as dropped")
        return rows.int(0, "dropped") ?? 0
    }
}
