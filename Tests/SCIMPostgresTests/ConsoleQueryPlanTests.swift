import Foundation
import Testing
@testable import SCIMAdmin
@testable import SCIMCore
@testable import SCIMPostgres

/// EXPLAIN of the statements behind the console's busiest pages, as the responder's role plans
/// them (row-level security on, custom plans as the admin layer asks for), on a tenant of
/// 100,000 users with their application users and 300,000 log rows: every one reaches the log
/// and the users through an index, never by a sequential scan. Page times on a million log rows
/// are measured in bench/console.sh. The status panel's hourly counts are not listed: they read the
/// last day's rows once, through the index or in order as the table's share of recent rows makes
/// cheaper (a test run makes most rows recent); bench/console.sh measures them at a million rows.
@Suite("Console listings use indexes on 100,000 users and 300,000 log rows", .serialized, .enabled(if: TestDatabase.available))
struct ConsoleQueryPlanTests {
    /// FilterIndexTests' tenant of 100,000 users, given application users and a log once.
    static func tenantId() throws -> String {
        let connection = try TestDatabase.connection()
        let tenant = try FilterIndexTests.tenantId(connection)
        if try connection.execute("select count(*) as n from app.users where tenant_id = \(tenant)::uuid")[0, "n"] != "100000" {
            try connection.execute("delete from app.users where tenant_id = \(tenant)::uuid")
            try connection.execute("""
                insert into app.users (tenant_id, scim_user_id, username, display_name)
                select tenant_id, id, user_name, display_name from scim.users where tenant_id = \(tenant)::uuid
                """)
        }
        if try connection.execute("select count(*) as n from scim.provisioning_log where tenant_id = \(tenant)::uuid")[0, "n"] != "300000" {
            try connection.execute("delete from scim.provisioning_log where tenant_id = \(tenant)::uuid")
            try connection.execute("""
                insert into scim.provisioning_log (logged_at, tenant_id, request_id, method, path, resource_type, subject, status, duration_ms)
                select now() - (i * interval '8 seconds'), \(tenant)::uuid, md5(i::text), case when i % 10 = 0 then 'PATCH' else 'GET' end,
                       '/scim/v2/explain-100k/Users', 'User', 'user' || (i % 100000) || '@example.com',
                       case when i % 50 = 0 then 409 else 200 end, 2.5
                from generate_series(1, 300000) i
                """)
        }
        try connection.execute("analyze app.users")
        try connection.execute("analyze scim.provisioning_log")
        return tenant
    }

    static func plan(_ statement: SQL, tenant: String) throws -> String {
        let explainer = try TestDatabase.responderConnection()
        try explainer.executeScript("begin")
        defer { _ = try? explainer.executeScript("rollback") }
        try explainer.execute("select set_config('scim.tenant_id', \(tenant), true), set_config('plan_cache_mode', 'force_custom_plan', true)")
        return try explainer.execute(SQL(unsafeRaw: "explain ") + statement).rows.compactMap { $0.first ?? nil }.joined(separator: "\n")
    }

    static func filter(status: String? = nil, text: String? = nil, since: String? = nil, startIndex: Int = 1) throws -> ActivityFilter {
        try ActivityFilter(since: since, until: nil, status: status, resourceType: nil, text: text, startIndex: startIndex, count: 50)
    }

    static let cases: [(String, @Sendable (AdminListingStatements) throws -> SQL)] = [
        ("last request", { $0.lastRequest }),
        ("last successful write", { $0.lastSuccessfulWrite }),
        ("log page", { $0.logPage(try filter()) }),
        ("log count", { $0.logCount(try filter()) }),
        ("log page 101", { $0.logPage(try filter(startIndex: 5001)) }),
        ("failed requests page", { $0.logPage(try filter(status: "4xx")) }),
        ("failed requests count", { $0.logCount(try filter(status: "4xx")) }),
        ("requests about a user, page", { $0.logPage(try filter(text: "USER4242@")) }),
        ("requests about a user, count", { $0.logCount(try filter(text: "user4242@")) }),
        ("a time range", { $0.logPage(try filter(since: "2026-01-01T00:00:00Z")) }),
        ("users, first page", { $0.userPage(text: nil, broad: false, startIndex: 1, count: 50) }),
        ("users, count", { $0.userCount(text: nil) }),
        ("user search, a rare text", { $0.userPage(text: "user4242", broad: false, startIndex: 1, count: 50) }),
        ("user search, a rare text, count", { $0.userCount(text: "user4242") }),
        ("user search, a text most users match", { $0.userPage(text: "user", broad: true, startIndex: 1, count: 50) }),
    ]

    @Test("the plan reads through indexes", arguments: cases.indices)
    func indexed(_ index: Int) throws {
        let tenant = try Self.tenantId()
        let (name, build) = Self.cases[index]
        let plan = try Self.plan(try build(AdminListingStatements(tenant: "\(tenant)::uuid")), tenant: tenant)
        // An unfiltered count stops at the cap whatever it reads: where the tenant holds most rows,
        // reading them in order is as good as an index, and the limit bounds it either way.
        if ["log count", "users, count"].contains(name) {
            #expect(plan.contains("Limit") && plan.contains("rows=\(AdminListingStatements.countCap + 1)"), "\(name)\n\(plan)")
            return
        }
        #expect(plan.contains("Index"), "\(name)\n\(plan)")
        #expect(try Self.sequentialScans(plan).isEmpty, "\(name)\n\(plan)")
    }

    /// Sequential scans of the users or of a log partition that holds rows. The months ahead are
    /// empty partitions until their time comes, and other tests leave a row or two in months gone
    /// by; the planner rightly scans a partition of a page or two in no time.
    static func sequentialScans(_ plan: String) throws -> [String] {
        let empty = try TestDatabase.connection().execute("""
            select string_agg(c.relname, ',') as names from pg_inherits i join pg_class c on c.oid = i.inhrelid
            where i.inhparent = 'scim.provisioning_log'::regclass and c.relpages <= 2
            """)[0, "names"]?.split(separator: ",").map(String.init) ?? []
        return plan.split(separator: "\n").map(String.init).filter { line in
            guard let range = line.range(of: "Seq Scan on ") else { return false }
            let table = line[range.upperBound...].split(separator: " ").first.map(String.init) ?? ""
            return (table == "users" || table.hasPrefix("provisioning_log")) && !empty.contains(table)
        }
    }

    @Test("failed requests are read through the partial index of failures, and a user's through the subject index")
    func partialIndexes() throws {
        let tenant = try Self.tenantId()
        let statements = AdminListingStatements(tenant: "\(tenant)::uuid")
        let failures = try Self.plan(statements.logPage(try Self.filter(status: "5xx")), tenant: tenant)
        let sizes = try TestDatabase.connection().execute("""
            select string_agg(indexrelid::regclass::text, ',') as names from pg_index
            where indrelid in (select inhrelid from pg_inherits where inhparent = 'scim.provisioning_log'::regclass)
              and pg_get_expr(indpred, indrelid) like '%status >= 400%'
            """)
        let failureIndexes = (sizes[0, "names"] ?? "").split(separator: ",").map { $0.split(separator: ".").last.map(String.init) ?? "" }
        #expect(!failureIndexes.isEmpty && failureIndexes.contains { failures.contains($0 + " ") }, "\(failureIndexes)\n\(failures)")
        let subject = try Self.plan(statements.logCount(try Self.filter(text: "user42")), tenant: tenant)
        #expect(subject.contains("subject"), "\(subject)")
    }
}
