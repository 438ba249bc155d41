import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
@testable import SCIMCore
#if canImport(Glibc)
import Glibc
#endif

/// A TCP connection to nginx that sends part of a request and then stalls, as a slow or stuck
/// client does.
final class StalledClient {
    let fd: Int32

    init(port: UInt16, partialRequest: String) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { throw Stack.StackMissing() }
        _ = partialRequest.withCString { send(fd, $0, strlen($0), 0) }
    }

    /// What nginx sends before it closes the connection, waiting at most `seconds`; nil if the
    /// connection is still open then.
    func awaitClose(seconds: Int) -> String? {
        var timeout = timeval(tv_sec: seconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(fd, &buffer, buffer.count, 0)
            if count == 0 { return String(decoding: received, as: UTF8.self) }
            if count < 0 { return errno == ECONNRESET ? String(decoding: received, as: UTF8.self) : nil }
            received += buffer[0..<count]
        }
    }

    deinit { close(fd) }
}

@Suite("Timeouts: slow clients and slow queries end in errors, not in tied-up workers", .enabled(if: Stack.available))
struct TimeoutTests {
    @Test("clients stalling mid-body are cut off by nginx (client_body_timeout) and never reach a worker; others are served meanwhile")
    func slowClients() async throws {
        let tenant = try TestTenant.make()
        let (baseURL, _) = try Stack.require()
        let port = UInt16(URL(string: baseURL)?.port ?? 80)
        let partial = "POST /scim/v2/\(tenant.slug)/Users HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(tenant.token)\r\n"
            + "Content-Type: application/scim+json\r\nContent-Length: 200\r\n\r\n{\"userName\":\"slow"
        // Twice as many stalled clients as the responder has workers.
        let stalled = try (0..<8).map { _ in try StalledClient(port: port, partialRequest: partial) }
        let started = Date()
        for i in 0..<20 {
            let (id, response) = try await tenant.client.createUser("meanwhile\(i)@example.com")
            #expect(response.status == 201 && !id.isEmpty)
        }
        #expect(Date().timeIntervalSince(started) < 8, "requests were held up behind the stalled clients")
        for client in stalled {
            let answer = client.awaitClose(seconds: 20)
            #expect(answer != nil, "nginx kept a stalled client's connection open")
            #expect(answer.map { $0.isEmpty || $0.contains(" 408 ") } ?? false, "\(answer ?? "")")
        }
        let elapsed = Date().timeIntervalSince(started)
        #expect(elapsed > 9 && elapsed < 20, "cut off after client_body_timeout (10 s), not \(elapsed) s")
        let users = try await tenant.client.get("/Users?count=0").object?["totalResults"]
        #expect(users == .integer(20), "no half-sent body became a user")
    }

