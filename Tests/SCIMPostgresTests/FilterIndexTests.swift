import Foundation
import Testing
@testable import SCIMCore
@testable import SCIMPostgres

/// EXPLAIN of the list statement for each indexed filter shape, on a tenant of 100,000 users: the
/// plan must reach the users through the named index, never by a sequential scan. Negations
/// (`ne`, `not`) and substring matches on JSON attributes are not indexed and not listed here.
@Suite("Filters use indexes on 100,000 users", .serialized, .enabled(if: TestDatabase.available))
struct FilterIndexTests {
    static let slug = "explain-100k"

    /// The tenant with 100,000 generated users, made once per database.
    static func tenantId(_ connection: PostgresConnection) throws -> String {
        let admin = TenantAdministration(connection: connection)
        let existing = try? admin.tenant(slug: slug)
        let tenant = try existing ?? admin.createTenant(slug: slug, name: "EXPLAIN fixture", scimEnabled: false)
        let count = try connection.execute("select count(*) as n from scim.users where tenant_id = \(tenant.id)::uuid")
        if count[0, "n"] != "100000" {
            try connection.execute("delete from scim.users where tenant_id = \(tenant.id)::uuid")
            // 5,000 users a transaction: the tenant's count is one row a transaction, and
            // PostgreSQL's cost of updating one row again grows with the versions the same
            // transaction already made (100,000 in one statement took 150 s, in twenty 35 s).
            for chunk in 0..<20 { try connection.execute("""
                insert into scim.users (tenant_id, user_name, external_id, display_name, active, attributes)
                select \(tenant.id)::uuid, 'user' || i || '@example.com', 'ext-' || i, 'User ' || i, i % 10 <> 0,
                    jsonb_strip_nulls(jsonb_build_object(
                        'userName', 'user' || i || '@example.com', 'displayName', 'User ' || i,
                        'name', jsonb_build_object('givenName', 'Given' || i, 'familyName', 'Family' || (i % 5000)),
                        'emails', jsonb_build_array(jsonb_build_object('value', 'user' || i || '@example.com', 'type', 'work')),
                        'title', case when i % 1000 = 0 then 'Manager' end,
                        'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
                            jsonb_build_object('department', 'Dept' || (i % 200), 'manager', jsonb_build_object('value', 'm-' || (i % 3000)))))
                from generate_series(\(chunk * 5000 + 1)::int, \(chunk * 5000 + 5000)::int) i
                """) }
        }
        try connection.execute("analyze scim.users")
        try connection.execute("analyze scim.group_members")
        return tenant.id
    }

