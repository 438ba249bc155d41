import Foundation
import Testing
@testable import SCIMPostgres

/// The provisioning log keeps itself (migration 20261129002800): walked through the calendar month
/// by month with `scim.maintain_provisioning_log_at`, from fourteen months ago to now, so the real
/// present is never purged by a moved clock.
@Suite("Provisioning log retention, by itself across months", .serialized, .enabled(if: TestDatabase.available))
struct LogRetentionTests {
    let connection: PostgresConnection

    init() throws {
        connection = try TestDatabase.connection()
    }

    func value(_ sql: SQL) throws -> String? {
        try connection.execute(sql)[0, "value"]
    }

    /// The partition a row is stored in, by its request id.
    func partition(of requestId: String) throws -> String? {
        try value("select (select relname from pg_class where oid = l.tableoid)::text as value from scim.provisioning_log l where request_id = \(requestId)")
    }

    func insertRow(at moment: String, tenantId: String, requestId: String) throws {
        try connection.execute("""
            insert into scim.provisioning_log (logged_at, tenant_id, request_id, method, path, status, duration_ms)
            values (\(moment)::timestamptz, \(tenantId)::uuid, \(requestId), 'POST', '/Users', 201, 1)
            """)
    }

    func partitions() throws -> Set<String> {
        let rows = try connection.execute("""
            select c.relname as name from pg_inherits i join pg_class c on c.oid = i.inhrelid
            where i.inhparent = 'scim.provisioning_log'::regclass and c.relname ~ '^provisioning_log_[0-9]{6}$'
            """)
        return Set((0..<rows.count).compactMap { rows[$0, "name"] })
    }

    /// `provisioning_log_YYYYMM` of the month `months` after the moment.
    func partitionName(_ moment: String, plusMonths months: Int) throws -> String {
        try value("select 'provisioning_log_' || to_char(\(moment)::timestamptz + make_interval(months => \(months)), 'YYYYMM') as value") ?? ""
    }

