import SCIMAdmin
import SCIMCore

/// What an administrator of one tenant does to its provisioning: settings, mappings, departments,
/// roles, custom fields, manual roles, the log and the errors. The admin API and scimctl both work
/// through it, inside one transaction scoped to the tenant; every answer is the JSON the API sends.
/// Every change is audited (scim.mapping_changes); a change that alters what users become bumps
/// the tenant's mapping_version and starts a re-apply job, or, as a dry run, is applied to the
/// users, measured and rolled back.
public struct DirectoryAdministration {
    let transaction: PostgresTransaction
    public let tenantId: String
    /// Who acts, for the audit: admin-api:<key prefix> or scimctl:<user>.
    public let actor: String

    init(transaction: PostgresTransaction, tenantId: String, actor: String) {
        self.transaction = transaction
        self.tenantId = tenantId
        self.actor = actor
    }

    var tenant: SQL { "\(tenantId)::uuid" }

    /// Runs a query whose single column `json` holds a JSON document, and parses it.
    func json(_ sql: SQL) throws(SCIMError) -> JSONValue {
        let rows = try transaction.query(sql)
        guard let text = rows.rows.first?.first ?? nil, let value = try? JSONParser.parse(text, maxDepth: 64) else { return .null }
        return value
    }

    func object(_ sql: SQL) throws(SCIMError) -> JSONObject? {
        try json(sql).objectValue
    }

    func audit(_ kind: String, _ action: String, old: JSONValue?, new: JSONValue?) throws(SCIMError) {
        try transaction.query("""
            insert into scim.mapping_changes (tenant_id, changed_by, kind, action, old_value, new_value)
            values (\(tenant), \(actor), \(kind), \(action), \(old?.serialized())::jsonb, \(new?.serialized())::jsonb)
            """)
    }

    /// A list in the admin API's shape.
    static func page(_ items: JSONValue, total: Int, startIndex: Int) -> JSONObject {
        let list = items.arrayValue ?? []
        return JSONObject([("totalResults", .integer(total)), ("startIndex", .integer(startIndex)),
                           ("itemsPerPage", .integer(list.count)), ("items", .array(list))])
    }

    // MARK: - Settings

    public func settings(endpointBase: String) throws(SCIMError) -> JSONObject {
        guard var settings = try object("""
            select json_build_object('tenant', slug, 'name', name, 'scimEnabled', scim_enabled,
                                     'unmappedDepartment', unmapped_department, 'mappingVersion', mapping_version)::text
            from scim.tenants where id = \(tenant)
            """) else { throw .notFound("The tenant no longer exists.") }
        settings["endpointUrl"] = .string(endpointBase + (settings["tenant"]?.stringValue ?? ""))
        return settings
    }

    public func updateSettings(_ change: SettingsChange, endpointBase: String) throws(SCIMError) -> JSONObject {
        let before = try settings(endpointBase: endpointBase)
        let enabled = change.scimEnabled
        let unmapped = change.unmappedDepartment?.rawValue
        try transaction.query("""
            update scim.tenants set scim_enabled = coalesce(\(enabled)::boolean, scim_enabled),
                                    unmapped_department = coalesce(\(unmapped)::text, unmapped_department),
                                    mapping_version = mapping_version + coalesce(\(unmapped)::text <> unmapped_department, false)::int
            where id = \(tenant)
            """)
        if enabled == true {
            // Requests refused while SCIM was off have their cause gone; one refused for another
            // reason (a key without the scim scope) opens again on its next attempt.
            try transaction.query("""
                update scim.provisioning_errors set resolved_at = now(), resolved_by = 'system'
                where tenant_id = \(tenant) and kind = 'rejected_request' and cause = '403' and resolved_at is null
                """)
        }
        let after = try settings(endpointBase: endpointBase)
        try audit("settings", "update", old: .object(before), new: .object(after))
        return after
    }

    // MARK: - Helpers

    static func requiredText(_ body: JSONObject, _ name: String, _ what: String) throws(SCIMError) -> String {
        guard let text = body[name]?.stringValue?.trimmingWhitespace, !text.isEmpty, text.count <= 200 else {
            throw .badRequest(.invalidValue, "\(what.prefix(1).uppercased() + what.dropFirst()) needs \"\(name)\": a non-empty string of at most 200 characters.")
        }
        return text
    }

    static func uuid(_ id: String) throws(SCIMError) -> String {
        guard ResourceID.isValid(id) else { throw .notFound("No item \(id.prefix(100)).") }
        return id
    }
}

extension DirectoryAdministration: TenantAdministrator {}
