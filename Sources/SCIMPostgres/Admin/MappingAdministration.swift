import SCIMCore

/// The three mapping kinds, their dry runs, and re-applying them to the tenant's users.
extension DirectoryAdministration {
    /// At most this many users are evaluated by a dry run (it holds their rows until it rolls back).
    public static let dryRunUserLimit = 10_000
    /// Users per re-apply batch: each batch is one short transaction.
    public static let reapplyBatchSize = 200

    // MARK: - Column mappings

    public func columnMappings() throws(SCIMError) -> JSONObject {
        let mappings = try transaction.directoryConfiguration(tenantId: tenantId).mappings
        return Self.page(.array(mappings.map { .object($0.json) }), total: mappings.count, startIndex: 1)
    }

    func columnMapping(_ id: String) throws(SCIMError) -> ColumnMapping {
        let rows = try transaction.query("""
            select id, scim_path, field, default_value, transforms
            from scim.column_mappings where tenant_id = \(tenant) and id = \(try Self.uuid(id))::uuid
            """)
        guard let mapping = PostgresTransaction.columnMappings(rows).first else { throw .notFound("No column mapping \(id.prefix(100)).") }
        return mapping
    }

    func validated(_ mapping: ColumnMapping) throws(SCIMError) -> ColumnMapping {
        let schemas = TenantSchemas(extensions: try transaction.schemaExtensions(tenantId: tenantId))
        let customFields = try transaction.directoryConfiguration(tenantId: tenantId).customFields
        try DirectoryMapper.validate(mapping, resourceType: schemas.user, customFields: customFields)
        return mapping
    }

    /// Creates (id nil) or replaces a column mapping; with `dryRun`, reports what it would do instead.
    public func saveColumnMapping(id: String?, _ body: JSONObject, dryRun: Bool) throws(SCIMError) -> JSONObject {
        let mapping = try validated(ColumnMapping(json: body))
        let old = try id.map { (id) throws(SCIMError) in try columnMapping(id) }
        return try saveMapping("column_mapping", "column mapping of \(mapping.field)", old: old.map { .object($0.json) }, dryRun: dryRun) { () throws(SCIMError) -> JSONObject in
            let saved = try transaction.query("""
                insert into scim.column_mappings as m (tenant_id, id, scim_path, field, default_value, transforms)
                values (\(tenant), coalesce(\(id)::uuid, gen_random_uuid()), \(mapping.scimPath), \(mapping.field), \(mapping.defaultValue),
                        string_to_array(\(mapping.transforms.map(\.rawValue).joined(separator: ",")), ','))
                on conflict (tenant_id, id) do update set scim_path = excluded.scim_path, field = excluded.field,
                    default_value = excluded.default_value, transforms = excluded.transforms, updated_at = now()
                returning id, scim_path, field, default_value, transforms
                """)
            return (PostgresTransaction.columnMappings(saved).first ?? mapping).json
        }
    }

    public func deleteColumnMapping(_ id: String, dryRun: Bool) throws(SCIMError) -> JSONObject {
        let old = try columnMapping(id)
        return try deleteMapping("column_mapping", "column mapping of \(old.field)", old: old.json, dryRun: dryRun) { () throws(SCIMError) in
            try transaction.query("delete from scim.column_mappings where tenant_id = \(tenant) and id = \(id)::uuid")
        }
    }

    // MARK: - Department mappings

    public func departmentMappings() throws(SCIMError) -> JSONObject {
        let items = try json("""
            select coalesce(json_agg(json_build_object('id', m.id, 'sourceValue', m.source_value, 'departmentId', d.id,
                                                       'department', d.name) order by lower(m.source_value)), '[]')::text
            from scim.department_mappings m join app.departments d on d.tenant_id = m.tenant_id and d.id = m.department_id
            where m.tenant_id = \(tenant)
            """)
        return Self.page(items, total: items.arrayValue?.count ?? 0, startIndex: 1)
    }

    func departmentMapping(_ id: String) throws(SCIMError) -> JSONObject {
        guard let mapping = try object("""
            select json_build_object('id', m.id, 'sourceValue', m.source_value, 'departmentId', m.department_id)::text
            from scim.department_mappings m where m.tenant_id = \(tenant) and m.id = \(try Self.uuid(id))::uuid
            """) else { throw .notFound("No department mapping \(id.prefix(100)).") }
        return mapping
    }

