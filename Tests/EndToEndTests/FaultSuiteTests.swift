import Foundation
import Testing
@testable import SCIMCore

/// The fault suite: each scenario runs a concurrent Entra-like write load (bounded in count and
/// time, loopback only), injects one fault midway, shows the fault happened (a new pid, a new
/// postmaster, terminated connections), then counts in PostgreSQL itself, not through the server
/// under test, what was stored: acknowledged creates are a subset of stored ones, stored ones a
/// subset of those sent, each stored user once with exactly one application user. Prints the
/// table: scenario, sent, acknowledged, stored, stored but unacknowledged, lost, strays, evidence.
@Suite("Fault suite under concurrent load", .serialized, .enabled(if: Stack.available))
struct FaultSuiteTests {
    struct Row: Sendable {
        var scenario: String
        var sent: Set<String> = []
        var acknowledged: Set<String> = []
        /// The run's users as PostgreSQL holds them, by userName, with their application users.
        var stored: [String: Int] = [:]
        /// Acknowledged users the server itself finds by filter, as Entra would look them up.
        var verified = 0
        /// What showed the fault took effect; nil when nothing did.
        var evidence: String?
        var statuses: [Int: Int] = [:]
        /// Transactions the responder ran again on a fresh connection during the scenario (its log's
        /// "reconnecting to retry transaction" lines): a restart it absorbed shows here, not in statuses.
        var reconnects = 0
        /// Whether the service recovered by itself: every writer that sent five or more requests after
        /// the fault was over had its last five acknowledged (and at least one writer did).
        var recovered = true
    }

    func supervisorPid() throws -> Int32 {
        let (_, project) = try Stack.require()
        let text = try String(contentsOfFile: "\(project)/.local/run/scim-fcgi.pid", encoding: .utf8)
        return try #require(Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    func workers() throws -> [Int32] {
        let supervisor = try supervisorPid()
        let children = try String(contentsOfFile: "/proc/\(supervisor)/task/\(supervisor)/children", encoding: .utf8)
        return children.split(separator: " ").compactMap { Int32($0) }
    }

