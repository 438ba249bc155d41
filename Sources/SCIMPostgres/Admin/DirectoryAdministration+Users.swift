import SCIMAdmin
import SCIMCore

/// Application users with their roles, and the SCIM users and groups they come from.
extension DirectoryAdministration {

    /// Application users by user name, `text` matching any part of the user name or display name.
    public func applicationUsers(startIndex: Int, count: Int, text: String?) throws(SCIMError) -> JSONObject {
        let statements = AdminListingStatements(tenant: tenant)
        let total = try transaction.query(statements.userCount(text: text)).int(0, "total") ?? 0
        let items = try json("""
            select coalesce(json_agg(\(Self.applicationUserJSON) order by lower(u.username)), '[]')::text from (
                \(statements.userPage(text: text, broad: total > AdminListingStatements.broadMatch, startIndex: startIndex, count: count))) u
            """)
        var page = Self.page(items, total: min(total, Self.countCap), startIndex: startIndex)
        page["totalResultsIsLowerBound"] = .bool(total > Self.countCap)
        return page
    }

    public func applicationUser(_ id: String) throws(SCIMError) -> JSONObject {
        guard let user = try object("""
            select \(Self.applicationUserJSON)::text from app.users u
            where u.tenant_id = \(tenant) and (u.id = \(try Self.uuid(id))::uuid or u.scim_user_id = \(id)::uuid)
            """) else { throw .notFound("No application user \(id.prefix(100)) (an application user id or a SCIM user id).") }
        return user
    }

    /// The state of an application user as the API shows it (and a dry run compares).
    static let applicationUserJSON: SQL = """
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
    private func idByNameOrId(_ value: JSONValue?, table: SQL, what: String) throws(SCIMError) -> String {
        guard let text = value?.stringValue, !text.isEmpty else {
            throw .badRequest(.invalidValue, "Name the \(what): \"\(what)\": \"<name or id>\".")
        }
        let rows = try transaction.query("""
            select id from \(table) where tenant_id = \(tenant)
               and (lower(name) = lower(\(text)) or id::text = \(text.lowercased())) limit 1
            """)
        guard let id = rows.rows.first?.first ?? nil else {
            throw .badRequest(.invalidValue, "No \(what) \"\(text.prefix(200))\"; create it first.")
        }
        return id
    }
}

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
