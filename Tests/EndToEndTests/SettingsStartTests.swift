import Foundation
import Testing
@testable import SCIMCore

/// The built programs refuse a bad setting at start, naming it and where it was set, and read the
/// one environment file both share.
@Suite(.enabled(if: Stack.available), .serialized)
struct SettingsStartTests {
    func responder(_ arguments: [String], _ environment: [String: String]) throws -> (status: Int32, output: String) {
        try Stack.run(try Stack.binary("scim-fcgi"), arguments, expectSuccess: false,
                      environment: ["SCIM_CONFIG_FILE": "/dev/null"].merging(environment) { $1 }, includeErrors: true)
    }

    func settingsFile(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "scim-settings-\(UUID().uuidString).env"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func falseMeansOff() throws {
        let (status, output) = try responder(["--check-config", "--listen", "/tmp/never.sock"], ["SCIM_DB_PREPARED_STATEMENTS": "false"])
        #expect(status == 0, "\(output)")
        #expect(output.contains("prepared statements: off"))
        #expect(output.contains("configuration is valid"))
    }

    @Test(arguments: [("SCIM_DB_PREPARED_STATEMENTS", "maybe"), ("SCIM_WORKERS", "four"), ("SCIM_WORKERS", "0"),
                      ("SCIM_REQUEST_DEADLINE_SECONDS", "-5"), ("SCIM_PUBLIC_URL", "scim.example.com"), ("SCIM_LOG_LEVEL", "loud"),
                      ("SCIM_MAX_PAGE_SIZE", "0"), ("SCIM_SOCKET_MODE", "999")])
    func aBadValueStopsTheStart(name: String, value: String) throws {
        let socket = NSTemporaryDirectory() + "scim-bad-\(UUID().uuidString.prefix(8)).sock"
        let (status, output) = try responder(["--listen", socket], [name: value])
        #expect(status != 0)
        #expect(output.contains("\(name)=\(value) (environment)"), "\(output)")
        #expect(!FileManager.default.fileExists(atPath: socket), "the responder listened despite the bad value")
    }

    @Test func aMisspeltNameInTheFileStopsTheStart() throws {
        let path = try settingsFile("SCIM_WORKERS=2\nSCIM_WORKRS=8\n")
        defer { unlink(path) }
        let (status, output) = try responder(["--check-config", "--listen", "/tmp/never.sock"], ["SCIM_CONFIG_FILE": path])
        #expect(status != 0)
        #expect(output.contains("\(path):2: SCIM_WORKRS is not a setting"), "\(output)")
    }

    @Test func theFileSetsAndTheEnvironmentOverrides() throws {
        let path = try settingsFile("# production\nSCIM_WORKERS=3\nSCIM_LOG_LEVEL=debug\n")
        defer { unlink(path) }
        let (status, output) = try responder(["--check-config", "--config", path, "--listen", "/tmp/never.sock"], ["SCIM_LOG_LEVEL": "warning"])
        #expect(status == 0, "\(output)")
        #expect(output.contains("workers: 3"))
        #expect(output.contains("log level: warning"))
    }

    @Test func scimctlReadsTheSameFile() throws {
        let tenant = try TestTenant.make()
        let path = try settingsFile("SCIM_PUBLIC_URL=https://scim.example.com/\n")
        defer { unlink(path) }
        let scimctl = try Stack.binary("scimctl")
        let shown = try Stack.run(scimctl, ["tenant", "show", tenant.slug], environment: ["SCIM_CONFIG_FILE": path])
        #expect(shown.output.contains("https://scim.example.com/scim/v2/\(tenant.slug)"), "\(shown.output)")
        let broken = try settingsFile("SCIM_PUBLIC_URL https://scim.example.com\n")
        defer { unlink(broken) }
        let refused = try Stack.run(scimctl, ["tenant", "show", tenant.slug], expectSuccess: false, environment: ["SCIM_CONFIG_FILE": broken],
                                    includeErrors: true)
        #expect(refused.status != 0)
        #expect(refused.output.contains("\(broken):1: expected NAME=value"), "\(refused.output)")
    }
}
