import Foundation
import Testing
@testable import SCIMCore

/// `scimctl doctor` passes on the running stack and fails, naming the check, on each broken setup.
@Suite("scimctl doctor", .serialized, .enabled(if: Stack.available))
struct DoctorTests {
    func doctor(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        let (baseURL, project) = try Stack.require()
        let defaults = ["--socket", "\(project)/.local/run/scim.sock", "--url", baseURL]
        var merged = arguments
        for index in stride(from: 0, to: defaults.count, by: 2) where !arguments.contains(defaults[index]) {
            merged += [defaults[index], defaults[index + 1]]
        }
        return try Stack.run(try Stack.binary("scimctl"), ["doctor"] + merged, expectSuccess: false,
                             environment: ["SCIM_CONFIG_FILE": "/dev/null"].merging(environment) { $1 }, includeErrors: true)
    }

    @Test("on the running stack every check passes")
    func healthy() throws {
        let (status, output) = try doctor([])
        #expect(status == 0, "\(output)")
        for check in ["settings", "database", "migrations", "row-level security", "grants", "log partitions", "responder role",
                      "responder socket", "nginx"] {
            #expect(output.contains("ok    \(check)"), "\(check) is not ok:\n\(output)")
        }
        #expect(output.contains("doctor: all 9 checks passed"))
    }

    @Test("the responder connecting as the owner fails the role check")
    func responderAsOwner() throws {
        let (_, project) = try Stack.require()
        let owner = try String(contentsOfFile: "\(project)/.local/admin_database_url", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        let (status, output) = try doctor([], environment: ["DATABASE_URL": owner, "SCIM_ADMIN_DATABASE_URL": owner])
        #expect(status == 1)
        #expect(output.contains("FAIL  responder role"), "\(output)")
        #expect(output.contains("superuser"), "\(output)")
    }

    @Test("a socket nobody listens on fails the socket check; an unreachable nginx fails the nginx check")
    func nothingListening() throws {
        let (status, output) = try doctor(["--socket", "/tmp/no-such-scim.sock", "--url", "http://127.0.0.1:9"])
        #expect(status == 1)
        #expect(output.contains("FAIL  responder socket"), "\(output)")
        #expect(output.contains("FAIL  nginx"), "\(output)")
        #expect(output.contains("doctor: 2 of 9 checks failed"), "\(output)")
    }

    @Test("a migration file not yet applied fails the migrations check")
    func pendingMigration() throws {
        let (_, project) = try Stack.require()
        let folder = NSTemporaryDirectory() + "scim-doctor-\(UUID().uuidString)"
        try FileManager.default.copyItem(atPath: "\(project)/deploy/sql", toPath: folder)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try "select 1;\n".write(toFile: "\(folder)/20991231000000_add_nothing.sql", atomically: true, encoding: .utf8)
        let (status, output) = try doctor(["--dir", folder])
        #expect(status == 1)
        #expect(output.contains("FAIL  migrations") && output.contains("20991231000000_add_nothing"), "\(output)")
    }
}