    static var ownerURL: String {
        get throws {
            let (_, project) = try Stack.require()
            return try String(contentsOfFile: "\(project)/.local/admin_database_url", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }

    /// One value from PostgreSQL, as the owner (psql, outside the server under test).
    static func ownerValue(_ sql: String) throws -> String {
        try Stack.run("/usr/bin/psql", [try ownerURL, "-qAtc", sql]).output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The run's users in PostgreSQL: userName -> how many application users each has.
    static func storedUsers(tenant: String, prefix: String) throws -> [String: Int] {
        let lines = try ownerValue("""
            select u.user_name || '|' || count(a.id) from scim.users u join scim.tenants t on t.id = u.tenant_id
              left join app.users a on a.tenant_id = u.tenant_id and a.scim_user_id = u.id
             where t.slug = '\(tenant)' and u.user_name like '\(prefix)-%' group by u.id, u.user_name
            """).split(separator: "\n")
        var stored: [String: Int] = [:]
        for line in lines {
            let parts = line.split(separator: "|")
            guard parts.count == 2 else { continue }
            // -1: the same name stored twice.
            stored[String(parts[0])] = stored[String(parts[0])] == nil ? Int(parts[1]) ?? -1 : -1
        }
        return stored
    }

    /// 4 writers, 40 creates each, the fault injected once the first 30 have been sent; `fault`
    /// returns what showed it took effect, or nil.
    func run(_ scenario: String, _ tenant: TestTenant, fault: @escaping @Sendable () throws -> String?) async throws -> Row {
        let client = tenant.client
        let evidence = Evidence()
        let prefix = "\(scenario.filter { $0.isLetter }.lowercased())-\(UUID().uuidString.prefix(6))"
        let counter = Counter()
        let logStart = try Self.responderLogSize()
        let perWriter = try await withThrowingTaskGroup(of: [(String, Int, Bool)].self, returning: [[(String, Int, Bool)]].self) { group in
            for writer in 0..<4 {
                group.addTask {
                    var results: [(String, Int, Bool)] = []
                    for i in 0..<40 {
                        if await counter.increment() == 30 {
                            await evidence.set(try fault())
                            await counter.faultIsOver()
                        }
                        let afterFault = await counter.faultOver
                        let name = "\(prefix)-\(writer)-\(i)@example.com"
                        let status = (try? await client.post("/Users", #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"\#(name)"}"#).status) ?? -1
                        results.append((name, status, afterFault))
                        // A client backs off after a failure (Entra retries later), so an outage spans a few requests.
                        if status != 201 { try await Task.sleep(nanoseconds: 100_000_000) }
                    }
                    return results
                }
            }
            return try await group.reduce(into: [[(String, Int, Bool)]]()) { $0.append($1) }
        }
        var row = Row(scenario: scenario)
        row.evidence = await evidence.value
        row.reconnects = try Self.reconnectLines(since: logStart)
        // A writer that finished while the fault lasted (the SIGTERM restart takes a moment) says
        // nothing about recovery; the others must end on five acknowledged requests.
        let observed = perWriter.filter { $0.filter(\.2).count >= 5 }
        row.recovered = !observed.isEmpty && observed.allSatisfy { writer in writer.suffix(5).allSatisfy { $0.1 == 201 } }
        let results = perWriter.flatMap { $0 }
        for (name, status, _) in results {
            row.sent.insert(name)
            row.statuses[status, default: 0] += 1
            if status == 201 { row.acknowledged.insert(name) }
        }
        // After the fault, the service recovers by itself; give it a moment, then verify.
        for _ in 0..<50 where (try? await client.get("/Users?count=0").status) != 200 { try await Task.sleep(nanoseconds: 100_000_000) }
        row.stored = try Self.storedUsers(tenant: tenant.slug, prefix: prefix)
        for name in row.acknowledged {
            var found = -1
            for _ in 0..<5 where found < 0 {
                found = try await client.filterUsers(#"userName eq "\#(name)""#).object?["totalResults"]?.intValue ?? -1
                if found < 0 { try await Task.sleep(nanoseconds: 200_000_000) }
            }
            if found == 1 { row.verified += 1 }
        }
        return row
    }

    static var responderLog: String {
        get throws { "\(try Stack.require().projectDir)/.local/log/scim-fcgi.log" }
    }

    static func responderLogSize() throws -> UInt64 { try Stack.logSize(try responderLog) }

    static func reconnectLines(since offset: UInt64) throws -> Int {
        try Stack.logText(try responderLog, from: offset).components(separatedBy: "reconnecting to retry transaction").count - 1
    }

    actor Evidence {
        var value: String?
        func set(_ value: String?) { self.value = value }
    }

    actor Counter {
        var value = 0
        var faultOver = false
        func increment() -> Int { value += 1; return value }
        func faultIsOver() { faultOver = true }
    }

    @Test("every acknowledged write survives each fault, exactly once; nothing is stored that was not sent; each fault is shown to have happened")
    func faults() async throws {
        let tenant = try TestTenant.make()
        let logStart = try Self.responderLogSize()
        let postmasterStart = "select pg_postmaster_start_time()"
        var rows: [Row] = []
        rows.append(try await run("no fault", tenant) { "none injected" })
        for mode in ["fast", "immediate"] {
            rows.append(try await run("database restart (\(mode))", tenant) {
                let before = try Self.ownerValue(postmasterStart)
                try Stack.quickstart("db-stop", mode)
                try Stack.quickstart("db-start")
                let after = try Self.ownerValue(postmasterStart)
                return before != after && !after.isEmpty ? "postmaster started \(after)" : nil
            })
        }
        rows.append(try await run("worker SIGKILL", tenant) {
            let killed = try workers().prefix(2)
            for pid in killed { kill(pid, SIGKILL) }
            usleep(300_000)
            let now = Set(try workers())
            return !killed.isEmpty && now.isDisjoint(with: killed) && now.count >= 2 ? "workers \(killed.map(String.init)) replaced" : nil
        })
        rows.append(try await run("SIGHUP (replace workers)", tenant) {
            let before = Set(try workers())
            kill(try supervisorPid(), SIGHUP)
            // The old workers finish what they hold (a connection kept by a FastCGI client up to
            // 10 s; nginx keeps none).
            var after = Set<Int32>()
            for _ in 0..<100 {
                usleep(100_000)
                after = Set(try workers())
                if after.isDisjoint(with: before) { break }
            }
            return !before.isEmpty && !after.isEmpty && before.isDisjoint(with: after) ? "all \(before.count) workers replaced" : nil
        })
        let (_, project) = try Stack.require()
        let exitFile = "\(project)/.local/run/scim-fcgi.exit"
        unlink(exitFile + ".sigterm")
        rows.append(try await run("SIGTERM (drain and exit), restart", tenant) {
            let pid = try supervisorPid()
            kill(pid, SIGTERM)
            for _ in 0..<200 where kill(pid, 0) == 0 { usleep(50_000) }
            let exited = kill(pid, 0) != 0
            usleep(200_000)
            // Kept aside: starting the responder again clears the exit file.
            _ = rename(exitFile, exitFile + ".sigterm")
            try Stack.quickstart("responder-start")
            let restarted = try supervisorPid()
            return exited && restarted != pid ? "supervisor \(pid) exited, \(restarted) started" : nil
        })
        let exitStatus = (try? String(contentsOfFile: exitFile + ".sigterm", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(exitStatus == "0", "the responder exits 0 after draining on SIGTERM")
        rows.append(try await run("connections terminated by the server", tenant) {
            let terminated = try Self.ownerValue(
                "select count(*) filter (where pg_terminate_backend(pid)) from pg_stat_activity where application_name = 'scim-server'")
            return (Int(terminated) ?? 0) > 0 ? "\(terminated) connections terminated" : nil
        })

        var table = "\nscenario                               sent  acked  stored  unacked  lost  strays  statuses / evidence\n"
        for row in rows {
            let stored = Set(row.stored.keys)
            let statuses = row.statuses.sorted { $0.key < $1.key }.map { "\($0.key)x\($0.value)" }.joined(separator: " ")
            table += row.scenario.padding(toLength: 38, withPad: " ", startingAt: 0)
                + String(format: " %4d  %5d  %6d  %7d  %4d  %6d  ", row.sent.count, row.acknowledged.count, stored.count,
                         stored.subtracting(row.acknowledged).count, row.acknowledged.subtracting(stored).count,
                         stored.subtracting(row.sent).count)
                + statuses + " / reconnects \(row.reconnects) / " + (row.evidence ?? "NO EVIDENCE") + "\n"
        }
        print(table)
        for row in rows {
            let stored = Set(row.stored.keys)
            #expect(row.sent.count == 160, "\(row.scenario): every request was sent")
            #expect(row.evidence != nil, "\(row.scenario): nothing shows the fault took effect")
            #expect(row.acknowledged.isSubset(of: stored), "\(row.scenario): acknowledged but not stored: \(row.acknowledged.subtracting(stored).sorted())")
            #expect(stored.isSubset(of: row.sent), "\(row.scenario): stored but never sent: \(stored.subtracting(row.sent).sorted())")
            #expect(row.stored.values.allSatisfy { $0 == 1 }, "\(row.scenario): each stored user once, with one application user: \(row.stored.filter { $0.value != 1 })")
            #expect(row.verified == row.acknowledged.count, "\(row.scenario): the server finds every acknowledged user by filter")
            // Only the documented failure answers: 503 while the database is away, 502 for a killed worker's
            // request or while the responder is down between SIGTERM and its restart.
            #expect(row.statuses.keys.allSatisfy { [201, 502, 503].contains($0) }, "\(row.scenario): \(row.statuses)")
            #expect(row.recovered, "\(row.scenario): every writer's last requests were acknowledged")
        }
        // What the faults made the responder log (workers exiting, a supervisor starting, reconnects,
        // database errors) is one JSON object a line, each key once.
        let lines = try Stack.logText(try Self.responderLog, from: logStart).split(separator: "\n")
        #expect(lines.contains { $0.contains(#""msg":"worker exited""#) } && lines.contains { $0.contains(#""msg":"supervisor started""#) })
        for line in lines {
            let keys = (try? JSONParser.parse(Array(line.utf8)).objectValue)?.members.map(\.key)
            #expect(keys != nil && Set(keys ?? []).count == keys?.count, "not one JSON object with each key once: \(line.prefix(300))")
        }
        #expect(rows[0].acknowledged.count == rows[0].sent.count, "without a fault everything is acknowledged")
        #expect(rows.dropFirst(1).prefix(2).allSatisfy { $0.statuses.keys.contains { $0 != 201 } || $0.reconnects > 0 },
                "while the database restarted, some request was answered with something other than 201, or retried on a new connection")
    }
}
