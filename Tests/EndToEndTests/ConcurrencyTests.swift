import Foundation
import Testing
@testable import SCIMCore

@Suite("Concurrency: one winner, the rest told why", .enabled(if: Stack.available))
struct ConcurrencyTests {
    @Test("PATCHes racing with the same If-Match: exactly one applies, the others get 412")
    func etagRace() async throws {
        let tenant = try TestTenant.make()
        let (id, _) = try await tenant.client.createUser("race-etag@example.com")
        let client = tenant.client
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for i in 0..<6 {
                group.addTask {
                    try await client.patch("/Users/\(id)",
                        #"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"t\#(i)"}]}"#,
                        headers: ["If-Match": #"W/"1""#]).status
                }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(statuses.sorted() == [200, 412, 412, 412, 412, 412], "\(statuses)")
        #expect(try await client.get("/Users/\(id)").header("ETag") == #"W/"2""#)
    }

    @Test("two groups renamed at once to the same name: one succeeds, the other gets 409")
    func renameCollision() async throws {
        let tenant = try TestTenant.make()
        let client = tenant.client
        var ids: [String] = []
        for name in ["Alpha", "Beta"] {
            let response = try await client.post("/Groups", #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"\#(name)"}"#)
            ids.append(try #require(response.object?["id"]?.stringValue))
        }
        let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
            for (i, id) in ids.enumerated() {
                group.addTask {
                    try await client.patch("/Groups/\(id)",
                        #"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"displayName","value":"\#(i == 0 ? "Gamma" : "GAMMA")"}]}"#).status
                }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(statuses.sorted() == [204, 409], "\(statuses)")
    }
}

@Suite("A worker killed mid-request", .serialized, .enabled(if: Stack.available))
struct KilledMidRequestTests {
    func workers() throws -> [Int32] {
        let (_, project) = try Stack.require()
        let text = try String(contentsOfFile: "\(project)/.local/run/scim-fcgi.pid", encoding: .utf8)
        let supervisor = try #require(Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)))
        let children = try String(contentsOfFile: "/proc/\(supervisor)/task/\(supervisor)/children", encoding: .utf8)
        return children.split(separator: " ").compactMap { Int32($0) }
    }

    /// CPU ticks a process has used (utime + stime in /proc/PID/stat).
    func cpuTicks(_ pid: Int32) -> Int {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return (Int(fields[11]) ?? 0) + (Int(fields[12]) ?? 0)
    }

    @Test("its request gets nginx's SCIM-shaped 502 and leaves nothing half-written; other requests go on")
    func killedMidRequest() async throws {
        let tenant = try TestTenant.make()
        let client = tenant.client
        let database = try #require(ProcessInfo.processInfo.environment["SCIM_TEST_DATABASE_URL"], "run ./deploy/test.sh")
        // A long request, however fast creates get: a bulk of 999 creates in one transaction, whose
        // last operation waits for a user's row that a DBA's transaction holds.
        let (heldId, _) = try await client.createUser("held@example.com")
        Task.detached {
            _ = try? Stack.run("/usr/bin/psql", [database, "-qc",
                "begin; select 1 from scim.users where id = '\(heldId)' for update; select pg_sleep(30); commit;"], expectSuccess: false)
        }
        defer {
            _ = try? Stack.run("/usr/bin/psql", [database, "-qAtc",
                "select pg_terminate_backend(pid) from pg_stat_activity where query like '%\(heldId)%pg_sleep(30)%' and pid <> pg_backend_pid()"])
        }
        func waitingForLocks() throws -> Int {
            Int(try Stack.run("/usr/bin/psql", [database, "-qAtc",
                "select count(*) from pg_stat_activity where wait_event_type = 'Lock' and datname = current_database()"])
                .output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        }
        try await Task.sleep(nanoseconds: 1_000_000_000)
        let creates = (0..<999).map { #"{"method":"POST","path":"/Users","bulkId":"b\#($0)","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"doomed\#($0)@example.com"}}"# }
        let held = #"{"method":"PATCH","path":"/Users/\#(heldId)","data":{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"x"}]}}"#
        let body = #"{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[\#((creates + [held]).joined(separator: ","))]}"#
        let before = try workers()
        let ticks = Dictionary(uniqueKeysWithValues: before.map { ($0, cpuTicks($0)) })
        async let bulk = client.post("/Bulk", body)
        var waited = 0
        while try waitingForLocks() == 0, waited < 80 {
            try await Task.sleep(nanoseconds: 100_000_000)
            waited += 1
        }
        #expect(try waitingForLocks() == 1, "the bulk reached the held row within 8 s")
        // The busy worker is the one whose CPU time grew with the creates.
        let busy = try #require(before.max { (cpuTicks($0) - (ticks[$0] ?? 0)) < (cpuTicks($1) - (ticks[$1] ?? 0)) })
        kill(busy, SIGKILL)
        var others: [Int] = []
        for _ in 0..<20 { others.append(try await client.get("/Users?count=1").status) }
        let response = try await bulk
        expectSCIMError(response, status: 502)
        #expect(others.allSatisfy { $0 == 200 }, "\(others)")
        let written = try await client.filterUsers(#"userName sw "doomed""#)
        #expect(written.object?["totalResults"] == .integer(0), "the killed transaction was rolled back whole")
        var after: [Int32] = []
        for _ in 0..<50 {
            after = try workers()
            if after.count == before.count && !after.contains(busy) { break }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        #expect(after.count == before.count && !after.contains(busy), "the supervisor replaced the worker")
    }
}