    @Test("a query stuck behind a lock hits the statement timeout: SCIM 503 with Retry-After, and the worker serves again")
    func slowQuery() async throws {
        let tenant = try TestTenant.make()
        let (userId, _) = try await tenant.client.createUser("locked@example.com")
        let database = try #require(ProcessInfo.processInfo.environment["SCIM_TEST_DATABASE_URL"], "run ./deploy/test.sh")
        // A DBA's transaction holding the user's row for 14 s, longer than the responder's 10 s statement timeout.
        let holder = Task.detached {
            try Stack.run("/usr/bin/psql", [database, "-qc",
                "begin; select 1 from scim.users where id = '\(userId)' for update; select pg_sleep(14); commit;"])
        }
        try await Task.sleep(nanoseconds: 1_000_000_000)
        let started = Date()
        let blocked = try await tenant.client.patch("/Users/\(userId)",
            #"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"x"}]}"#)
        let waited = Date().timeIntervalSince(started)
        expectSCIMError(blocked, status: 503)
        #expect(blocked.header("Retry-After") != nil)
        #expect(waited > 8 && waited < 13, "answered after the 10 s statement timeout, not \(waited) s (nginx would give up at 30 s)")
        // Meanwhile and afterwards, every worker answers.
        for _ in 0..<8 { #expect(try await tenant.client.get("/Users?count=0").status == 200) }
        _ = try await holder.value
        let retried = try await tenant.client.patch("/Users/\(userId)",
            #"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"x"}]}"#)
        #expect(retried.status == 200, "the retry after the lock is gone succeeds")
    }
}

@Suite("Per-tenant rate limit", .enabled(if: Stack.available))
struct RateLimitTests {
    @Test("a tenant over its rate gets SCIM 429 with Retry-After; another tenant is not slowed; it passes again after a pause")
    func perTenantLimit() async throws {
        let (_, project) = try Stack.require()
        let busy = try TestTenant.make()
        let quiet = try TestTenant.make()
        // 5 requests a second, bursts of 10, for this test only.
        try Stack.run("/usr/bin/env", ["SCIM_TENANT_RATE=5", "/bin/bash", "\(project)/deploy/quickstart.sh", "nginx-reload"])
        defer { _ = try? Stack.run("/bin/bash", ["\(project)/deploy/quickstart.sh", "nginx-reload"]) }
        try await Task.sleep(nanoseconds: 500_000_000)
        let flood = try await withThrowingTaskGroup(of: Response.self) { group in
            for _ in 0..<40 { group.addTask { try await busy.client.get("/Users?count=0") } }
            return try await group.reduce(into: [Response]()) { $0.append($1) }
        }
        let limited = flood.filter { $0.status == 429 }
        #expect(flood.filter { $0.status == 200 }.count >= 10, "the burst is served")
        #expect(limited.count >= 20, "\(flood.map(\.status))")
        if let first = limited.first {
            expectSCIMError(first, status: 429)
            #expect(first.header("Retry-After") == "1")
        }
        #expect(try await quiet.client.get("/Users?count=0").status == 200, "another tenant has its own budget")
        try await Task.sleep(nanoseconds: 2_500_000_000)
        #expect(try await busy.client.get("/Users?count=0").status == 200, "after a pause the tenant is served again")
    }

    @Test("requests without the tenant's key spend none of its budget; one address over its own limit gets SCIM 429, others do not")
    func strangersSpendNoTenantBudget() async throws {
        let (_, project) = try Stack.require()
        let tenant = try TestTenant.make()
        try Stack.run("/usr/bin/env", ["SCIM_TENANT_RATE=5", "/bin/bash", "\(project)/deploy/quickstart.sh", "nginx-reload"])
        defer { _ = try? Stack.run("/bin/bash", ["\(project)/deploy/quickstart.sh", "nginx-reload"]) }
        try await Task.sleep(nanoseconds: 500_000_000)
        let stranger = tenant.client.with(token: nil)
        let guesser = tenant.client.with(token: "sk_guessguess_" + String(repeating: "g", count: 40))
        let flood = try await withThrowingTaskGroup(of: (Bool, Int).self) { group in
            for i in 0..<60 { group.addTask { (i % 2 == 0, try await (i % 2 == 0 ? stranger : guesser).get("/Users?count=0").status) } }
            return try await group.reduce(into: [(Bool, Int)]()) { $0.append($1) }
        }
        // No key: never limited by any key's budget. One guessed key, sent again and again: its own budget.
        #expect(flood.filter { $0.0 }.allSatisfy { $0.1 == 401 }, "\(flood)")
        #expect(flood.filter { !$0.0 }.allSatisfy { $0.1 == 401 || $0.1 == 429 }, "\(flood)")
        for _ in 0..<5 {
            #expect(try await tenant.client.get("/Users?count=0").status == 200, "the tenant's own budget is untouched")
        }

        // Now one address at 5 requests a second (bursts of 10), whatever it sends.
        try Stack.run("/usr/bin/env", ["SCIM_ADDRESS_RATE=5", "/bin/bash", "\(project)/deploy/quickstart.sh", "nginx-reload"])
        try await Task.sleep(nanoseconds: 500_000_000)
        let address = "127.0.0.\(Int.random(in: 20...250))"
        var statuses: [Int] = []
        for _ in 0..<30 {
            let (_, output) = try Stack.run("/usr/bin/curl", ["-s", "-o", "/dev/null", "-w", "%{http_code}", "--interface", address,
                                                             tenant.client.base + "/Users?count=0"])
            statuses.append(Int(output) ?? 0)
        }
        #expect(statuses.filter { $0 == 429 }.count >= 10, "\(statuses)")
        #expect(statuses.allSatisfy { $0 == 401 || $0 == 429 }, "\(statuses)")
        #expect(try await tenant.client.get("/Users?count=0").status == 200, "another address is not limited")
    }
}
