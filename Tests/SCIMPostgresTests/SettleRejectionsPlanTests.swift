import Foundation
import Testing
@testable import SCIMCore
@testable import SCIMPostgres

/// Every successful write settles the open rejections of its resource (scim.record_request). In a
/// tenant with thousands of open rejections that must stay a few index lookups, not a read of them
/// all on every write. The statement planned is the one in the installed function, as it stands.
@Suite("A write settles its rejections through indexes, however many are open", .enabled(if: TestDatabase.available))
struct SettleRejectionsPlanTests {
    @Test("3,000 open rejections: the settling update reads none of the others")
    func settlingUsesIndexes() throws {
        let tenant = try TestDatabase.tenant()
        let owner = try TestDatabase.connection()
        try owner.execute("""
            insert into scim.provisioning_errors (tenant_id, kind, cause, resource_type, resource_id, subject, detail, suggestion)
            select \(tenant.id)::uuid, 'rejected_request', '409 uniqueness', 'User', 'Person' || i || '@Example.com',
                   'Person' || i || '@Example.com', 'clash', 'rename'
            from generate_series(1, 3000) i
            """)
        try owner.execute("analyze scim.provisioning_errors")
        let source = try #require(owner.execute("""
            select prosrc from pg_proc where proname = 'record_request' and pronamespace = 'scim'::regnamespace
            """)[0, "prosrc"])
        let start = try #require(source.range(of: "update scim.provisioning_errors"), "record_request settles rejections")
        let end = try #require(source[start.lowerBound...].firstIndex(of: ";"))
        // The function's variables become binds, as PL/pgSQL passes them.
        var statement = String(source[start.lowerBound..<end])
        for (variable, bind) in [("v_tenant", "$1::uuid"), ("p_resource_type", "$2::text"), ("p_resource_id", "$3::text"),
                                 ("p_subject", "$4::text")] {
            statement = statement.replacingOccurrences(of: variable, with: bind)
        }
        try owner.executeScript("begin")
        defer { _ = try? owner.executeScript("rollback") }
        try owner.execute(SQL(unsafeRaw: "prepare settle(uuid, text, text, text) as " + statement))
        try owner.executeScript("set local plan_cache_mode = force_generic_plan")
        // EXPLAIN takes no binds: the values are written out (a uuid this test made, and constants).
        let plan = try owner.execute(SQL(unsafeRaw: """
            explain (analyze, costs off, timing off, summary off)
            execute settle('\(tenant.id)', 'User', 'no-such-id', 'person1234@example.com')
            """)).rows.compactMap { $0.first ?? nil }.joined(separator: "\n")
        #expect(plan.contains("provisioning_errors_open_subject_lower_idx"), "\(plan)")
        let removed = plan.split(separator: "\n").compactMap { line -> Int? in
            guard let range = line.range(of: "Rows Removed by Filter: ") else { return nil }
            return Int(line[range.upperBound...].trimmingCharacters(in: .whitespaces))
        }
        #expect(removed.allSatisfy { $0 < 10 }, "the update read the tenant's other open rejections:\n\(plan)")
        #expect(plan.contains("rows=1"), "the one rejection of that name is settled:\n\(plan)")
    }
}
