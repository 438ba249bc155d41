import SCIMCore

/// The columns a resource is read with, and a row read back into a resource.
extension PostgresTransaction {
    static let timestamps: SQL = """
        to_char(r.created_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as created,
        to_char(r.updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as modified
        """
    /// A user's `groups` (RFC 7643 §4.1.2) come from the membership table, never from its JSON.
    static let userColumns: SQL = "r.id, r.attributes::text as attributes, r.version, \(timestamps), \(groupsColumn)"
    static let groupsColumn: SQL = """
        (select jsonb_agg(jsonb_build_object('value', g.id, 'display', g.display_name, 'type', 'direct')
                          order by g.display_name)::text
           from scim.group_members m join scim.groups g on g.tenant_id = m.tenant_id and g.id = m.group_id
          where m.tenant_id = r.tenant_id and m.member_id = r.id) as groups
        """
    static let groupColumns: SQL = "r.id, r.attributes::text as attributes, r.version, \(timestamps)"
    /// The scoped tenant as a bind. Not `current_setting('scim.tenant_id')`: the planner folds that
    /// into its estimates, so a prepared statement's cached generic plan would fit the tenant whose
    /// request happened to plan it (an empty tenant's plan walks a large tenant row by row).
    /// Row-level security still applies its own condition on the setting.
    var tenant: SQL { scopedTenant.map { "\($0)::uuid" } ?? "current_setting('scim.tenant_id')::uuid" }
    /// Every change to a resource: the next version (its ETag), and a lastModified that moves
    /// forward even when two changes fall in the same transaction timestamp.
    static let nextVersion: SQL = "version = r.version + 1, updated_at = greatest(now(), r.updated_at + interval '1 millisecond')"

    enum ResourceKind {
        case user, group

        /// Its name in `scim.resource_counts` and `scim.page_marks`.
        var typeName: String { self == .user ? "User" : "Group" }
    }

    func resource(_ rows: PostgresRows, _ row: Int, _ kind: ResourceKind) throws(SCIMError) -> StoredResource {
        guard let id = rows[row, "id"], let text = rows[row, "attributes"], let version = rows[row, "version"].flatMap({ Int($0) }),
              let created = rows[row, "created"], let modified = rows[row, "modified"],
              case .object(let stored)? = try? JSONParser.parse(text, maxDepth: 64)
        else { throw .internalError("A stored resource could not be read.") }
        // Stored normalized; the renderer puts jsonb's key order back into schema order.
        var attributes = stored
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
