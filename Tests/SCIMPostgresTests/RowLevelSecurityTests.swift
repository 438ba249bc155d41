import Foundation
import Testing
import SCIMAdmin
@testable import SCIMCore
@testable import SCIMPostgres

/// What the responder's own database role may do: no DDL, no changes to tenants or keys, and only
/// the rows of the tenant its transaction is scoped to (row-level security, switched on by
/// deploy/sql/20261129001900 when run as a superuser, as the test stack's migrations are). These
/// connect as that role (SCIM_TEST_APP_DATABASE_URL, set by deploy/test.sh).
@Suite("The responder's database role", .enabled(if: TestDatabase.available))
struct RowLevelSecurityTests {
    func appConnection() throws -> PostgresConnection { try TestDatabase.responderConnection() }

    @Test("it has no DDL, cannot change tenants' identity or keys' secrets and scopes, nor bring a revoked key back")
    func privileges() throws {
        let app = try appConnection()
        // A revoked key to try to bring back.
        let tenant = try TestDatabase.tenant()
        _ = try TestDatabase.ownerAdminister(tenant.slug) { (admin) throws(SCIMError) in
            let revoked = try admin.createKey(try NewAPIKey(name: "revoked", scopes: [.scim], expiresAt: nil))
            return try admin.revokeKey(revoked["prefix"]?.stringValue ?? "")
        }
        for statement: SQL in ["create table scim.intruder (x int)", "delete from scim.tenants", "update scim.api_keys set scopes = '{scim,admin}'",
                               "update scim.tenants set slug = 'taken'", "delete from scim.api_keys", "delete from scim.provisioning_log",
                               "update scim.api_keys set revoked_at = null where revoked_at is not null",
                               "drop index scim.users_search_keys_idx"] {
            // Scoped to the tenant, so that row-level security is not what refuses it.
            try app.executeScript("begin")
            try app.execute("select set_config('scim.tenant_id', \(tenant.id), true)")
            let error = #expect(throws: PostgresError.self) { try app.execute(statement) }
            _ = try? app.executeScript("rollback")
            #expect(error?.sqlState == "42501" || error?.sqlState == "42P01", "\(statement.render().text): \(String(describing: error))")
        }
    }

