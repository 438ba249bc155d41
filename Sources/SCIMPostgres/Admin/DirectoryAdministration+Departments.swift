import SCIMAdmin
import SCIMCore

/// The application's departments, roles and custom fields, which the mappings point at.
extension DirectoryAdministration {
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
        let old = try deleteNamed(from: "app.departments", id, kind: "department")
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
        _ = try deleteNamed(from: "app.roles", id, kind: "role")
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

    /// Deletes a department or role by id and audits it; the deleted row's id and name.
    private func deleteNamed(from table: SQL, _ id: String, kind: String) throws(SCIMError) -> JSONObject {
        let old = try object("""
            delete from \(table) where tenant_id = \(tenant) and id = \(try Self.uuid(id))::uuid
            returning json_build_object('id', id, 'name', name)::text
            """)
        guard let old else { throw .notFound("No \(kind) \(id.prefix(100)).") }
        try audit(kind, "delete", old: .object(old), new: nil)
        return old
    }
}
