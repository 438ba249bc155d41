import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
@testable import SCIMCore

/// What the end-to-end suite talks to: the stack `deploy/test.sh` brings up (nginx on loopback,
/// the release responder, PostgreSQL). Under CI=true a missing stack fails the run; it never skips.
enum Stack {
    static let environment = ProcessInfo.processInfo.environment
    static var baseURL: String? { environment["SCIM_TEST_BASE_URL"] }
    static var isCI: Bool { environment["CI"] == "true" }
    static var available: Bool { baseURL != nil || isCI }

    static func require() throws -> (baseURL: String, projectDir: String) {
        guard let baseURL, let project = environment["SCIM_TEST_PROJECT_DIR"] else {
            Issue.record("The end-to-end stack is not configured: run ./deploy/test.sh (it sets SCIM_TEST_BASE_URL).")
            throw StackMissing()
        }
        return (baseURL, project)
    }

    struct StackMissing: Error {}

    /// A log file as text; bytes a stranger sent (nginx logs a bad request line as it came) are
    /// replaced, not a reason to fail reading.
    static func logText(_ path: String) throws -> String {
        String(decoding: try Data(contentsOf: URL(fileURLWithPath: path)), as: UTF8.self)
    }

    /// The size of a log file now: where a later `logText(_:from:)` starts reading what came after.
    static func logSize(_ path: String) throws -> UInt64 {
        (try FileManager.default.attributesOfItem(atPath: path)[.size] as? NSNumber)?.uint64Value ?? 0
    }

    /// A log file's text from `offset` on (a long-lived log is read from where a test began, not whole).
    static func logText(_ path: String, from offset: UInt64) throws -> String {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seek(toOffset: offset)
        return String(decoding: try handle.readToEnd() ?? Data(), as: UTF8.self)
    }

