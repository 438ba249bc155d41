import Foundation
import Testing
@testable import SCIMCore

/// Successful reads are counted per tenant, minute, key and endpoint (scim.read_counts), not logged
/// one row each; failures and writes keep their rows; SCIM_LOG_READS=rows brings rows back.
@Suite("Successful reads are counted, not logged one row each", .serialized, .enabled(if: Stack.available))
struct ReadCountTests {
    func counted(_ slug: String, endpoint: String? = nil) throws -> Int {
        Int(try FaultSuiteTests.ownerValue("""
            select coalesce(sum(c.requests), 0) from scim.read_counts c join scim.tenants t on t.id = c.tenant_id
            where t.slug = '\(slug)' \(endpoint.map { "and c.endpoint = '\($0)'" } ?? "")
            """)) ?? -1
    }

    func waitForCount(_ slug: String, _ expected: Int, endpoint: String? = nil) async throws -> Int {
        var value = -1
        for _ in 0..<80 {
            value = try counted(slug, endpoint: endpoint)
            if value == expected { break }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        return value
    }

    func logRows(_ tenant: TestTenant) async throws -> [JSONObject] {
        let admin = SCIMClient(base: tenant.client.base.replacingOccurrences(of: "/scim/v2/", with: "/admin/v1/"),
                               token: try TestTenant.createKey(tenant.slug, scope: "admin"))
        return (try await admin.get("/log?count=500").object?["items"]?.arrayValue ?? []).compactMap(\.objectValue)
    }

    @Test("40 concurrent lookups are counted exactly across the workers; the log lists only the write and the failure")
    func readsAreCounted() async throws {
        let tenant = try TestTenant.make()
        let created = try await tenant.client.post("/Users", #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"counted@example.com"}"#)
        #expect(created.status == 201)
        let id = try #require(created.object?["id"]?.stringValue)
        try await withThrowingTaskGroup(of: Int.self) { group in
            for index in 0..<40 {
                group.addTask {
                    index % 4 == 0 ? try await tenant.client.get("/Users/\(id)").status
                                   : try await tenant.client.filterUsers(#"userName eq "counted@example.com""#).status
                }
            }
            for try await status in group { #expect(status == 200) }
        }
        #expect(try await tenant.client.get("/Users/\(UUID().uuidString.lowercased())").status == 404)
        #expect(try await waitForCount(tenant.slug, 40) == 40)
        #expect(try counted(tenant.slug, endpoint: "Users/{id}") == 10)
        #expect(try counted(tenant.slug, endpoint: "Users") == 30)
        let rows = try await logRows(tenant)
        #expect(rows.count == 2, "the create and the 404, not the 40 reads: \(rows.map { "\($0["method"]?.stringValue ?? "") \($0["status"]?.intValue ?? 0)" })")
        #expect(Set(rows.compactMap { $0["status"]?.intValue }) == [201, 404])
    }

    @Test("SCIM_LOG_READS=rows logs a row for each read instead")
    func rowsWhenAskedFor() async throws {
        let (_, project) = try Stack.require()
        try Stack.run("/bin/bash", ["\(project)/deploy/quickstart.sh", "responder-start"], environment: ["SCIM_LOG_READS": "rows"])
        defer { _ = try? Stack.run("/bin/bash", ["\(project)/deploy/quickstart.sh", "responder-start"], environment: ["SCIM_LOG_READS": ""]) }
        let tenant = try TestTenant.make()
        for _ in 0..<3 { #expect(try await tenant.client.get("/Users?count=1").status == 200) }
        let rows = try await logRows(tenant)
        #expect(rows.filter { $0["method"]?.stringValue == "GET" && $0["status"]?.intValue == 200 }.count == 3, "\(rows)")
        try await Task.sleep(nanoseconds: 500_000_000)
        #expect(try counted(tenant.slug) == 0)
    }
}
