import Foundation
import Testing
@testable import SCIMCore

/// `GET /metrics`: Prometheus text, summed over every prefork worker, and only for this host.
@Suite("Metrics for Prometheus", .serialized, .enabled(if: Stack.available))
struct MetricsTests {
    /// The value of each sample line (`name{labels} value`).
    static func samples(_ text: String) -> [String: Double] {
        var values: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " ") else { continue }
            values[String(line[..<space])] = Double(line[line.index(after: space)...])
        }
        return values
    }

    static func scrape() async throws -> (response: Response, samples: [String: Double]) {
        let (baseURL, _) = try Stack.require()
        let response = try await SCIMClient(base: baseURL, token: nil).get("/metrics")
        return (response, samples(response.text))
    }

    @Test("the counts of a tenant's requests are exactly what was sent, across all workers")
    func totalsMatchWhatWasSent() async throws {
        let tenant = try TestTenant.make()
        let (before, baseline) = try await Self.scrape()
        #expect(before.status == 200)
        #expect(before.header("Content-Type")?.hasPrefix("text/plain; version=0.0.4") == true)
        func series(_ endpoint: String, _ method: String, _ status: String) -> String {
            "scim_requests_total{tenant=\"\(tenant.slug)\",endpoint=\"\(endpoint)\",method=\"\(method)\",status=\"\(status)\"}"
        }
        // Sent concurrently, so the four workers share them.
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<24 {
                group.addTask { _ = try await tenant.client.get("/Users?count=1") }
                if index < 6 {
                    group.addTask {
                        _ = try await tenant.client.post("/Users", #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"metrics-\#(index)@example.com"}"#)
                    }
                    group.addTask { _ = try await tenant.client.get("/Users/\(UUID().uuidString.lowercased())") }
                }
            }
            try await group.waitForAll()
        }
        let stranger = SCIMClient(base: tenant.client.base, token: "sk_wrong_\(UUID().uuidString)")
        for _ in 0..<3 { #expect(try await stranger.get("/Users").status == 401) }
        let (_, after) = try await Self.scrape()
        #expect(after[series("Users", "GET", "2xx")] == 24, "\(after.filter { $0.key.contains(tenant.slug) })")
        #expect(after[series("Users", "POST", "2xx")] == 6)
        #expect(after[series("Users/{id}", "GET", "4xx")] == 6)
        #expect((after["scim_authentication_failures_total"] ?? 0) - (baseline["scim_authentication_failures_total"] ?? 0) >= 3)
        let countKey = "scim_request_duration_seconds_count{endpoint=\"Users\"}"
        #expect((after[countKey] ?? 0) - (baseline[countKey] ?? 0) >= 30)
        let infinity = "scim_request_duration_seconds_bucket{endpoint=\"Users\",le=\"+Inf\"}"
        #expect(after[infinity] == after[countKey], "the +Inf bucket holds every request")
        // The workers that served them: more than one worker's counts are in the sum.
        #expect((after["scim_workers_busy"] ?? 0) >= 1, "the scrape itself is served by a busy worker")
        #expect(after["scim_responder_start_time_seconds"].map { $0 > 1_700_000_000 } == true)
    }

    @Test("counts stay exact while generations of workers overlap (quick SIGHUPs while an old worker is held in a request)")
    func exactAcrossWorkerGenerations() async throws {
        let (_, project) = try Stack.require()
        let held = try TestTenant.make()
        let (heldUser, _) = try await held.client.createUser("held@example.com")
        let holder = try await FairShareTests.holdRows([heldUser], seconds: 4)
        let waiting = Task { try await held.client.patch("/Users/\(heldUser)", FairShareTests.replaceTitle) }
        try await Task.sleep(nanoseconds: 300_000_000)
        let supervisorText = try String(contentsOfFile: "\(project)/.local/run/scim-fcgi.pid", encoding: .utf8)
        let supervisor = try #require(Int32(supervisorText.trimmingCharacters(in: .whitespacesAndNewlines)))
        // Four generations at once: more workers than places on the boards.
        for _ in 0..<3 { kill(supervisor, SIGHUP) }
        try await Task.sleep(nanoseconds: 500_000_000)
        let tenant = try TestTenant.make()
        // Two lanes: within the tenant's share of the workers while the held tenant is served.
        try await withThrowingTaskGroup(of: [Int].self) { group in
            for _ in 0..<2 {
                group.addTask {
                    var statuses: [Int] = []
                    for _ in 0..<20 { statuses.append(try await tenant.client.get("/Users?count=1").status) }
                    return statuses
                }
            }
            for try await statuses in group { #expect(statuses.allSatisfy { $0 == 200 }, "\(statuses)") }
        }
        let (_, after) = try await Self.scrape()
        #expect(after["scim_requests_total{tenant=\"\(tenant.slug)\",endpoint=\"Users\",method=\"GET\",status=\"2xx\"}"] == 40,
                "\(after.filter { $0.key.contains(tenant.slug) })")
        _ = try await holder.value
        #expect(try await waiting.value.status == 200)
    }

    @Test("a request from an address outside scim-metrics-access.conf is refused with a SCIM 403")
    func refusedFromElsewhere() throws {
        let request = Array("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8)
        let allowed = try RawRequestTests.exchange(request, from: "127.0.0.1")
        #expect(allowed.status == 200)
        #expect(allowed.body.contains("scim_requests_total"))
        let refused = try RawRequestTests.exchange(request, from: "127.0.0.2")
        #expect(refused.status == 403)
        #expect(refused.body.contains("urn:ietf:params:scim:api:messages:2.0:Error"))
        #expect(!refused.body.contains("scim_requests_total"))
    }
}
