import Foundation
import Testing
@testable import SCIMCore
@testable import SCIMPostgres

/// Migrations 20261130001500 and 1700 and `GrowingTableStatistics`: a directory table that grew by
/// more than 20 rows and a tenth since its last ANALYZE is analyzed when the responder's
/// housekeeper asks. The rows must be committed (the statistics count nothing else), so each test works in a tenant of its
/// own, deleted at the end. Autovacuum may analyze the table first (it looks once a minute, past
/// a tenth): the tests then grow it again, at most three times.
@Suite("Directory tables that grow faster than autovacuum looks are analyzed", .enabled(if: TestDatabase.available), .serialized)
struct GrowingTableStatisticsTests {
    static let table = "scim.group_role_mappings"

    /// Adds role mappings past the line and makes the counts visible; true when the table is then
    /// listed as growing (false: something analyzed it meanwhile).
    static func grow(_ owner: PostgresConnection, tenantId: String, round: Int) throws -> Bool {
        let counts = try owner.execute(SQL(unsafeRaw: """
            select greatest(c.reltuples, 0)::bigint as analyzed, s.n_live_tup as live
            from pg_class c join pg_stat_user_tables s on s.relid = c.oid where c.oid = '\(table)'::regclass
            """))
        let analyzed = try #require(counts.int(0, "analyzed")), live = try #require(counts.int(0, "live"))
        let count = max(0, 21 + analyzed + analyzed / 10 - live) + 20
        try owner.execute(SQL(unsafeRaw: """
            insert into app.roles (tenant_id, name) select '\(tenantId)', 'Grow \(round) ' || g from generate_series(1, \(count)) g
            """))
        try owner.execute(SQL(unsafeRaw: """
            insert into scim.group_role_mappings (tenant_id, match_by, match_value, role_id)
            select tenant_id, 'displayName', name, id from app.roles where tenant_id = '\(tenantId)' and name like 'Grow \(round) %'
            """))
        try owner.executeScript("select pg_stat_force_next_flush()")
        // The flush happens when the session goes idle; the next transaction reads it.
        try owner.executeScript("select 1")
        return try growing(owner).contains(table)
    }

    static func growing(_ connection: PostgresConnection) throws -> [String] {
        try connection.execute("""
            select n.nspname || '.' || c.relname as name
            from scim.growing_tables('0') as relation join pg_class c on c.oid = relation join pg_namespace n on n.oid = c.relnamespace
            """).rows.compactMap { $0.first ?? nil }
    }

    static func withTenant(_ body: (PostgresConnection, String) throws -> Void) throws {
        let owner = try TestDatabase.connection()
        let tenant = try TestDatabase.tenant()
        defer { _ = try? owner.execute(SQL(unsafeRaw: "delete from scim.tenants where id = '\(tenant.id)'")) }
        try body(owner, tenant.id)
    }

    @Test("past the line a table is analyzed, and then no longer listed; 15 more rows, or updates of every row, do not list it again")
    func tablePastTheLineIsAnalyzed() throws {
        try Self.withTenant { owner, tenantId in
            var analyzed: [String] = []
            for round in 1...3 where !analyzed.contains(Self.table) {
                guard try Self.grow(owner, tenantId: tenantId, round: round) else { continue }
                let result = try owner.execute("select array_to_string(scim.analyze_growing_tables_at('0'), ',') as tables")[0, "tables"] ?? ""
                analyzed = result.split(separator: ",").map(String.init)
            }
            #expect(analyzed.contains(Self.table))
            try owner.executeScript("select pg_stat_force_next_flush()")
            try owner.executeScript("select 1")
            #expect(try !Self.growing(owner).contains(Self.table))
            try owner.execute(SQL(unsafeRaw: """
                insert into app.roles (tenant_id, name) select '\(tenantId)', 'Few ' || g from generate_series(1, 15) g
                """))
            try owner.execute(SQL(unsafeRaw: """
                insert into scim.group_role_mappings (tenant_id, match_by, match_value, role_id)
                select tenant_id, 'displayName', name, id from app.roles where tenant_id = '\(tenantId)' and name like 'Few %'
                """))
            try owner.executeScript("select pg_stat_force_next_flush()")
            try owner.executeScript("select 1")
            #expect(try !Self.growing(owner).contains(Self.table), "15 rows stay under the line")
            // As every membership PATCH bumps its group's version: changes, not growth.
            for _ in 0..<2 {
                try owner.execute(SQL(unsafeRaw: "update scim.group_role_mappings set match_value = match_value where tenant_id = '\(tenantId)'"))
            }
            try owner.executeScript("select pg_stat_force_next_flush()")
            try owner.executeScript("select 1")
            #expect(try !Self.growing(owner).contains(Self.table), "updates are not growth")
        }
    }

    @Test("the housekeeper asks at its first look and then every 2 seconds, not sooner; the responder's role may only ask")
    func housekeeperAsksEveryTwoSeconds() throws {
        let responder = try TestDatabase.responderConnection()
        #expect(throws: (any Error).self) { try responder.execute("select scim.analyze_growing_tables_at('0')") }
        #expect(throws: (any Error).self) { try responder.execute("select scim.growing_tables('0')") }
        // The responder's function looks at a table analyzed two seconds ago at the earliest.
        Thread.sleep(forTimeInterval: 2.1)
        try Self.withTenant { owner, tenantId in
            let store = PostgresStore(connection: try TestDatabase.responderConnection(), logger: TestDatabase.logger)
            let events = CountedEvents()
            store.counters = events
            nonisolated(unsafe) var now: Int64 = 0
            let statistics = GrowingTableStatistics(store: store, logger: TestDatabase.logger, clock: MonotonicClock { now })
            var analyzed = false
            for round in 1...3 where !analyzed {
                guard try Self.grow(owner, tenantId: tenantId, round: round) else { continue }
                statistics.lookIfDue()
                analyzed = events.events.contains(.tablesAnalyzed)
                if !analyzed {
                    Thread.sleep(forTimeInterval: 2.1)
                    now += 2_100_000_000
                }
            }
            #expect(analyzed, "the first look analyzes a table past the line")
            #expect(try !Self.growing(owner).contains(Self.table))

            var grown = false
            for round in 4...6 where !grown { grown = try Self.grow(owner, tenantId: tenantId, round: round) }
            try #require(grown, "the table grew past the line again")
            let before = events.events.count
            now += 1_000_000_000
            statistics.lookIfDue()
            #expect(events.events.count == before, "a second after the last look it does not ask")
            #expect(try Self.growing(owner).contains(Self.table) || Self.analyzedByAutovacuum(owner))
            Thread.sleep(forTimeInterval: 2.1)
            now += 1_100_000_000
            statistics.lookIfDue()
            #expect(try events.events.count == before + 1 || Self.analyzedByAutovacuum(owner), "two seconds after it, it asks again")
            #expect(try !Self.growing(owner).contains(Self.table))
        }
    }

    /// Whether autovacuum analyzed the table in the last seconds (it won the race; the test grows it again).
    static func analyzedByAutovacuum(_ owner: PostgresConnection) throws -> Bool {
        try owner.execute(SQL(unsafeRaw: """
            select coalesce(last_autoanalyze > now() - interval '10 seconds', false) as recent
            from pg_stat_user_tables where relid = '\(table)'::regclass
            """)).bool(0, "recent") ?? false
    }
}