    /// `{"sourceValue": "Eng", "department": "<name or id>"}`.
    public func saveDepartmentMapping(id: String?, _ body: JSONObject, dryRun: Bool) throws(SCIMError) -> JSONObject {
        let source = try Self.requiredText(body, "sourceValue", "a department mapping")
        let department = try departmentId(body["department"])
        let old = try id.map { (id) throws(SCIMError) in try departmentMapping(id) }
        return try saveMapping("department_mapping", "department mapping of \"\(source)\"", old: old.map(JSONValue.object), dryRun: dryRun) { () throws(SCIMError) -> JSONObject in
            try object("""
                insert into scim.department_mappings as m (tenant_id, id, source_value, department_id)
                values (\(tenant), coalesce(\(id)::uuid, gen_random_uuid()), \(source), \(department)::uuid)
                on conflict (tenant_id, id) do update set source_value = excluded.source_value, department_id = excluded.department_id
                returning json_build_object('id', id, 'sourceValue', source_value, 'departmentId', department_id)::text
                """) ?? JSONObject()
        }
    }

    public func deleteDepartmentMapping(_ id: String, dryRun: Bool) throws(SCIMError) -> JSONObject {
        let old = try departmentMapping(id)
        return try deleteMapping("department_mapping", "department mapping of \"\(old["sourceValue"]?.stringValue ?? "")\"", old: old, dryRun: dryRun) { () throws(SCIMError) in
            try transaction.query("delete from scim.department_mappings where tenant_id = \(tenant) and id = \(id)::uuid")
        }
    }

    // MARK: - Group-role mappings

    public func groupRoleMappings() throws(SCIMError) -> JSONObject {
        let items = try json("""
            select coalesce(json_agg(json_build_object('id', m.id, 'matchBy', m.match_by, 'matchValue', m.match_value,
                       'roleId', r.id, 'role', r.name,
                       'groups', (select coalesce(json_agg(json_build_object('id', g.id, 'displayName', g.display_name)), '[]')
                                    from app.group_roles gr join scim.groups g on g.tenant_id = gr.tenant_id and g.id = gr.group_id
                                   where gr.tenant_id = m.tenant_id and gr.mapping_id = m.id))
                       order by lower(m.match_value)), '[]')::text
            from scim.group_role_mappings m join app.roles r on r.tenant_id = m.tenant_id and r.id = m.role_id
            where m.tenant_id = \(tenant)
            """)
        return Self.page(items, total: items.arrayValue?.count ?? 0, startIndex: 1)
    }

    func groupRoleMapping(_ id: String) throws(SCIMError) -> JSONObject {
        guard let mapping = try object("""
            select json_build_object('id', m.id, 'matchBy', m.match_by, 'matchValue', m.match_value, 'roleId', m.role_id)::text
            from scim.group_role_mappings m where m.tenant_id = \(tenant) and m.id = \(try Self.uuid(id))::uuid
            """) else { throw .notFound("No group-role mapping \(id.prefix(100)).") }
        return mapping
    }

    /// `{"matchBy": "displayName" | "externalId" | "id", "matchValue": "...", "role": "<name or id>"}`.
    public func saveGroupRoleMapping(id: String?, _ body: JSONObject, dryRun: Bool) throws(SCIMError) -> JSONObject {
        let matchBy = body["matchBy"]?.stringValue ?? "displayName"
        guard ["displayName", "externalId", "id"].contains(matchBy) else {
            throw .badRequest(.invalidValue, "\"matchBy\" must be \"displayName\", \"externalId\" or \"id\".")
        }
        let value = try Self.requiredText(body, "matchValue", "a group-role mapping")
        let role = try roleId(body["role"])
        let old = try id.map { (id) throws(SCIMError) in try groupRoleMapping(id) }
        return try saveMapping("group_role_mapping", "group-role mapping of \"\(value)\"", old: old.map(JSONValue.object), dryRun: dryRun) { () throws(SCIMError) -> JSONObject in
            let saved = try object("""
                insert into scim.group_role_mappings as m (tenant_id, id, match_by, match_value, role_id)
                values (\(tenant), coalesce(\(id)::uuid, gen_random_uuid()), \(matchBy), \(value), \(role)::uuid)
                on conflict (tenant_id, id) do update set match_by = excluded.match_by, match_value = excluded.match_value,
                    role_id = excluded.role_id
                returning json_build_object('id', id, 'matchBy', match_by, 'matchValue', match_value, 'roleId', role_id)::text
                """) ?? JSONObject()
            try transaction.query("select app.check_group_role_mappings(\(tenant))")
            return saved
        }
    }

