import SCIMCore

/// Whether row-level security confines what a database role can see: the tables that hold
/// tenants' rows have it switched on, and the role is not one it does not apply to (a superuser,
/// a role with BYPASSRLS, or the owner of the tables). Read by the responder before it serves, and
/// by `scimctl migrate` after it migrates, so that a deployment never runs with it silently off.
public enum RowLevelSecurityCheck {
    /// The tables with tenant policies (migrations 20261129001900, 20261129002500, 20261129002900
    /// and 20261130000200).
    public static let protectedTables = ["scim.users", "scim.groups", "scim.group_members", "scim.schema_extensions",
                                         "scim.column_mappings", "scim.department_mappings", "scim.group_role_mappings",
                                         "app.users", "app.departments", "app.roles", "app.custom_fields", "app.role_assignments",
                                         "scim.provisioning_log", "scim.read_counts", "scim.provisioning_errors", "scim.reapply_jobs", "scim.mapping_changes",
                                         "scim.tenants", "scim.api_keys", "scim.resource_counts", "scim.page_marks"]

    static var query: SQL {
        let tables = "{" + protectedTables.joined(separator: ",") + "}"
        return """
            select r.rolsuper, r.rolbypassrls,
                   (select string_agg(c.oid::regclass::text, ', ' order by c.oid::regclass::text) from pg_class c
                     where c.relnamespace in ('scim'::regnamespace, 'app'::regnamespace) and c.relkind in ('r', 'p')
                       and pg_has_role(current_user, c.relowner, 'USAGE')) as owned,
                   (select array_agg(t order by t) from unnest(\(tables)::text[]) t
                     where not coalesce((select relrowsecurity from pg_class where oid = to_regclass(t)), false)) as unprotected
            from pg_roles r where r.rolname = current_user
            """
    }

    /// Tables whose row-level security is off (none when it is on everywhere).
    public static func tablesWithoutRowLevelSecurity(_ connection: PostgresConnection) throws(PostgresError) -> [String] {
        let rows = try connection.execute(query)
        return rows.textArray(0, "unprotected") ?? []
    }

    /// Why this connection's role would see other tenants' rows, or nil when it is confined.
    public static func problem(_ connection: PostgresConnection) throws(PostgresError) -> String? {
        let rows = try connection.execute(query)
        if rows.bool(0, "rolsuper") == true {
            return "the responder connects as a superuser, to whom row-level security does not apply; connect as a role in scim_responder"
        }
        if rows.bool(0, "rolbypassrls") == true {
            return "the responder's database role has BYPASSRLS; connect as a role without it, in scim_responder"
        }
        if let owned = rows[0, "owned"], !owned.isEmpty {
            return "the responder's database role owns (or is a member of the owner of) \(owned.prefix(200)), so row-level security does not apply to it; connect as a role in scim_responder"
        }
        if let unprotected = rows.textArray(0, "unprotected"), !unprotected.isEmpty {
            return "row-level security is off on \(unprotected.joined(separator: ", ").prefix(300)); a superuser must run migration 20261129001900 (see the README, \"For DBAs\")"
        }
        return nil
    }
}