    @Test("row-level security: a statement without any tenant condition sees and changes only the scoped tenant")
    func rowLevelSecurity() throws {
        let app = try appConnection()
        let a = try TestDatabase.tenant()
        let b = try TestDatabase.tenant()
        let owner = try TestDatabase.connection()
        for tenant in [a, b] {
            try owner.execute("""
                insert into scim.users (tenant_id, user_name, attributes) values (\(tenant.id)::uuid, 'rls@example.com', '{}'::jsonb)
                """)
        }
        func count(_ tenant: String) throws -> Int {
            try app.executeScript("begin")
            defer { _ = try? app.executeScript("rollback") }
            try app.execute("select set_config('scim.tenant_id', \(tenant), true)")
            return Int(try app.execute("select count(*) as n from scim.users where user_name = 'rls@example.com'")[0, "n"] ?? "") ?? -1
        }
        #expect(try count(a.id) == 1, "the scoped tenant's own row")
        #expect(try count(b.id) == 1)
        let fresh = try appConnection()
        let unscoped = try fresh.execute("select count(*) as n from scim.users")[0, "n"]
        #expect(unscoped == "0", "a session never scoped sees no rows at all")
        try app.executeScript("begin")
        try app.execute("select set_config('scim.tenant_id', \(a.id), true)")
        let updated = try app.execute("update scim.users set display_name = 'touched' where user_name = 'rls@example.com'").affected
        let smuggled = #expect(throws: PostgresError.self) {
            try app.execute("insert into scim.users (tenant_id, user_name, attributes) values (\(b.id)::uuid, 'smuggled@example.com', '{}'::jsonb)")
        }
        _ = try? app.executeScript("rollback")
        #expect(updated == 1, "an unconditioned update reaches the scoped tenant's row only")
        #expect(smuggled?.sqlState == "42501", "a row for another tenant is refused by the policy")
    }

    @Test("the responder's store serves through the confined role, and refuses (503, saying why) through one row-level security does not confine")
    func refusesUnconfinedRole() throws {
        let confined = PostgresStore(connection: try TestDatabase.responderConnection(), logger: TestDatabase.logger, requiresConfinedRole: true)
        try confined.checkReadiness()
        #expect(try RowLevelSecurityCheck.problem(try TestDatabase.responderConnection()) == nil)
        // The owner (here also a superuser) sees every tenant's rows: never good enough to serve with.
        let owner = PostgresStore(connection: try TestDatabase.connection(), logger: TestDatabase.logger, requiresConfinedRole: true)
        let error = #expect(throws: SCIMError.self) { try owner.checkReadiness() }
        #expect(error?.status == 503)
        #expect(error?.detail.contains("superuser") == true || error?.detail.contains("owns") == true, "\(String(describing: error))")
        #expect(throws: SCIMError.self) { try owner.transaction { (_) throws(SCIMError) in () } }
    }

    /// What the responder's role may read across tenants, because a request names its tenant
    /// before anything says which tenant it may act for (keys, console sign-in); each write to
    /// scim.api_keys is still confined (migration 20261129002500).
    static let readableBeforeScoping: Set<String> = ["scim.api_keys", "scim.console_users", "scim.console_invites", "scim.console_sessions"]
    static let writableBeforeScoping: Set<String> = ["scim.console_users", "scim.console_invites", "scim.console_sessions"]

    /// A row in every tenant table for this tenant, as the owner.
    static func fillEveryTable(_ tenant: (slug: String, id: String, token: String)) throws {
        let owner = try TestDatabase.connection()
        let t = tenant.id
        try owner.execute("""
            with u as (insert into scim.users (tenant_id, user_name, attributes) values (\(t)::uuid, 'everywhere@example.com', '{}') returning id),
                 g as (insert into scim.groups (tenant_id, display_name, attributes) values (\(t)::uuid, 'Everywhere', '{"displayName":"Everywhere"}') returning id),
                 gm as (insert into scim.group_members (tenant_id, group_id, member_id, member_type) select \(t)::uuid, g.id, u.id, 'User' from g, u returning 1),
                 d as (insert into app.departments (tenant_id, name) values (\(t)::uuid, 'Everywhere') returning id),
                 dm as (insert into scim.department_mappings (tenant_id, source_value, department_id) select \(t)::uuid, 'Everywhere', id from d returning 1),
                 r as (insert into app.roles (tenant_id, name) values (\(t)::uuid, 'Everywhere') returning id),
                 rm as (insert into scim.group_role_mappings (tenant_id, match_by, match_value, role_id)
                        select \(t)::uuid, 'displayName', 'Everywhere', id from r returning 1),
                 cf as (insert into app.custom_fields (tenant_id, name, label) values (\(t)::uuid, 'everywhere', 'Everywhere') returning 1),
                 au as (insert into app.users (tenant_id, username, department_id, scim_user_id) select \(t)::uuid, 'everywhere', d.id, u.id from d, u returning id),
                 ra as (insert into app.role_assignments (tenant_id, user_id, role_id, source, assigned_by)
                        select \(t)::uuid, au.id, r.id, 'manual', 'tests' from au, r returning 1),
                 se as (insert into scim.schema_extensions (tenant_id, urn, resource_type, definition)
                        values (\(t)::uuid, 'urn:example:everywhere', 'User', '{}') returning 1),
                 pl as (insert into scim.provisioning_log (tenant_id, request_id, method, path, status, duration_ms)
                        values (\(t)::uuid, 'everywhere', 'GET', '/Users', 200, 1) returning 1),
                 rc as (insert into scim.read_counts (tenant_id, minute, key_prefix, endpoint, requests, total_ms, max_ms, last_at)
                        values (\(t)::uuid, date_trunc('minute', now()), 'everywhere', 'Users', 1, 1, 1, now()) returning 1),
                 pe as (insert into scim.provisioning_errors (tenant_id, kind, cause, detail, suggestion)
                        values (\(t)::uuid, 'rejected_request', 'everywhere', 'd', 's') returning 1),
                 rj as (insert into scim.reapply_jobs (tenant_id, reason, state) values (\(t)::uuid, 'everywhere', 'done') returning 1),
                 mc as (insert into scim.mapping_changes (tenant_id, changed_by, kind, action) values (\(t)::uuid, 'tests', 'everywhere', 'create') returning 1),
                 pm as (insert into scim.page_marks (tenant_id, resource_type, start_index, after_id, changes)
                        values (\(t)::uuid, 'User', 101, gen_random_uuid(), 0) returning 1),
                 cu as (insert into scim.console_users (tenant_id, email, created_by) values (\(t)::uuid, 'everywhere@example.com', 'tests') returning id),
                 ci as (insert into scim.console_invites (tenant_id, email, token_hash, created_by, expires_at)
                        values (\(t)::uuid, 'everywhere@example.com', sha256(gen_random_uuid()::text::bytea), 'tests', now()) returning 1),
                 cs as (insert into scim.console_sessions (tenant_id, user_id, token_hash, csrf_token)
                        select \(t)::uuid, id, sha256(gen_random_uuid()::text::bytea), 'x' from cu returning 1)
            select 1
            """)
    }

    @Test("every table and view the responder's role reaches shows, changes and accepts only the scoped tenant's rows (the sign-in tables aside)")
    func everyRelationConfined() throws {
        let a = try TestDatabase.tenant()
        let b = try TestDatabase.tenant()
        try Self.fillEveryTable(a)
        try Self.fillEveryTable(b)
        let app = try appConnection()
        // Every relation of the two schemas with a tenant column that the role has any right on.
        let relations = try app.execute("""
            select c.oid::regclass::text as name, c.relkind,
                   (select a.attname from pg_attribute a where a.attrelid = c.oid and a.attname in ('tenant_id', 'tenant')) as tenant_column,
                   has_table_privilege(c.oid, 'SELECT') as can_select, has_table_privilege(c.oid, 'INSERT') as can_insert,
                   has_table_privilege(c.oid, 'DELETE') as can_delete,
                   (select a.attname from pg_attribute a where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
                       and has_column_privilege(c.oid, a.attnum, 'UPDATE') order by a.attnum limit 1) as updatable_column,
                   (select string_agg(quote_ident(a.attname), ', ' order by a.attnum) from pg_attribute a
                     where a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped and a.attidentity <> 'a' and a.attgenerated = '') as columns
              from pg_class c
             where c.relnamespace in ('scim'::regnamespace, 'app'::regnamespace) and c.relkind in ('r', 'p', 'v') and not c.relispartition
               and exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname in ('tenant_id', 'tenant'))
               and (has_table_privilege(c.oid, 'SELECT') or has_table_privilege(c.oid, 'INSERT')
                    or has_table_privilege(c.oid, 'DELETE') or has_any_column_privilege(c.oid, 'UPDATE'))
             order by 1
            """)
        let names = relations.rows.indices.compactMap { relations[$0, "name"] }
        for expected in ["scim.users", "scim.provisioning_log", "scim.provisioning_errors", "scim.reapply_jobs", "scim.mapping_changes",
                         "scim.api_keys", "app.role_assignments", "app.group_roles", "app.users_per_department"] {
            #expect(names.contains(expected), "\(expected) is among what the role reaches: \(names)")
        }
        func scoped<T>(_ body: () throws -> T) throws -> T {
            try app.executeScript("begin")
            defer { _ = try? app.executeScript("rollback") }
            try app.execute("select set_config('scim.tenant_id', \(a.id), true)")
            return try body()
        }
        var readAcross: Set<String> = []
        var writtenAcross: Set<String> = []
        for row in relations.rows.indices {
            let name = relations[row, "name"]!, column = relations[row, "tenant_column"]!
            // Views name the tenant by slug, tables by id.
            let own = "\(column)::text in ('\(a.id)', '\(a.slug)')", other = "\(column)::text in ('\(b.id)', '\(b.slug)')"
            if relations[row, "can_select"] == "t" {
                let seen = try scoped { try app.execute(SQL(unsafeRaw: "select count(*) filter (where \(own)) as own, count(*) filter (where not (\(own))) as others from \(name)")) }
                #expect(Int(seen[0, "own"] ?? "") ?? 0 >= 1, "\(name): the fixture reaches it and the scoped tenant sees its own rows")
                if seen[0, "others"] != "0" { readAcross.insert(name) }
            }
            if relations[row, "relkind"] != "v", relations[row, "can_insert"] == "t", let columns = relations[row, "columns"] {
                let copied = columns.replacingOccurrences(of: "tenant_id", with: "'\(b.id)'::uuid")
                do {
                    try scoped { _ = try app.execute(SQL(unsafeRaw: "insert into \(name) (\(columns)) select \(copied) from \(name) where \(own) limit 1")) }
                    writtenAcross.insert(name)
                } catch let error as PostgresError {
                    if !(error.sqlState == "42501" && error.message.contains("row-level security")) {
                        // Refused for another reason (a unique key, a foreign key): the policy let the row through.
                        writtenAcross.insert(name)
                    }
                }
            }
            if relations[row, "relkind"] != "v", let updatable = relations[row, "updatable_column"] {
                let (others, mine) = try scoped { () throws -> (Int, Int) in
                    let others = try app.execute(SQL(unsafeRaw: "update \(name) set \(updatable) = \(updatable) where \(other)")).affected
                    let mine = try app.execute(SQL(unsafeRaw: "update \(name) set \(updatable) = \(updatable) where \(own)")).affected
                    return (others, mine)
                }
                #expect(mine >= 1, "\(name): the scoped tenant's own rows can be updated")
                if others > 0 { writtenAcross.insert(name) }
            }
            if relations[row, "relkind"] != "v", relations[row, "can_delete"] == "t" {
                let deleted = try scoped { try app.execute(SQL(unsafeRaw: "delete from \(name) where \(other)")).affected }
                if deleted > 0 { writtenAcross.insert(name) }
            }
        }
        #expect(readAcross == Self.readableBeforeScoping, "relations whose other tenants' rows the scoped role reads")
        #expect(writtenAcross == Self.writableBeforeScoping, "relations in which the scoped role writes other tenants' rows")
        // scim.tenants names tenants by id: readable by all (a request is routed by its slug), changed only when scoped to it.
        let renamed = try scoped { try app.execute("update scim.tenants set scim_enabled = scim_enabled where id in (\(a.id)::uuid, \(b.id)::uuid)").affected }
        #expect(renamed == 1, "only the scoped tenant's own row is updated")
        // Unscoped, a fresh session reads no tenant's rows and can append to no tenant's log.
        let fresh = try appConnection()
        #expect(try fresh.execute("select count(*) as n from scim.provisioning_errors")[0, "n"] == "0")
        let unscopedLog = #expect(throws: PostgresError.self) {
            try fresh.execute("insert into scim.provisioning_log (tenant_id, request_id, method, path, status, duration_ms) values (\(a.id)::uuid, 'x', 'GET', '/', 200, 1)")
        }
        #expect(unscopedLog?.sqlState == "42501")
    }

    @Test("every table with tenants' rows has row-level security on")
    func allProtected() throws {
        #expect(try RowLevelSecurityCheck.tablesWithoutRowLevelSecurity(try TestDatabase.connection()).isEmpty)
    }

    @Test("through every view it may read, the responder's role sees one tenant's rows only", arguments: [
        "app.group_roles", "app.effective_roles", "app.role_assignments_explained", "app.users_per_department",
    ])
    func viewsConfined(_ view: String) throws {
        // Two tenants, each with a user in a group that a mapping turns into a role, through the store.
        let tenants = try (0..<2).map { _ in try TestDatabase.tenant() }
        let owner = try TestDatabase.connection()
        for tenant in tenants {
            try owner.execute("""
                with d as (insert into app.departments (tenant_id, name) values (\(tenant.id)::uuid, 'Dept') returning id),
                     r as (insert into app.roles (tenant_id, name) values (\(tenant.id)::uuid, 'Role') returning id),
                     g as (insert into scim.groups (tenant_id, display_name, attributes) values (\(tenant.id)::uuid, 'Team', '{"displayName":"Team"}') returning id),
                     m as (insert into scim.group_role_mappings (tenant_id, match_by, match_value, role_id)
                           select \(tenant.id)::uuid, 'displayName', 'Team', id from r returning id),
                     u as (insert into app.users (tenant_id, username, department_id) select \(tenant.id)::uuid, 'viewer', id from d returning id)
                insert into app.role_assignments (tenant_id, user_id, role_id, source, assigned_by)
                select \(tenant.id)::uuid, u.id, r.id, 'manual', 'tests' from u, r
                """)
        }
        let app = try appConnection()
        try app.executeScript("begin")
        defer { _ = try? app.executeScript("rollback") }
        try app.execute("select set_config('scim.tenant_id', \(tenants[0].id), true)")
        let tenantColumn = view == "app.users_per_department" || view == "app.role_assignments_explained" ? "tenant" : "tenant_id"
        let others = try app.execute(SQL(unsafeRaw: "select count(*) as n from \(view) where \(tenantColumn)::text not in ('\(tenants[0].id)', '\(tenants[0].slug)')"))
        #expect(others[0, "n"] == "0", "\(view) shows other tenants' rows")
        let all = try owner.execute(SQL(unsafeRaw: "select count(distinct \(tenantColumn)) as n from \(view) where \(tenantColumn)::text in ('\(tenants[0].id)', '\(tenants[1].id)', '\(tenants[0].slug)', '\(tenants[1].slug)')"))
        #expect(Int(all[0, "n"] ?? "0") ?? 0 >= 1, "the fixture reaches \(view)")
    }
}