    /// Runs a command of the project (scimctl, quickstart.sh) and returns its standard output.
    /// posix_spawn and waitpid rather than Foundation's Process, whose waitUntilExit can miss the
    /// child's exit on Linux and hang.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String], expectSuccess: Bool = true, environment extra: [String: String] = [:],
                    includeErrors: Bool = false) throws -> (status: Int32, output: String) {
        let outputPath = NSTemporaryDirectory() + "scim-e2e-\(UUID().uuidString).out"
        defer { unlink(outputPath) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, outputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        if includeErrors {
            posix_spawn_file_actions_adddup2(&actions, 1, 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var merged = ProcessInfo.processInfo.environment
        merged.merge(extra) { $1 }
        let envp = merged.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { envp.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, envp)
        guard spawned == 0 else {
            Issue.record("cannot run \(executable): errno \(spawned)")
            throw StackMissing()
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exitStatus = (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        let output = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        if expectSuccess && exitStatus != 0 {
            Issue.record("\(executable) \(arguments.joined(separator: " ")) exited \(exitStatus): \(output)")
        }
        return (exitStatus, output)
    }

    static func scimctl(_ arguments: String...) throws -> String {
        let (_, project) = try require()
        let binary = environment["SCIM_TEST_SCIMCTL"] ?? "\(project)/.build/release/scimctl"
        return try run(binary, arguments).output
    }

    /// A program built beside scimctl (`scim-fcgi`).
    static func binary(_ name: String) throws -> String {
        let (_, project) = try require()
        let scimctl = environment["SCIM_TEST_SCIMCTL"] ?? "\(project)/.build/release/scimctl"
        return String(scimctl.dropLast("scimctl".count)) + name
    }

    static func quickstart(_ arguments: String...) throws {
        let (_, project) = try require()
        try run("/bin/bash", ["\(project)/deploy/quickstart.sh"] + arguments)
    }
}

/// A tenant made for one test, with a `scim` key.
struct TestTenant {
    let slug: String
    let token: String
    let client: SCIMClient

    static func make(enabled: Bool = true) throws -> TestTenant {
        let (baseURL, _) = try Stack.require()
        let slug = "e2e-" + UUID().uuidString.prefix(12).lowercased()
        _ = try Stack.scimctl("tenant", "create", slug, "--name", "End-to-end \(slug)")
        if enabled { _ = try Stack.scimctl("scim", "enable", slug) }
        let token = try createKey(slug, scope: "scim")
        return TestTenant(slug: slug, token: token, client: SCIMClient(base: "\(baseURL)/scim/v2/\(slug)", token: token))
    }

    static func createKey(_ slug: String, scope: String) throws -> String {
        let output = try Stack.scimctl("key", "create", slug, "--name", "test \(scope)", "--scope", scope)
        guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("SCIM_TOKEN=") }) else {
            Issue.record("scimctl key create printed no SCIM_TOKEN line: \(output)")
            throw Stack.StackMissing()
        }
        return String(line.dropFirst("SCIM_TOKEN=".count))
    }
}

struct Response {
    var status: Int
    var headers: [String: String]
    var body: Data

    var json: JSONValue? { try? JSONParser.parse(Array(body)) }
    var object: JSONObject? { json?.objectValue }
    func header(_ name: String) -> String? {
        headers.first { $0.key.caseInsensitiveEquals(name) }?.value
    }
    var text: String { String(decoding: body, as: UTF8.self) }
}

struct SCIMClient: Sendable {
    let base: String
    let token: String?

    static let session: URLSession = {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.timeoutIntervalForRequest = 30
        configuration.httpMaximumConnectionsPerHost = 32
        return URLSession(configuration: configuration)
    }()

    func with(token: String?) -> SCIMClient { SCIMClient(base: base, token: token) }

    func request(_ method: String, _ path: String, body: String? = nil, headers: [String: String] = [:]) async throws -> Response {
        var request = URLRequest(url: URL(string: base + path)!)
        request.httpMethod = method
        if let token { request.setValue("Bearer \(token)", forHTTPHeaderField: "Authorization") }
        if let body {
            request.httpBody = Data(body.utf8)
            request.setValue("application/scim+json", forHTTPHeaderField: "Content-Type")
        }
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        let (data, response) = try await Self.session.data(for: request)
        let http = response as! HTTPURLResponse
        var headerMap: [String: String] = [:]
        for (key, value) in http.allHeaderFields { headerMap["\(key)"] = "\(value)" }
        return Response(status: http.statusCode, headers: headerMap, body: data)
    }

    func get(_ path: String, headers: [String: String] = [:]) async throws -> Response { try await request("GET", path, headers: headers) }
    func post(_ path: String, _ body: String) async throws -> Response { try await request("POST", path, body: body) }
    func put(_ path: String, _ body: String, headers: [String: String] = [:]) async throws -> Response {
        try await request("PUT", path, body: body, headers: headers)
    }
    func patch(_ path: String, _ body: String, headers: [String: String] = [:]) async throws -> Response {
        try await request("PATCH", path, body: body, headers: headers)
    }
    func delete(_ path: String) async throws -> Response { try await request("DELETE", path) }

    /// `GET /Users?filter=...`, URL-encoded as Entra sends it.
    func filterUsers(_ filter: String, extra: String = "") async throws -> Response {
        let encoded = filter.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        return try await get("/Users?filter=\(encoded)\(extra)")
    }

    func createUser(_ userName: String, extra: String = "") async throws -> (id: String, response: Response) {
        let response = try await post("/Users", #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"\#(userName)","active":true\#(extra)}"#)
        guard response.status == 201, let id = response.object?["id"]?.stringValue else {
            Issue.record("creating \(userName) answered \(response.status): \(response.text)")
            throw Stack.StackMissing()
        }
        return (id, response)
    }
}

/// The RFC 7644 §3.12 error shape, asserted in one place.
func expectSCIMError(_ response: Response, status: Int, scimType: String? = nil, sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(response.status == status, "expected \(status), got \(response.status): \(response.text)", sourceLocation: sourceLocation)
    #expect(response.header("Content-Type")?.hasPrefix("application/scim+json") == true, sourceLocation: sourceLocation)
    let body = response.object
    #expect(body?["schemas"] == .array([.string("urn:ietf:params:scim:api:messages:2.0:Error")]), sourceLocation: sourceLocation)
    #expect(body?["status"] == .string(String(status)), sourceLocation: sourceLocation)
    #expect(body?["detail"]?.stringValue?.isEmpty == false, sourceLocation: sourceLocation)
    if let scimType {
        #expect(body?["scimType"]?.stringValue == scimType, sourceLocation: sourceLocation)
    }
}
