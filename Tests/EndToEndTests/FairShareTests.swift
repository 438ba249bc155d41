import Foundation
import Testing
@testable import SCIMCore

/// The quickstart's responder has 4 workers, so a tenant's share is 2 (SCIM_TENANT_MAX_WORKERS
/// defaults to half the workers). Requests are held in their workers by a DBA's transaction that
/// locks the rows they change, the way a slow statement would hold them.
@Suite("Fair share of the workers, and a deadline for every request", .enabled(if: Stack.available))
struct FairShareTests {
    static let replaceTitle = #"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"held"}]}"#

    /// Locks these users' rows for `seconds` in a transaction of the database owner; returns once
    /// the lock is surely taken.
    static func holdRows(_ userIds: [String], seconds: Int) async throws -> Task<Void, Error> {
        let database = try #require(ProcessInfo.processInfo.environment["SCIM_TEST_DATABASE_URL"], "run ./deploy/test.sh")
        let ids = userIds.map { "'\($0)'" }.joined(separator: ", ")
        let holder = Task.detached {
            _ = try Stack.run("/usr/bin/psql", [database, "-qc",
                "begin; select 1 from scim.users where id in (\(ids)) for update; select pg_sleep(\(seconds)); commit;"])
        }
        try await Task.sleep(nanoseconds: 800_000_000)
        return holder
    }

