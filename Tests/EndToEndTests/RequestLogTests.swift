import Foundation
import Testing
@testable import SCIMCore

/// The responder's own log (stderr, one JSON line each): every line written while a request is
/// served carries its request id, database errors included, and a slow request names its statements.
@Suite("The responder's log lines carry the request id", .serialized, .enabled(if: Stack.available))
struct RequestLogTests {
    func logLines(containing requestId: String, since offset: UInt64) throws -> [JSONObject] {
        try Stack.logText(try FaultSuiteTests.responderLog, from: offset).split(separator: "\n")
            .filter { $0.contains(requestId) }
            .compactMap { try? JSONParser.parse(Array($0.utf8)).objectValue }
    }

    @Test("a refused value's database line carries the id of the request that sent it")
    func databaseLinesCarryTheRequestId() async throws {
        let tenant = try TestTenant.make()
        let logStart = try FaultSuiteTests.responderLogSize()
        let body = #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"twice@example.com"}"#
        #expect(try await tenant.client.post("/Users", body).status == 201)
        let conflict = try await tenant.client.post("/Users", body)
        #expect(conflict.status == 409)
        let requestId = try #require(conflict.header("X-Request-Id"))
        try await Task.sleep(nanoseconds: 200_000_000)
        let lines = try logLines(containing: requestId, since: logStart)
        #expect(lines.contains { $0["msg"]?.stringValue == "database refused a value" && $0["request_id"]?.stringValue == requestId },
                "\(lines)")
        #expect(lines.contains { $0["msg"]?.stringValue == "request" && $0["status"]?.stringValue == "409" })
    }

    @Test("a request slower than SCIM_SLOW_REQUEST_MS logs its statements and their timings")
    func slowRequestsNameTheirStatements() async throws {
        let (_, project) = try Stack.require()
        try Stack.run("/bin/bash", ["\(project)/deploy/quickstart.sh", "responder-start"], environment: ["SCIM_SLOW_REQUEST_MS": "1"])
        defer { _ = try? Stack.run("/bin/bash", ["\(project)/deploy/quickstart.sh", "responder-start"], environment: ["SCIM_SLOW_REQUEST_MS": ""]) }
        let tenant = try TestTenant.make()
        let logStart = try FaultSuiteTests.responderLogSize()
        var slow: JSONObject?
        for _ in 0..<20 where slow == nil {
            let response = try await tenant.client.get("/Users?filter=" + "userName eq \"nobody@example.com\"".addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)
            #expect(response.status == 200)
            let requestId = try #require(response.header("X-Request-Id"))
            try await Task.sleep(nanoseconds: 100_000_000)
            slow = try logLines(containing: requestId, since: logStart).first { $0["msg"]?.stringValue == "slow request" }
        }
        let line = try #require(slow, "no slow request line at a 1 ms threshold")
        let statements = line["statements"]?.stringValue ?? ""
        #expect(statements.contains(" ms "), "\(statements)")
        #expect(statements.contains("select"), "\(statements)")
        #expect(!statements.contains("nobody@example.com"), "values are binds, never logged: \(statements)")
    }
}