    @Test("walking fourteen months: partitions are made ahead, every row lands in its month, months past the retention are dropped")
    func walkTheCalendar() throws {
        let tenant = try TestDatabase.tenant()
        let run = UUID().uuidString.prefix(8)
        try connection.execute("update scim.log_retention set retention_days = 90, months_ahead = 3 where singleton")
        defer { _ = try? connection.execute("select scim.maintain_provisioning_log_at(now(), true)") }
        var written: [(step: Int, moment: String, requestId: String)] = []
        for step in 0...14 {
            // Mid-month, then the month's last hour on every third step: both sides of a boundary.
            let moment = try value("""
                select to_char(date_trunc('month', now()) - make_interval(months => \(14 - step))
                       + case when \(step % 3 == 2) then interval '1 month' - interval '1 hour' else interval '14 days' end,
                       'YYYY-MM-DD"T"HH24:MI:SSOF') as value
                """) ?? ""
            // Never past now: the walk must not purge the real present.
            guard try value("select (\(moment)::timestamptz <= now())::text as value") == "true" else { continue }
            #expect(try value("select scim.maintain_provisioning_log_at(\(moment)::timestamptz, true)::text as value") == "true")
            let requestId = "retention-\(run)-\(step)"
            try insertRow(at: moment, tenantId: tenant.id, requestId: requestId)
            written.append((step, moment, requestId))

            let expectedHome = try partitionName(moment, plusMonths: 0)
            #expect(try partition(of: requestId) == expectedHome, "step \(step): the row of \(moment) is in its month")
            let present = try partitions()
            for ahead in 0...3 {
                let name = try partitionName(moment, plusMonths: ahead)
                #expect(present.contains(name), "step \(step): \(name) exists \(ahead) months ahead of \(moment)")
            }
            // Months wholly older than 90 days are gone; the month that holds the cutoff stays.
            let cutoffMonth = try value("select 'provisioning_log_' || to_char(\(moment)::timestamptz - interval '90 days', 'YYYYMM') as value") ?? ""
            for name in present where name < cutoffMonth {
                Issue.record("step \(step): \(name) is older than the retention at \(moment) and still there")
            }
            if let first = written.first, try cutoffMonth >= partitionName(first.moment, plusMonths: 0) {
                #expect(present.contains(cutoffMonth), "step \(step): \(cutoffMonth) still holds rows within 90 days")
            }
            for earlier in written {
                let age = try value("select extract(epoch from \(moment)::timestamptz - \(earlier.moment)::timestamptz)::bigint::text as value")
                    .flatMap { Int($0) } ?? 0
                let stored = try partition(of: earlier.requestId) != nil
                if age <= 90 * 86_400 { #expect(stored, "step \(step): a row \(age / 86_400) days old is kept") }
                if age > 122 * 86_400 { #expect(!stored, "step \(step): a row \(age / 86_400) days old is gone") }
            }
        }
        #expect(written.count >= 14)
        #expect(try value("select count(*)::text as value from scim.provisioning_log_default where request_id like \("retention-\(run)-%")") == "0")
    }

    @Test("after maintenance stalled for months, rows waiting in the default partition move into partitions of their own month")
    func healsAfterAStall() throws {
        let tenant = try TestDatabase.tenant()
        let run = UUID().uuidString.prefix(8)
        defer { _ = try? connection.execute("select scim.maintain_provisioning_log_at(now(), true)") }
        let start = try value("select to_char(date_trunc('month', now()) - interval '9 months' + interval '3 days', 'YYYY-MM-DD\"T\"HH24:MI:SSOF') as value") ?? ""
        #expect(try value("select scim.maintain_provisioning_log_at(\(start)::timestamptz, true)::text as value") == "true")
        // Five months pass without maintenance; rows of months 4 and 5 find no partition of their own.
        var stalled: [String] = []
        for month in 4...5 {
            let moment = try value("select to_char(\(start)::timestamptz + make_interval(months => \(month)), 'YYYY-MM-DD\"T\"HH24:MI:SSOF') as value") ?? ""
            let name = try partitionName(moment, plusMonths: 0)
            // Another test's walk may have made that month; drop it (it is months in the past) to stall for real.
            if try partitions().contains(name) { try connection.execute(SQL(unsafeRaw: "drop table scim.\(name)")) }
            let requestId = "stalled-\(run)-\(month)"
            try insertRow(at: moment, tenantId: tenant.id, requestId: requestId)
            #expect(try partition(of: requestId) == "provisioning_log_default")
            stalled.append(requestId)
        }
        let later = try value("select to_char(\(start)::timestamptz + interval '5 months' + interval '10 days', 'YYYY-MM-DD\"T\"HH24:MI:SSOF') as value") ?? ""
        #expect(try value("select scim.maintain_provisioning_log_at(\(later)::timestamptz, true)::text as value") == "true")
        for (offset, requestId) in stalled.enumerated() {
            let home = try partitionName(start, plusMonths: 4 + offset)
            #expect(try partition(of: requestId) == home, "\(requestId) moved out of the default partition")
        }
        #expect(try value("select last_run_moved::text as value from scim.log_retention") == "2")
    }

    @Test("the responder's role may run the maintenance only as now, and may not purge or move time itself")
    func responderRights() throws {
        let responder = try TestDatabase.responderConnection()
        let ran = try responder.execute("select scim.maintain_provisioning_log()::text as value")[0, "value"]
        #expect(ran == "true" || ran == "false")
        for forbidden in ["select scim.maintain_provisioning_log_at(now() + interval '10 years', true)",
                          "select scim.purge_provisioning_log_at(now() + interval '10 years', interval '1 day', true)",
                          "select scim.purge_provisioning_log(interval '1 day')"] {
            #expect(throws: PostgresError.self, "\(forbidden)") { try responder.execute(SQL(unsafeRaw: forbidden)) }
        }
    }
}
