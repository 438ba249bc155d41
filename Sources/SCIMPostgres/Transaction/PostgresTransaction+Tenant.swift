import SCIMAdmin
import SCIMCore

/// What a request learns of its tenant before it touches a resource: the key, the extension
/// schemas, the column mappings.
extension PostgresTransaction {
    /// A key this worker verified lately goes on at once, its check sent with the first statement
    /// that follows (`pendingKeyCheck`); any other key is checked before anything else is sent.
    func authenticate(tenantSlug: String, bearerToken: String) throws(SCIMError) -> AuthenticatedKey? {
        guard let prefix = APIKeyToken.prefix(of: bearerToken) else { return nil }
        let tokenHash = APIKeyToken.byteaHex(SecretToken.hash(bearerToken))
        let statement = Self.keyStatement(tenantSlug: tenantSlug, prefix: prefix, tokenHash: tokenHash)
        let name = VerifiedKeys.name(tenantSlug: tenantSlug, tokenHash: tokenHash)
        if goesOnWithRememberedKeys, let key = verifiedKeys?.speculation(name) {
            pendingKeyCheck = PendingKeyCheck(statement: statement, expected: key, name: name)
            scopedTenant = key.tenantId
            return key
        }
        let rows = try query(statement)
        guard let key = Self.key(rows, tenantSlug: tenantSlug, prefix: prefix) else {
            verifiedKeys?.forget(name)
            return nil
        }
        scopedTenant = key.tenantId
        verifiedKeys?.remember(name, key)
        return key
    }

    /// Finds a live key by tenant slug, prefix and the hash of the whole token, and scopes the
    /// transaction to its tenant in the same statement: only a row that passed every condition sets
    /// the scope, so without a valid key nothing of the tenant can be read (row-level security).
    /// The hash is compared in SQL; an early mismatch in the bytes of a SHA-256 tells nothing of the token.
    static func keyStatement(tenantSlug: String, prefix: String, tokenHash: String) -> SQL {
        """
        select k.id, k.scopes, t.id as tenant_id, t.scim_enabled, t.schema_version, t.mapping_version,
               set_config('scim.tenant_id', t.id::text, true) as scoped_tenant,
               (k.last_used_at is null or k.last_used_at < now() - interval '1 minute') as stale
        from scim.api_keys k join scim.tenants t on t.id = k.tenant_id
        where k.prefix = \(prefix) and t.slug = \(tenantSlug) and k.secret_hash = \(tokenHash)::bytea
          and k.revoked_at is null and (k.expires_at is null or k.expires_at > now())
        """
    }

    static func key(_ rows: PostgresRows?, tenantSlug: String, prefix: String) -> AuthenticatedKey? {
        guard let rows, rows.rows.count == 1, let keyId = rows[0, "id"], let tenantId = rows[0, "tenant_id"],
              rows[0, "scoped_tenant"] == tenantId else { return nil }
        var key = AuthenticatedKey(tenantId: tenantId, tenantSlug: tenantSlug, keyId: keyId, keyPrefix: prefix,
                                   scopes: rows.textArray(0, "scopes") ?? [],
                                   scimEnabled: rows.bool(0, "scim_enabled") == true, schemaVersion: rows.int(0, "schema_version") ?? 0)
        key.mappingVersion = rows.int(0, "mapping_version") ?? 0
        // last_used_at is refreshed at most once a minute, and never inside the request's
        // transaction, where the row lock would hold up every other request with this key.
        key.lastUseIsStale = rows.bool(0, "stale") == true
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
            select id, scim_path, field, default_value, transforms
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
                                 transforms: (rows.textArray(row, "transforms") ?? []).compactMap(ColumnMapping.Transform.init(rawValue:)))
        }
    }

    static func customFields(_ rows: PostgresRows) -> [CustomField] {
        (0..<rows.rows.count).compactMap { row in
            guard let name = rows[row, "name"] else { return nil }
            return CustomField(name: name, label: rows[row, "label"] ?? name, maxLength: rows.int(row, "max_length") ?? 200)
        }
    }
}

/// The check of a remembered key, waiting to travel with the transaction's next round trip.
struct PendingKeyCheck {
    var statement: SQL
    var expected: AuthenticatedKey
    /// Its name in `VerifiedKeys`.
    var name: String

    /// The check found the same key of the same tenant, with the same scopes, switch and versions.
    func agrees(with rows: PostgresRows?) -> Bool {
        guard let found = PostgresTransaction.key(rows, tenantSlug: expected.tenantSlug, prefix: expected.keyPrefix) else { return false }
        return found.keyId == expected.keyId && found.tenantId == expected.tenantId && found.scopes == expected.scopes
            && found.scimEnabled == expected.scimEnabled && found.schemaVersion == expected.schemaVersion
            && found.mappingVersion == expected.mappingVersion
    }
}