    static let shapes: [(String, String)] = [
        (#"userName eq "user4242@example.com""#, "users_tenant_user_name_key"),
        (#"userName eq "user4242@example.com" and active eq true"#, "users_tenant_user_name_key"),
        (#"externalId eq "ext-4242""#, "users_tenant_external_id_idx"),
        (#"displayName eq "user 4242""#, "users_tenant_display_name_idx"),
        (#"id eq "00000000-0000-4000-8000-000000000000""#, "users_pkey"),
        (#"userName sw "user4242@""#, "users_search_text_trgm_idx"),
        (#"userName co "er4242@exa""#, "users_search_text_trgm_idx"),
        (#"userName ew "4242@example.com""#, "users_search_text_trgm_idx"),
        (#"displayName co "ser 4242""#, "users_search_text_trgm_idx"),
        (#"externalId co "xt-4242""#, "users_search_text_trgm_idx"),
        (#"emails[type eq "work"].value eq "user4242@example.com""#, "users_search_keys_idx"),
        (#"emails[type eq "work" and value eq "user4242@example.com"]"#, "users_search_keys_idx"),
        (#"emails.value eq "user4242@example.com""#, "users_search_keys_idx"),
        (#"name.familyName eq "family4242""#, "users_search_keys_idx"),
        (#"title pr"#, "users_search_keys_idx"),
        (#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "dept7""#, "users_search_keys_idx"),
        (#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m-42""#, "users_search_keys_idx"),
        (#"id eq "00000000-0000-4000-8000-000000000000" and manager eq "m-42""#, "users_pkey"),
        (#"title eq "engineer" or name.familyName eq "family42""#, "users_search_keys_idx"),
        (#"userName eq "user1@example.com" or userName eq "user2@example.com""#, "users_tenant_user_name_key"),
        (#"emails.value co "er4242@exa""#, "users_search_text_trgm_idx"),
        (#"name.familyName sw "family424""#, "users_search_text_trgm_idx"),
        (#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department ew "pt7""#, "users_search_text_trgm_idx"),
        (#"emails[type eq "work" and value co "4242@"]"#, "users_search_text_trgm_idx"),
        (#"meta.lastModified gt "2999-01-01T00:00:00Z""#, "users_tenant_updated_idx"),
        (#"meta.created lt "2000-01-01T00:00:00Z""#, "users_tenant_created_idx"),
    ]

    @Test("the plan uses the index", arguments: shapes)
    func usesIndex(_ filter: String, _ index: String) throws {
        let connection = try TestDatabase.connection()
        let tenant = try Self.tenantId(connection)
        let statement = PostgresTransaction.listStatement(
            table: "scim.users", columns: PostgresTransaction.userColumns, renderer: .users, kind: .user,
            filter: try FilterResolver(TenantSchemas.standard.user).resolve(try FilterParser.parse(filter)), window: .index(1, 100), sort: nil,
            tenant: "\(tenant)::uuid")
        // Planned as the responder's role sees it: row-level security, were it on, changes plans.
        let explainer = try TestDatabase.responderConnection()
        try explainer.executeScript("begin")
        defer { _ = try? explainer.executeScript("rollback") }
        try explainer.execute("select set_config('scim.tenant_id', \(tenant), true)")
        let plan = try explainer.execute(SQL(unsafeRaw: "explain ") + statement.page).rows.compactMap { $0.first ?? nil }
            .joined(separator: "\n")
        #expect(plan.contains(index), "\(filter)\n\(plan)")
        #expect(!plan.contains("Seq Scan on users"), "\(filter)\n\(plan)")
    }

    @Test("Entra's lookup (userName eq) keeps its index under the generic plan the responder's prepared statement gets, planned in a small tenant and in a large one")
    func genericPlanOfTheLookup() throws {
        let connection = try TestDatabase.connection()
        let large = try Self.tenantId(connection)
        let small = try TestDatabase.tenant().id
        // The text is the same for every tenant (the tenant is a bind), so one prepared statement serves all.
        func statement(_ tenant: String) throws -> (text: String, arguments: String) {
            let (text, binds) = PostgresTransaction.listStatement(
                table: "scim.users", columns: PostgresTransaction.userColumns, renderer: .users, kind: .user,
                filter: try FilterResolver(TenantSchemas.standard.user).resolve(try FilterParser.parse(#"userName eq "user4242@example.com""#)),
                window: .index(1, 100), sort: nil, tenant: "\(tenant)::uuid").page.render()
            return (text, binds.map { $0.map { "'" + $0.replacingOccurrences(of: "'", with: "''") + "'" } ?? "null" }.joined(separator: ", "))
        }
        #expect(try statement(small).text == statement(large).text)
        let explainer = try TestDatabase.responderConnection()
        try explainer.executeScript("set plan_cache_mode = force_generic_plan")
        try explainer.execute(SQL(unsafeRaw: "prepare lookup as " + (try statement(small).text)))
        for (name, tenant) in [("small", small), ("large", large), ("small again", small)] {
            try explainer.executeScript("begin")
            defer { _ = try? explainer.executeScript("rollback") }
            try explainer.execute("select set_config('scim.tenant_id', \(tenant), true)")
            let plan = try explainer.execute(SQL(unsafeRaw: "explain execute lookup(\(try statement(tenant).arguments))")).rows.compactMap { $0.first ?? nil }
                .joined(separator: "\n")
            #expect(plan.contains("users_tenant_user_name_key"), "\(name) tenant:\n\(plan)")
            #expect(!plan.contains("users_pkey") && !plan.contains("Seq Scan on users"), "\(name) tenant:\n\(plan)")
        }
    }

    @Test("paging a whole tenant of 100,000 users: the page's ids come from the primary key, the last page too, and the exact total from the tenant's counts")
    func wholeTenantPaging() throws {
        let connection = try TestDatabase.connection()
        let tenant = try Self.tenantId(connection)
        // As autovacuum leaves a table after a load: the visibility map lets the walk skip the heap.
        try connection.execute("vacuum analyze scim.users")
        let explainer = try TestDatabase.responderConnection()
        try explainer.executeScript("begin")
        defer { _ = try? explainer.executeScript("rollback") }
        try explainer.execute("select set_config('scim.tenant_id', \(tenant), true)")
        for start in [1, 99_901] {
            let statement = PostgresTransaction.listStatement(
                table: "scim.users", columns: PostgresTransaction.userColumns, renderer: .users, kind: .user, filter: nil,
                window: .index(start, 100), sort: nil, tenant: "\(tenant)::uuid")
            #expect(statement.pageCarriesTotal && statement.marksPages)
            let plan = try explainer.execute(SQL(unsafeRaw: "explain ") + statement.page).rows.compactMap { $0.first ?? nil }.joined(separator: "\n")
            #expect(plan.contains("users_pkey") && !plan.contains("Seq Scan on users") && !plan.contains("WindowAgg"), "startIndex \(start):\n\(plan)")
            // After the previous page's mark, the primary key is entered at the mark (an index
            // condition under row-level security too), not walked from the tenant's first id.
            #expect(plan.contains("AND (id > $"), "startIndex \(start):\n\(plan)")
            let rows = try explainer.execute(statement.page)
            #expect(rows.count == 100, "startIndex \(start)")
            let counted = try connection.execute("select count(*) as n from scim.users where tenant_id = \(tenant)::uuid")
            #expect(rows[0, "total"] == counted[0, "n"], "the counts' total is the exact count")
        }
    }
}
