import Foundation
import Testing
@testable import SCIMPostgres

/// Migration 20261130001800: a membership change grants or takes away the roles of that one
/// membership. The trigger locks the members' application users itself, so a writer that does not
/// go through the responder (which locks them before its PATCH) still cannot grant a role to a
/// user that a concurrent deactivation has just stripped.
@Suite("Membership triggers change only the roles of the membership", .enabled(if: TestDatabase.available), .serialized)
struct MembershipRoleTriggerTests {
    struct Directory {
        let owner: PostgresConnection
        let tenant: String
        let user: String
        let group: String

        static func make() throws -> Directory {
            let owner = try TestDatabase.connection()
            let tenant = try #require(try owner.execute("""
                insert into scim.tenants (slug, name, scim_enabled) values ('role-trigger-' || gen_random_uuid(), 'Role triggers', true) returning id
                """)[0, "id"])
            let ids = try owner.execute(SQL(unsafeRaw: """
                with u as (insert into scim.users (tenant_id, user_name, attributes) values ('\(tenant)', 'member@example.com', '{}') returning id),
                     g as (insert into scim.groups (tenant_id, display_name, attributes) values ('\(tenant)', 'Editors', '{}') returning id),
                     r as (insert into app.roles (tenant_id, name) values ('\(tenant)', 'Editor') returning id),
                     m as (insert into scim.group_role_mappings (tenant_id, match_by, match_value, role_id)
                           select '\(tenant)', 'displayName', 'Editors', r.id from r),
                     a as (insert into app.users (tenant_id, scim_user_id, username, active) select '\(tenant)', u.id, 'member', true from u)
                select u.id as user_id, g.id as group_id from u, g
                """))
            return Directory(owner: owner, tenant: tenant, user: try #require(ids[0, "user_id"]), group: try #require(ids[0, "group_id"]))
        }

        func run(_ sql: String, on connection: PostgresConnection? = nil) throws {
            try (connection ?? owner).executeScript(sql)
        }

        func roles() throws -> [String] {
            try owner.execute(SQL(unsafeRaw: """
                select r.name || '<-' || coalesce(g.display_name, a.source) as role
                  from app.role_assignments a join app.users u on u.tenant_id = a.tenant_id and u.id = a.user_id
                  join app.roles r on r.tenant_id = a.tenant_id and r.id = a.role_id
                  left join scim.groups g on g.tenant_id = a.tenant_id and g.id = a.group_id
                 where a.tenant_id = '\(tenant)' and u.scim_user_id = '\(user)' order by 1
                """)).rows.compactMap { $0.first ?? nil }
        }

        func remove() {
            _ = try? owner.executeScript("delete from scim.tenants where id = '\(tenant)'")
        }
    }

    @Test("added, a membership grants the group's roles to an active member; removed, it takes away only those")
    func addAndRemove() throws {
        let directory = try Directory.make()
        defer { directory.remove() }
        let other = try #require(try directory.owner.execute(SQL(unsafeRaw: """
            with g as (insert into scim.groups (tenant_id, display_name, attributes) values ('\(directory.tenant)', 'Writers', '{}') returning id)
            insert into scim.group_role_mappings (tenant_id, match_by, match_value, role_id)
            select '\(directory.tenant)', 'externalId', 'none', r.id from app.roles r where r.tenant_id = '\(directory.tenant)'
            returning (select id from g) as id
            """))[0, "id"])
        try directory.run("update scim.groups set external_id = 'none' where id = '\(other)'")
        try directory.run("insert into scim.group_members (tenant_id, group_id, member_id) values ('\(directory.tenant)', '\(directory.group)', '\(directory.user)')")
        try directory.run("insert into scim.group_members (tenant_id, group_id, member_id) values ('\(directory.tenant)', '\(other)', '\(directory.user)')")
        #expect(try directory.roles() == ["Editor<-Editors", "Editor<-Writers"])
        try directory.run("delete from scim.group_members where group_id = '\(directory.group)'")
        #expect(try directory.roles() == ["Editor<-Writers"])
        try directory.run("update app.users set active = false, deprovisioned_at = now() where tenant_id = '\(directory.tenant)'")
        try directory.run("select app.refresh_group_roles('\(directory.tenant)', array['\(directory.user)'::uuid])")
        #expect(try directory.roles() == [])
        try directory.run("insert into scim.group_members (tenant_id, group_id, member_id) values ('\(directory.tenant)', '\(directory.group)', '\(directory.user)')")
        #expect(try directory.roles() == [], "an inactive member is granted nothing")
    }

    @Test("a membership inserted while a deactivation holds the user waits for it, then grants nothing")
    func insertWaitsForDeactivation() throws {
        let directory = try Directory.make()
        defer { directory.remove() }
        let writer = try TestDatabase.connection()
        try directory.run("""
            begin;
            update app.users set active = false, deprovisioned_at = now() where tenant_id = '\(directory.tenant)' and scim_user_id = '\(directory.user)';
            select app.refresh_group_roles('\(directory.tenant)', array['\(directory.user)'::uuid]);
            """)
        let insert = "insert into scim.group_members (tenant_id, group_id, member_id) values ('\(directory.tenant)', '\(directory.group)', '\(directory.user)')"
        let inserting = WorkAside { try writer.executeScript(insert) }
        // Blocked on the deactivation's row lock (or not started yet: then it runs after the commit).
        #expect(!inserting.finished(within: 0.5), "the insert did not wait for the deactivating transaction")
        try directory.run("commit")
        #expect(inserting.finished(within: 10))
        #expect(inserting.failure == nil)
        #expect(try directory.roles() == [], "a deactivated member holds no group role")
    }
}