    @Test("while another tenant is served, a tenant holding its share of workers gets SCIM 429 with Retry-After for more, and a third tenant is served at once")
    func shareIsCapped() async throws {
        let busy = try TestTenant.make()
        let other = try TestTenant.make()
        let third = try TestTenant.make()
        let (busyUser, _) = try await busy.client.createUser("busy@example.com")
        let busyAdmin = SCIMClient(base: busy.client.base.replacingOccurrences(of: "/scim/v2/", with: "/admin/v1/"),
                                   token: try TestTenant.createKey(busy.slug, scope: "admin"))
        #expect(try await busyAdmin.get("/settings").status == 200)
        let (otherUser, _) = try await other.client.createUser("other@example.com")
        let holder = try await Self.holdRows([busyUser, otherUser], seconds: 5)
        let otherWaiting = Task { try await other.client.patch("/Users/\(otherUser)", Self.replaceTitle) }
        try await Task.sleep(nanoseconds: 300_000_000)
        var busyWaiting: [Task<Response, Error>] = []
        for _ in 0..<2 {
            busyWaiting.append(Task { try await busy.client.patch("/Users/\(busyUser)", Self.replaceTitle) })
            try await Task.sleep(nanoseconds: 300_000_000)
        }
        // Three workers now wait on the lock: the other tenant's one and the busy tenant's two.
        var started = Date()
        let refused = try await busy.client.patch("/Users/\(busyUser)", Self.replaceTitle)
        #expect(Date().timeIntervalSince(started) < 2, "refused at once, not after the lock")
        expectSCIMError(refused, status: 429)
        #expect(refused.header("Retry-After") == "1")
        #expect(refused.object?["detail"]?.stringValue?.contains("other tenants") == true, "\(refused.text)")
        // The admin API (and the console, through the same admin layer) counts toward the same share.
        let refusedAdmin = try await busyAdmin.get("/settings")
        expectSCIMError(refusedAdmin, status: 429)
        started = Date()
        #expect(try await third.client.get("/Users?count=0").status == 200)
        #expect(Date().timeIntervalSince(started) < 2, "a third tenant found a free worker")
        #expect(try await otherWaiting.value.status == 200)
        for waiting in busyWaiting { #expect(try await waiting.value.status == 200, "admitted requests finish once the lock is gone") }
        _ = try await holder.value
        // The refusal is the tenant's to see: its log has it, with the request's own path.
        let log = try Stack.scimctl("log", "list", busy.slug, "--json")
        #expect(log.contains("\"status\":429") || log.contains("\"status\": 429"), "\(log.prefix(600))")
        #expect(try await busy.client.patch("/Users/\(busyUser)", Self.replaceTitle).status == 200, "afterwards it is served again")
    }

    /// nginx does not keep its FastCGI connections (README, "nginx"): a worker that held kept
    /// connections would leave the requests nginx sends on them waiting behind its slow one.
    @Test("a request held in its worker delays no request of other tenants, however many come at once")
    func heldRequestDelaysNoOther() async throws {
        let slow = try TestTenant.make()
        // Three tenants, two requests each at a time: within every tenant's share of the workers.
        let others = try (0..<3).map { _ in try TestTenant.make() }
        let (slowUser, _) = try await slow.client.createUser("slow@example.com")
        func burst() async throws -> [(status: Int, seconds: Double)] {
            let requests = others.flatMap { tenant in
                (0..<2).map { _ in
                    Task { () async throws -> (status: Int, seconds: Double) in
                        let started = Date()
                        let status = try await tenant.client.get("/Users?count=0").status
                        return (status, Date().timeIntervalSince(started))
                    }
                }
            }
            return try await requests.asyncMap { try await $0.value }
        }
        // Connections to every worker first, so any that nginx could keep are there.
        for _ in 0..<3 { _ = try await burst() }
        let holder = try await Self.holdRows([slowUser], seconds: 4)
        let held = Task { try await slow.client.patch("/Users/\(slowUser)", Self.replaceTitle) }
        try await Task.sleep(nanoseconds: 300_000_000)
        var answers: [(status: Int, seconds: Double)] = []
        for _ in 0..<12 { answers += try await burst() }
        #expect(answers.allSatisfy { $0.status == 200 }, "\(answers.map(\.status))")
        let slowest = answers.map(\.seconds).max() ?? 0
        #expect(slowest < 1, "a request of another tenant waited \(slowest) s behind the held one")
        #expect(try await held.value.status == 200)
        _ = try await holder.value
    }

    @Test("a tenant alone on the machine may use every worker: no 429 for want of competition")
    func aloneUsesEveryWorker() async throws {
        let tenant = try TestTenant.make()
        let (userId, _) = try await tenant.client.createUser("alone@example.com")
        let holder = try await Self.holdRows([userId], seconds: 3)
        var waiting: [Task<Response, Error>] = []
        for _ in 0..<4 {
            waiting.append(Task { try await tenant.client.patch("/Users/\(userId)", Self.replaceTitle) })
            try await Task.sleep(nanoseconds: 200_000_000)
        }
        let statuses = try await waiting.asyncMap { try await $0.value.status }
        #expect(statuses == [200, 200, 200, 200], "\(statuses)")
        _ = try await holder.value
    }

    @Test("a request past its deadline stops: a Bulk's operation waiting on a lock gets 503 at the deadline, later operations are not run, earlier ones stay")
    func deadlineStopsWork() async throws {
        let tenant = try TestTenant.make()
        let (lockedUser, _) = try await tenant.client.createUser("locked@example.com")
        try Stack.run("/usr/bin/env", ["SCIM_REQUEST_DEADLINE_SECONDS=3", "/bin/bash", "\(try Stack.require().projectDir)/deploy/quickstart.sh", "responder-start"])
        defer { _ = try? Stack.quickstart("responder-start") }
        let holder = try await Self.holdRows([lockedUser], seconds: 9)
        let user = #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"%@"}"#
        let bulk = """
            {"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[
              {"method":"POST","path":"/Users","bulkId":"before","data":\(user.replacingOccurrences(of: "%@", with: "before-deadline@example.com"))},
              {"method":"PATCH","path":"/Users/\(lockedUser)","data":\(Self.replaceTitle)},
              {"method":"POST","path":"/Users","bulkId":"after","data":\(user.replacingOccurrences(of: "%@", with: "after-deadline@example.com"))}]}
            """
        var started = Date()
        let response = try await tenant.client.post("/Bulk", bulk)
        let waited = Date().timeIntervalSince(started)
        #expect(response.status == 200, "\(response.text)")
        let statuses = response.object?["Operations"]?.arrayValue?.compactMap { $0.objectValue?["status"]?.stringValue } ?? []
        #expect(statuses == ["201", "503", "503"], "\(response.text)")
        #expect(waited > 2.5 && waited < 5, "stopped at the 3 s deadline (the statement timeout is 10 s, the lock 9 s), not after \(waited) s")
        #expect(response.text.contains("3-second limit"), "\(response.text)")
        #expect(try await tenant.client.filterUsers(#"userName eq "before-deadline@example.com""#).object?["totalResults"] == .integer(1))
        #expect(try await tenant.client.filterUsers(#"userName eq "after-deadline@example.com""#).object?["totalResults"] == .integer(0))
        // A single request waiting on the lock: 503 with Retry-After at the deadline, its change not saved.
        started = Date()
        let single = try await tenant.client.patch("/Users/\(lockedUser)", Self.replaceTitle)
        expectSCIMError(single, status: 503)
        #expect(single.header("Retry-After") != nil)
        #expect(Date().timeIntervalSince(started) < 4.5)
        _ = try await holder.value
        #expect(try await tenant.client.get("/Users/\(lockedUser)").object?["title"] == nil, "the stopped PATCH changed nothing")
    }
}

extension Array {
    func asyncMap<T>(_ transform: (Element) async throws -> T) async rethrows -> [T] {
        var results: [T] = []
        for element in self { results.append(try await transform(element)) }
        return results
    }
}
