import SCIMAdmin
import SCIMCore

/// What a request learns of its tenant before it touches a resource: the key, the extension
/// schemas, the column mappings.
extension PostgresTransaction {
    func authenticate(tenantSlug: String, bearerToken: String) throws(SCIMError) -> AuthenticatedKey? {
        guard let prefix = APIKeyToken.prefix(of: bearerToken) else { return nil }
        let rows = try query("""
            select k.id, k.secret_hash, k.scopes, t.id as tenant_id, t.scim_enabled,
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