    public func deleteGroupRoleMapping(_ id: String, dryRun: Bool) throws(SCIMError) -> JSONObject {
        let old = try groupRoleMapping(id)
        return try deleteMapping("group_role_mapping", "group-role mapping of \"\(old["matchValue"]?.stringValue ?? "")\"", old: old, dryRun: dryRun) { () throws(SCIMError) in
            try transaction.query("delete from scim.group_role_mappings where tenant_id = \(tenant) and id = \(id)::uuid")
            try transaction.query("select app.check_group_role_mappings(\(tenant))")
        }
    }

    // MARK: - Applying a change

    /// Creates or replaces a mapping (`upsert` writes it and returns it as the API shows it), audited.
    func saveMapping(_ kind: String, _ description: String, old: JSONValue?, dryRun: Bool,
                     upsert: () throws(SCIMError) -> JSONObject) throws(SCIMError) -> JSONObject {
        try change(dryRun: dryRun, reason: "\(description) \(old == nil ? "created" : "changed")") { () throws(SCIMError) -> JSONObject in
            let saved = try upsert()
            try audit(kind, old == nil ? "create" : "update", old: old, new: .object(saved))
            return saved
        }
    }

    /// Deletes a mapping (`remove` runs the statements), audited; answers with what was deleted.
    func deleteMapping(_ kind: String, _ description: String, old: JSONObject, dryRun: Bool,
                       remove: () throws(SCIMError) -> Void) throws(SCIMError) -> JSONObject {
        try change(dryRun: dryRun, reason: "\(description) deleted") { () throws(SCIMError) -> JSONObject in
            try remove()
            try audit(kind, "delete", old: .object(old), new: nil)
            return old
        }
    }

    /// Saves a change and starts re-applying the mappings, or (dry run) applies it to the users in a
    /// savepoint, reports the difference and rolls it all back.
    func change(dryRun: Bool, reason: String, _ apply: () throws(SCIMError) -> JSONObject) throws(SCIMError) -> JSONObject {
        guard dryRun else {
            let saved = try apply()
            let job = try changedMappings(reason: reason)
            return JSONObject([("mapping", .object(saved)), ("reapplyJob", .object(job))])
        }
        try transaction.run("savepoint dry_run")
        do {
            let before = try userStates()
            let saved = try apply()
            var cursor: String?
            var evaluated = 0
            while evaluated < Self.dryRunUserLimit,
                  let batch = try reapplyBatch(after: cursor, limit: min(Self.reapplyBatchSize, Self.dryRunUserLimit - evaluated)) {
                cursor = batch.lastId
                evaluated += batch.count
            }
            let after = try userStates()
            try transaction.run("rollback to savepoint dry_run")
            try transaction.run("release savepoint dry_run")
            return JSONObject([("dryRun", .bool(true)), ("mapping", .object(saved))]).merged(Self.difference(before, after))
        } catch {
            if transaction.databaseError?.isConnectionFailure != true {
                try? transaction.run("rollback to savepoint dry_run")
            }
            throw error
        }
    }

    /// The first `dryRunUserLimit` provisioned users' application state, by SCIM id.
    func userStates() throws(SCIMError) -> [String: JSONValue] {
        let rows = try transaction.query("""
            select s.id, (select \(Self.applicationUserJSON) from app.users u
                           where u.tenant_id = s.tenant_id and u.scim_user_id = s.id)::text as state
            from scim.users s where s.tenant_id = \(tenant) order by s.id limit \(Self.dryRunUserLimit)
            """)
        var states: [String: JSONValue] = [:]
        for row in rows.rows {
            guard let id = row[0] else { continue }
            states[id] = row[1].flatMap { try? JSONParser.parse($0, maxDepth: 64) } ?? .null
        }
        return states
    }

    static func difference(_ before: [String: JSONValue], _ after: [String: JSONValue]) -> JSONObject {
        var changed = 0
        var samples: [JSONValue] = []
        var fieldCounts: [String: Int] = [:]
        for id in before.keys.sorted() {
            let old = before[id] ?? .null
            let new = after[id] ?? .null
            guard old != new else { continue }
            changed += 1
            var oldFields = JSONObject()
            var newFields = JSONObject()
            let keys = (old.objectValue?.keys ?? []) + (new.objectValue?.keys ?? [])
            var seen = Set<String>()
            for key in keys where seen.insert(key).inserted && !["id", "deprovisionedAt"].contains(key) {
                let a = old.objectValue?[key] ?? .null
                let b = new.objectValue?[key] ?? .null
                if a != b {
                    oldFields[key] = a
                    newFields[key] = b
                    fieldCounts[key, default: 0] += 1
                }
            }
            if samples.count < 5 {
                let name = new.objectValue?["username"] ?? old.objectValue?["username"] ?? .null
                samples.append(.object(JSONObject([("scimUserId", .string(id)), ("username", name),
                                                   ("before", .object(oldFields)), ("after", .object(newFields))])))
            }
        }
        let counts = JSONObject(fieldCounts.keys.sorted().map { ($0, .integer(fieldCounts[$0] ?? 0)) })
        return JSONObject([("usersEvaluated", .integer(before.count)), ("usersChanged", .integer(changed)),
                           ("changesByField", .object(counts)), ("samples", .array(samples))])
    }

