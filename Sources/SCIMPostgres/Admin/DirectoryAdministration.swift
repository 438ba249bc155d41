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

    // MARK: - Departments, roles, custom fields

    public func departments() throws(SCIMError) -> JSONObject {
        let items = try json("""
            select coalesce(json_agg(json_build_object('id', d.id, 'name', d.name, 'createdBy', d.created_by,
                       'users', (select count(*) from app.users u where u.tenant_id = d.tenant_id and u.department_id = d.id))
                       order by lower(d.name)), '[]')::text
            from app.departments d where d.tenant_id = \(tenant)
            """)
        return Self.page(items, total: items.arrayValue?.count ?? 0, startIndex: 1)
    }

    public func createDepartment(_ body: JSONObject) throws(SCIMError) -> JSONObject {
        let name = try Self.requiredText(body, "name", "a department")
        let created = try object("""
            insert into app.departments (tenant_id, name) values (\(tenant), \(name))
            returning json_build_object('id', id, 'name', name, 'createdBy', created_by)::text
            """)
        try audit("department", "create", old: nil, new: created.map(JSONValue.object))
        try changedMappings(reason: "department \"\(name)\" created")
        return created ?? JSONObject()
    }

    /// Renames a department; users follow by id. A new name may match incoming values of that name,
    /// so the mappings are re-applied.
    public func renameDepartment(_ id: String, _ body: JSONObject) throws(SCIMError) -> JSONObject {
        let name = try Self.requiredText(body, "name", "a department")
        let old = try object("""
            select json_build_object('id', id, 'name', name, 'createdBy', created_by)::text
            from app.departments where tenant_id = \(tenant) and id = \(try Self.uuid(id))::uuid
            """)
        guard let old else { throw .notFound("No department \(id.prefix(100)).") }
        let renamed = try object("""
            update app.departments set name = \(name) where tenant_id = \(tenant) and id = \(id)::uuid
            returning json_build_object('id', id, 'name', name, 'createdBy', created_by)::text
            """) ?? JSONObject()
        try audit("department", "update", old: .object(old), new: .object(renamed))
        try changedMappings(reason: "department \"\(old["name"]?.stringValue ?? "")\" renamed to \"\(name)\"")
        return renamed
    }

    public func deleteDepartment(_ id: String) throws(SCIMError) {
        let old = try object("""
            delete from app.departments where tenant_id = \(tenant) and id = \(try Self.uuid(id))::uuid
            returning json_build_object('id', id, 'name', name)::text
            """)
        guard let old else { throw .notFound("No department \(id.prefix(100)).") }
        try audit("department", "delete", old: .object(old), new: nil)
        try changedMappings(reason: "department \"\(old["name"]?.stringValue ?? "")\" deleted")
    }

    public func roles() throws(SCIMError) -> JSONObject {
        let items = try json("""
            select coalesce(json_agg(json_build_object('id', r.id, 'name', r.name, 'description', r.description,
                       'users', (select count(distinct a.user_id) from app.role_assignments a where a.tenant_id = r.tenant_id and a.role_id = r.id))
                       order by lower(r.name)), '[]')::text
            from app.roles r where r.tenant_id = \(tenant)
            """)
        return Self.page(items, total: items.arrayValue?.count ?? 0, startIndex: 1)
    }

    public func createRole(_ body: JSONObject) throws(SCIMError) -> JSONObject {
        let name = try Self.requiredText(body, "name", "a role")
        let description = body["description"]?.stringValue
        let created = try object("""
            insert into app.roles (tenant_id, name, description) values (\(tenant), \(name), \(description))
            returning json_build_object('id', id, 'name', name, 'description', description)::text
            """)
        try audit("role", "create", old: nil, new: created.map(JSONValue.object))
        return created ?? JSONObject()
    }

    /// Renames a role or changes its description; assignments follow by id.
    public func updateRole(_ id: String, _ body: JSONObject) throws(SCIMError) -> JSONObject {
        let name = try Self.requiredText(body, "name", "a role")
        let description = body["description"]?.stringValue
        let old = try object("""
            select json_build_object('id', id, 'name', name, 'description', description)::text
            from app.roles where tenant_id = \(tenant) and id = \(try Self.uuid(id))::uuid
            """)
        guard let old else { throw .notFound("No role \(id.prefix(100)).") }
        let updated = try object("""
            update app.roles set name = \(name), description = \(description) where tenant_id = \(tenant) and id = \(id)::uuid
            returning json_build_object('id', id, 'name', name, 'description', description)::text
            """) ?? JSONObject()
        try audit("role", "update", old: .object(old), new: .object(updated))
        return updated
    }

    public func deleteRole(_ id: String) throws(SCIMError) {
        let old = try object("""
            delete from app.roles where tenant_id = \(tenant) and id = \(try Self.uuid(id))::uuid
            returning json_build_object('id', id, 'name', name)::text
            """)
        guard let old else { throw .notFound("No role \(id.prefix(100)).") }
        try audit("role", "delete", old: .object(old), new: nil)
        try transaction.query("select app.check_group_role_mappings(\(tenant))")
    }

    public func customFields() throws(SCIMError) -> JSONObject {
        let items = try json("""
            select coalesce(json_agg(json_build_object('name', name, 'label', label, 'maxLength', max_length) order by name), '[]')::text
            from app.custom_fields where tenant_id = \(tenant)
            """)
        return Self.page(items, total: items.arrayValue?.count ?? 0, startIndex: 1)
    }

    public func createCustomField(_ body: JSONObject) throws(SCIMError) -> JSONObject {
        let name = try Self.requiredText(body, "name", "a custom field")
        guard CustomField.isValidName(name) else {
            throw .badRequest(.invalidValue, "A custom field name is lower-case letters, digits and underscores, starting with a letter.")
        }
        let maxLength = body["maxLength"]?.intValue ?? 200
        guard (1...10_000).contains(maxLength) else { throw .badRequest(.invalidValue, "\"maxLength\" must be between 1 and 10000.") }
        let created = try object("""
            insert into app.custom_fields (tenant_id, name, label, max_length)
            values (\(tenant), \(name), \(body["label"]?.stringValue ?? name), \(maxLength))
            returning json_build_object('name', name, 'label', label, 'maxLength', max_length)::text
            """)
        try audit("custom_field", "create", old: nil, new: created.map(JSONValue.object))
        try transaction.query("update scim.tenants set mapping_version = mapping_version + 1 where id = \(tenant)")
        return created ?? JSONObject()
    }

    public func deleteCustomField(_ name: String) throws(SCIMError) {
        let old = try object("""
            delete from app.custom_fields where tenant_id = \(tenant) and name = \(name)
            returning json_build_object('name', name, 'label', label, 'maxLength', max_length)::text
            """)
        guard let old else { throw .notFound("No custom field \(name.prefix(100)).") }
        try transaction.query("delete from scim.column_mappings where tenant_id = \(tenant) and field = \("custom." + name)")
        try audit("custom_field", "delete", old: .object(old), new: nil)
        try changedMappings(reason: "custom field \(name) deleted")
    }

    // MARK: - Application users and manual roles

    /// Application users by user name, `text` matching any part of the user name or display name.
    public func applicationUsers(startIndex: Int, count: Int, text: String?) throws(SCIMError) -> JSONObject {
        let statements = AdminListingStatements(tenant: tenant)
        let total = try transaction.query(statements.userCount(text: text)).int(0, "total") ?? 0
        let items = try json("""
            select coalesce(json_agg(\(unsafeRaw: Self.applicationUserJSON) order by lower(u.username)), '[]')::text from (
                \(statements.userPage(text: text, broad: total > AdminListingStatements.broadMatch, startIndex: startIndex, count: count))) u
            """)
        var page = Self.page(items, total: min(total, Self.countCap), startIndex: startIndex)
        page["totalResultsIsLowerBound"] = .bool(total > Self.countCap)
        return page
    }

    public func applicationUser(_ id: String) throws(SCIMError) -> JSONObject {
        guard let user = try object("""
            select \(unsafeRaw: Self.applicationUserJSON)::text from app.users u
            where u.tenant_id = \(tenant) and (u.id = \(try Self.uuid(id))::uuid or u.scim_user_id = \(id)::uuid)
            """) else { throw .notFound("No application user \(id.prefix(100)) (an application user id or a SCIM user id).") }
        return user
    }

    /// The state of an application user as the API shows it (and a dry run compares).
    static let applicationUserJSON = """
        json_build_object('id', u.id, 'scimUserId', u.scim_user_id, 'username', u.username, 'email', u.email,
            'firstName', u.first_name, 'lastName', u.last_name, 'displayName', u.display_name, 'phone', u.phone,
            'mobile', u.mobile, 'jobTitle', u.job_title, 'employeeNumber', u.employee_number,
            'department', (select d.name from app.departments d where d.tenant_id = u.tenant_id and d.id = u.department_id),
            'manager', (select m.username from app.users m where m.tenant_id = u.tenant_id and m.id = u.manager_id),
            'locale', u.locale, 'timeZone', u.time_zone, 'active', u.active,
            'deprovisionedAt', u.deprovisioned_at, 'customFields', u.custom_fields,
            'roles', coalesce((select json_agg(json_build_object('role', r.name, 'source', a.source,
                                   'group', (select g.display_name from scim.groups g where g.tenant_id = a.tenant_id and g.id = a.group_id))
                                   order by r.name, a.source, a.group_id)
                               from app.role_assignments a join app.roles r on r.tenant_id = a.tenant_id and r.id = a.role_id
                               where a.tenant_id = u.tenant_id and a.user_id = u.id), '[]'::json))
        """

    public func grantRole(userId: String, _ body: JSONObject) throws(SCIMError) -> JSONObject {
        let user = try applicationUser(userId)
        let role = try roleId(body["role"])
        try transaction.query("""
            insert into app.role_assignments (tenant_id, user_id, role_id, source, assigned_by)
            values (\(tenant), \(user["id"]?.stringValue)::uuid, \(role)::uuid, 'manual', \(actor))
            on conflict do nothing
            """)
        try audit("manual_role", "create", old: nil, new: .object(JSONObject([("user", user["username"] ?? .null), ("role", .string(role))])))
        return try applicationUser(userId)
    }

    public func revokeRole(userId: String, roleId identifier: String) throws(SCIMError) -> JSONObject {
        let user = try applicationUser(userId)
        let role = try roleId(.string(identifier))
        let removed = try transaction.query("""
            delete from app.role_assignments where tenant_id = \(tenant) and user_id = \(user["id"]?.stringValue)::uuid
               and role_id = \(role)::uuid and source = 'manual'
            """).affected
        guard removed > 0 else { throw .notFound("The user holds no manual assignment of that role (roles from groups follow membership).") }
        try audit("manual_role", "delete", old: .object(JSONObject([("user", user["username"] ?? .null), ("role", .string(role))])), new: nil)
        return try applicationUser(userId)
    }

    /// A role by id or by name.
    func roleId(_ value: JSONValue?) throws(SCIMError) -> String {
        try idByNameOrId(value, table: "app.roles", what: "role")
    }

    /// A department by id or by name.
    func departmentId(_ value: JSONValue?) throws(SCIMError) -> String {
        try idByNameOrId(value, table: "app.departments", what: "department")
    }

    /// The id of the tenant's row in `table` (roles, departments: named, unique ignoring case)
    /// whose name or id is `value`.
    private func idByNameOrId(_ value: JSONValue?, table: String, what: String) throws(SCIMError) -> String {
        guard let text = value?.stringValue, !text.isEmpty else {
            throw .badRequest(.invalidValue, "Name the \(what): \"\(what)\": \"<name or id>\".")
        }
        let rows = try transaction.query("""
            select id from \(unsafeRaw: table) where tenant_id = \(tenant)
               and (lower(name) = lower(\(text)) or id::text = \(text.lowercased())) limit 1
            """)
        guard let id = rows.rows.first?.first ?? nil else {
            throw .badRequest(.invalidValue, "No \(what) \"\(text.prefix(200))\"; create it first.")
        }
        return id
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

extension DirectoryAdministration {
    public func provisionedUser(scimId: String) throws(SCIMError) -> JSONObject {
        try object("""
            select json_build_object('resource', s.attributes, 'created', s.created_at, 'lastModified', s.updated_at,
                       'groups', (select coalesce(json_agg(g.display_name order by lower(g.display_name)), '[]')
                                  from scim.group_members m join scim.groups g on g.tenant_id = m.tenant_id and g.id = m.group_id
                                  where m.tenant_id = s.tenant_id and m.member_id = s.id))::text
            from scim.users s where s.tenant_id = \(tenant) and s.id = \(try Self.uuid(scimId))::uuid
            """) ?? JSONObject()
    }

    public func provisionedGroups(startIndex: Int, count: Int, text: String?) throws(SCIMError) -> JSONObject {
        let pattern = text.map(\.likeContainingPattern)
        let condition: SQL = "g.tenant_id = \(tenant) and (\(pattern)::text is null or lower(g.display_name) like \(pattern))"
        let total = try transaction.query("select count(*) as total from scim.groups g where \(condition)").int(0, "total") ?? 0
        let items = try json("""
            select coalesce(json_agg(json_build_object('id', g.id, 'displayName', g.display_name, 'externalId', g.external_id,
                       'members', (select count(*) from scim.group_members m where m.tenant_id = g.tenant_id and m.group_id = g.id),
                       'roles', (select coalesce(json_agg(r.name order by r.name), '[]') from app.group_roles gr
                                 join app.roles r on r.tenant_id = gr.tenant_id and r.id = gr.role_id
                                 where gr.tenant_id = g.tenant_id and gr.group_id = g.id))
                       order by lower(g.display_name)), '[]')::text
            from (select * from scim.groups g where \(condition) order by lower(g.display_name) limit \(count) offset \(startIndex - 1)) g
            """)
        return Self.page(items, total: total, startIndex: startIndex)
    }
}
