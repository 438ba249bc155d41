import Foundation
import Testing
@testable import SCIMCore
@testable import SCIMPostgres

/// `app.sync_user` gives each application user a name of its own: a SCIM user whose name another
/// application user holds is skipped with an error, and one re-created under the name of a
/// deprovisioned user gets that application user back. Everything runs in a rolled-back
/// transaction on the owner's connection.
@Suite("Application user names: clashes, deprovisioned users taken back, and the cost of a create",
       .enabled(if: TestDatabase.available), .serialized)
struct ApplicationUserNameTests {
    /// A tenant of `users` SCIM users (`u1@example.com`, ...) synced to application users.
    static func tenant(_ owner: PostgresConnection, users: Int) throws -> String {
        let tenant = try #require(owner.execute(SQL(unsafeRaw: """
            insert into scim.tenants (slug, name, scim_enabled) values ('names-\(UUID().uuidString.prefix(8).lowercased())', 'Names', true)
            returning id
            """))[0, "id"])
        if users > 0 {
            try owner.execute(SQL(unsafeRaw: """
                insert into scim.users (tenant_id, user_name, attributes)
                select '\(tenant)', 'u' || i || '@example.com', jsonb_build_object('userName', 'u' || i || '@example.com')
                from generate_series(1, \(users)) i
                """))
            try owner.execute(SQL(unsafeRaw: """
                select app.sync_user(tenant_id, id, jsonb_build_object('username', user_name, 'subject', user_name), 'test')
                from scim.users where tenant_id = '\(tenant)'
                """))
        }
        return tenant
    }

    /// A SCIM user, not yet synced; answers its id.
    static func scimUser(_ owner: PostgresConnection, _ tenant: String, _ name: String) throws -> String {
        try #require(owner.execute(SQL(unsafeRaw: """
            insert into scim.users (tenant_id, user_name, attributes) values ('\(tenant)', '\(name)', jsonb_build_object('userName', '\(name)'))
            returning id
            """))[0, "id"])
    }

    /// Creates a SCIM user and syncs it; answers the sync's result and the SCIM id.
    static func create(_ owner: PostgresConnection, _ tenant: String, _ name: String, applicationName: String? = nil) throws -> (String, String) {
        let id = try scimUser(owner, tenant, name)
        let result = try #require(owner.execute(SQL(unsafeRaw: """
            select app.sync_user('\(tenant)', '\(id)', jsonb_build_object('username', '\(applicationName ?? name)', 'subject', '\(name)'), 'test') as r
            """))[0, "r"])
        return (result, id)
    }

    static func withOwner(_ body: (PostgresConnection) throws -> Void) throws {
        let owner = try TestDatabase.connection()
        try owner.executeScript("begin")
        defer { _ = try? owner.executeScript("rollback") }
        try body(owner)
    }

    @Test("a name another application user holds is skipped with an error; a deprovisioned user's name brings that user back")
    func namesStayUnique() throws {
        try Self.withOwner { owner in
            let tenant = try Self.tenant(owner, users: 0)
            let (created, alice) = try Self.create(owner, tenant, "alice@example.com")
            #expect(created == "created")
            let applicationUser = try #require(owner.execute(SQL(unsafeRaw: "select id from app.users where scim_user_id = '\(alice)'"))[0, "id"])

            let (clash, bob) = try Self.create(owner, tenant, "bob@example.com", applicationName: "alice@example.com")
            #expect(clash == "skipped")
            #expect(try owner.execute(SQL(unsafeRaw: "select count(*) as n from app.users where scim_user_id = '\(bob)'"))[0, "n"] == "0")
            let error = try owner.execute(SQL(unsafeRaw: """
                select detail from scim.provisioning_errors where tenant_id = '\(tenant)' and resource_id = '\(bob)' and cause = 'username'
                """))[0, "detail"]
            #expect(error?.contains("belongs to another application user") == true, "\(error ?? "no error")")

            try owner.execute(SQL(unsafeRaw: "delete from scim.users where id = '\(alice)'"))
            let (back, again) = try Self.create(owner, tenant, "alice@example.com")
            #expect(back == "updated")
            let row = try owner.execute(SQL(unsafeRaw: "select id, scim_user_id, active from app.users where lower(username) = 'alice@example.com' and tenant_id = '\(tenant)'"))
            #expect(row.count == 1 && row[0, "id"] == applicationUser && row[0, "scim_user_id"] == again && row[0, "active"] == "t")
        }
    }

    @Test("a user skipped while already in a mapped group gets the group's role, and its error resolved, once its name is free")
    func skippedMemberGetsItsRolesLater() throws {
        try Self.withOwner { owner in
            let tenant = try Self.tenant(owner, users: 0)
            _ = try Self.create(owner, tenant, "alice@example.com")
            try owner.execute(SQL(unsafeRaw: """
                with role as (insert into app.roles (tenant_id, name) values ('\(tenant)', 'Editor') returning id)
                insert into scim.group_role_mappings (tenant_id, match_by, match_value, role_id)
                select '\(tenant)', 'displayName', 'Editors', id from role
                """))
            let group = try #require(owner.execute(SQL(unsafeRaw: """
                insert into scim.groups (tenant_id, display_name) values ('\(tenant)', 'Editors') returning id
                """))[0, "id"])
            let (clash, bob) = try Self.create(owner, tenant, "bob@example.com", applicationName: "alice@example.com")
            #expect(clash == "skipped")
            try owner.execute(SQL(unsafeRaw: "insert into scim.group_members (tenant_id, group_id, member_id) values ('\(tenant)', '\(group)', '\(bob)')"))

            let synced = try owner.execute(SQL(unsafeRaw: """
                select app.sync_user('\(tenant)', '\(bob)', jsonb_build_object('username', 'bob@example.com', 'subject', 'bob'), 'test') as r
                """))[0, "r"]
            #expect(synced == "created")
            let roles = try owner.execute(SQL(unsafeRaw: """
                select string_agg(r.name || '<-' || a.source, ',') as roles from app.users u
                join app.role_assignments a on a.tenant_id = u.tenant_id and a.user_id = u.id
                join app.roles r on r.tenant_id = a.tenant_id and r.id = a.role_id
                where u.tenant_id = '\(tenant)' and u.scim_user_id = '\(bob)'
                """))[0, "roles"]
            #expect(roles == "Editor<-group")
            let open = try owner.execute(SQL(unsafeRaw: """
                select count(*) as n from scim.provisioning_errors where tenant_id = '\(tenant)' and resource_id = '\(bob)' and resolved_at is null
                """))[0, "n"]
            #expect(open == "0", "the username error is resolved by the sync that succeeded")
        }
    }

    @Test("a create's sync reads as much beside 20,000 deprovisioned users as beside none")
    func deprovisionedUsersCostNothing() throws {
        try Self.withOwner { owner in
            let crowded = try Self.tenant(owner, users: 0)
            let empty = try Self.tenant(owner, users: 0)
            // Statistics from before the tenant's users were deprovisioned, as they stand until
            // autovacuum comes by: 2,000 users, every one with its SCIM user (a young database's
            // empty statistics would tie every index that starts with the tenant, a separate matter).
            _ = try Self.tenant(owner, users: 2000)
            try owner.execute("analyze app.users")
            try owner.execute(SQL(unsafeRaw: """
                insert into app.users (tenant_id, username, active, deprovisioned_at)
                select '\(crowded)', 'gone' || i || '@example.com', false, now() from generate_series(1, 20000) i
                """))
            func buffers(_ tenant: String, _ name: String) throws -> Int {
                let id = try Self.scimUser(owner, tenant, name)
                return try LargeTenantPlanTests.buffers(owner, """
                    select app.sync_user('\(tenant)', '\(id)', jsonb_build_object('username', '\(name)', 'subject', '\(name)'), 'test')
                    """)
            }
            // The first calls plan the function's statements; each tenant's least of two counts.
            _ = try buffers(empty, "warm-1@example.com")
            _ = try buffers(crowded, "warm-1@example.com")
            let beside0 = min(try buffers(empty, "new-1@example.com"), try buffers(empty, "new-2@example.com"))
            let beside20000 = min(try buffers(crowded, "new-1@example.com"), try buffers(crowded, "new-2@example.com"))
            #expect(beside20000 <= beside0 * 2, "beside 20,000 deprovisioned users \(beside20000) buffers, beside none \(beside0)")
        }
    }
}