    /// Re-applies the mappings to the next users after `after` (SCIM id order): one batch. nil when
    /// no user follows. The batch's users are share-locked as they are read: a write to one of
    /// them waits for the batch, or the batch for the write and then reads what it wrote, so the
    /// application user never takes values older than its SCIM user's (a deactivation racing a
    /// re-apply stayed active in the application).
    func reapplyBatch(after cursor: String?, limit: Int) throws(SCIMError) -> (lastId: String, count: Int, changed: Int)? {
        let rows = try transaction.query("""
            select id, attributes::text as attributes from scim.users
            where tenant_id = \(tenant) and id > coalesce(\(cursor)::uuid, '00000000-0000-0000-0000-000000000000'::uuid)
            order by id limit \(limit)
            for share
            """)
        guard !rows.rows.isEmpty else { return nil }
        let schemas = TenantSchemas(extensions: try transaction.schemaExtensions(tenantId: tenantId))
        let configuration = try transaction.directoryConfiguration(tenantId: tenantId)
        let mapper = DirectoryMapper(resourceType: schemas.user, mappings: configuration.mappings, customFields: configuration.customFields)
        var items: [JSONValue] = []
        var lastId = ""
        for row in rows.rows {
            guard let id = row[0], let text = row[1], case .object(let attributes)? = try? JSONParser.parse(text, maxDepth: 64) else { continue }
            items.append(.object(JSONObject([("id", .string(id)), ("fields", .object(mapper.fields(of: attributes)))])))
            lastId = id
        }
        let changed = try transaction.query("select app.sync_users(\(tenant), \(JSONValue.array(items).serialized())::jsonb) as changed")
        return (lastId, rows.rows.count, Int(changed[0, "changed"] ?? "0") ?? 0)
    }

    /// After a change that alters what users become: responders read the mappings again, and a
    /// re-apply job (superseding any still running) brings every existing user in line.
    @discardableResult
    func changedMappings(reason: String) throws(SCIMError) -> JSONObject {
        try transaction.query("""
            update scim.tenants set mapping_version = mapping_version + 1 where id = \(tenant)
            """)
        try transaction.query("""
            update scim.reapply_jobs set state = 'superseded', finished_at = now(), updated_at = now()
            where tenant_id = \(tenant) and state in ('pending', 'running')
            """)
        return try object("""
            insert into scim.reapply_jobs (tenant_id, reason, total_users)
            values (\(tenant), \(reason), (select count(*) from scim.users where tenant_id = \(tenant)))
            returning \(Self.jobJSON)::text
            """) ?? JSONObject()
    }

    static let jobJSON: SQL = """
        json_build_object('id', id, 'reason', reason, 'state', state, 'totalUsers', total_users, 'processed', processed,
                          'changed', changed, 'error', error, 'createdAt', created_at, 'finishedAt', finished_at)
        """

    /// Re-applies the mappings to every user (after the data was changed by hand, for example).
    public func startReapply() throws(SCIMError) -> JSONObject {
        try audit("reapply", "create", old: nil, new: nil)
        return try changedMappings(reason: "re-apply requested by \(actor)")
    }

    public func jobs() throws(SCIMError) -> JSONObject {
        let items = try json("""
            select coalesce(json_agg(\(Self.jobJSON) order by created_at desc), '[]')::text
            from (select * from scim.reapply_jobs where tenant_id = \(tenant) order by created_at desc limit 50) j
            """)
        return Self.page(items, total: items.arrayValue?.count ?? 0, startIndex: 1)
    }

    public func job(_ id: String) throws(SCIMError) -> JSONObject {
        guard let job = try object("""
            select \(Self.jobJSON)::text from scim.reapply_jobs where tenant_id = \(tenant) and id = \(try Self.uuid(id))::uuid
            """) else { throw .notFound("No re-apply job \(id.prefix(100)).") }
        return job
    }
}

extension JSONObject {
    func merged(_ other: JSONObject) -> JSONObject {
        var copy = self
        for member in other.members { copy[member.key] = member.value }
        return copy
    }
}
