import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
@testable import SCIMCore

/// Replays Okta's own SCIM 2.0 acceptance test ("Okta SCIM 2.0 SPEC Test", a Runscope test
/// definition kept unchanged in ../shared/okta/) against the live server: its requests, variables
/// and assertions, as Okta's tester runs them. Pauses are skipped.
@Suite("Okta's SCIM 2.0 SPEC test, replayed", .enabled(if: Stack.available))
struct OktaSpecTests {
    static let sha256 = "a118fed67320a2265909bde6b95cdaf4f6f085ff5a89a0deb88c87d443eae899"

    func specPath() throws -> String {
        let (_, project) = try Stack.require()
        return Stack.environment["SCIM_TEST_OKTA_SPEC"] ?? "\(project)/../shared/okta/Okta-SCIM-20-SPEC-Test.json"
    }

    /// The variables Okta's initial script sets (../shared/okta/README.md).
    func initialVariables(baseURL: String, token: String) -> [String: String] {
        var rng = SystemRandomNumberGenerator()
        let digits = { (n: Int) in (0..<n).map { _ in String(Int.random(in: 0...9, using: &rng)) }.joined() }
        let lower = "abcdefghijklmnopqrstuvwxyz"
        let given = "Runscope" + digits(3)
        let family = String(lower.uppercased().randomElement(using: &rng)!)
            + String((0..<8).map { _ in lower.randomElement(using: &rng)! }) + digits(3)
        let email = "\(given)\(family)@atko.com"
        return [
            "SCIMBaseURL": baseURL, "auth": "Bearer \(token)",
            "randomGivenName": given, "randomFamilyName": family, "randomEmail": email, "randomUsername": email,
            "randomUsernameCaps": email.uppercased(), "InvalidUserEmail": "abcdefgh@atko.com",
            "UserIdThatDoesNotExist": "010101001010101011",
        ]
    }

    func substitute(_ text: String, _ variables: [String: String]) -> String {
        var result = text
        for (name, value) in variables { result = result.replacingOccurrences(of: "{{\(name)}}", with: value) }
        return result
    }

    /// `Resources[0].emails[0].value` in a JSON document.
    func lookup(_ property: String, in json: JSONValue) -> JSONValue? {
        var current: JSONValue? = json
        for part in property.split(separator: ".") {
            var name = Substring(part)
            var indexes: [Int] = []
            while let open = name.lastIndex(of: "["), name.hasSuffix("]") {
                indexes.insert(Int(name[name.index(after: open)..<name.index(before: name.endIndex)]) ?? -1, at: 0)
                name = name[..<open]
            }
            current = current?.objectValue?[String(name)]
            for index in indexes {
                guard let array = current?.arrayValue, array.indices.contains(index) else { return nil }
                current = array[index]
            }
        }
        return current
    }

    func text(_ value: JSONValue?) -> String? {
        switch value {
        case .string(let s)?: return s
        case .number(let n)?: return n
        case .bool(let b)?: return b ? "true" : "false"
        case nil, .null?: return nil
        case let other?: return other.serialized()
        }
    }

    @Test("every step of Okta's test passes")
    func replay() async throws {
        let path = try specPath()
        let (_, checksum) = try Stack.run("/usr/bin/sha256sum", [path])
        #expect(checksum.hasPrefix(Self.sha256), "Okta's test definition must be used unchanged")
        guard case .object(let spec) = try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: path)))),
              let steps = spec["steps"]?.arrayValue else {
            Issue.record("cannot read \(path)")
            return
        }
        // Okta's guide: the server holds at least one user before the test (steps 1-2 read it).
        let tenant = try TestTenant.make()
        _ = try await tenant.client.createUser("existing.okta.user@example.com",
            extra: #","name":{"givenName":"Existing","familyName":"User"},"emails":[{"value":"existing.okta.user@example.com","type":"work","primary":true}]"#)
        var variables = initialVariables(baseURL: tenant.client.base, token: tenant.token)
        var requests = 0
        for step in steps.compactMap(\.objectValue) where step["step_type"]?.stringValue == "request" {
            requests += 1
            let note = step["note"]?.stringValue ?? "step \(requests)"
            let url = substitute(step["url"]?.stringValue ?? "", variables)
            let encoded = url.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(CharacterSet(charactersIn: "\"")))!
            var request = URLRequest(url: try #require(URL(string: encoded), "\(note): bad URL \(url)"))
            request.httpMethod = step["method"]?.stringValue ?? "GET"
            for header in step["headers"]?.objectValue?.members ?? [] {
                for value in header.value.arrayValue ?? [] {
                    request.addValue(substitute(value.stringValue ?? "", variables), forHTTPHeaderField: header.key)
                }
            }
            if let body = step["body"]?.stringValue, !body.isEmpty { request.httpBody = Data(substitute(body, variables).utf8) }
            let started = Date()
            let (data, urlResponse) = try await SCIMClient.session.data(for: request)
            let milliseconds = Date().timeIntervalSince(started) * 1000
            let status = (urlResponse as! HTTPURLResponse).statusCode
            let json = try? JSONParser.parse(Array(data))
            for assertion in step["assertions"]?.arrayValue?.compactMap(\.objectValue) ?? [] {
                let comparison = assertion["comparison"]?.stringValue ?? ""
                let expected = assertion["value"]?.stringValue.map { substitute($0, variables) }
                let actual: JSONValue?
                switch assertion["source"]?.stringValue {
                case "response_status": actual = .number(String(status))
                case "response_time": actual = .number(String(Int(milliseconds)))
                default: actual = json.flatMap { json in assertion["property"]?.stringValue.map { lookup($0, in: json) } ?? json }
                }
                let passed: Bool
                switch comparison {
                case "equal_number": passed = text(actual).flatMap(Double.init) == expected.flatMap(Double.init)
                case "equal": passed = text(actual) == expected
                case "not_empty": passed = !(text(actual) ?? "").isEmpty && actual != .array([]) && actual != .object(JSONObject())
                case "is_a_number": passed = actual?.numberText != nil
                case "has_value", "contains":
                    passed = actual?.arrayValue?.contains { text($0) == expected } ?? (expected.map { text(actual)?.contains($0) } ?? false) ?? false
                case "is_less_than": passed = (text(actual).flatMap(Double.init) ?? .infinity) < (expected.flatMap(Double.init) ?? 0)
                default:
                    Issue.record("\(note): comparison '\(comparison)' is not implemented by this runner")
                    passed = false
                }
                #expect(passed, "\(note): \(comparison) \(assertion["property"]?.stringValue ?? assertion["source"]?.stringValue ?? "") expected \(expected ?? "-"), got \(text(actual) ?? "nothing") (HTTP \(status): \(String(decoding: data.prefix(300), as: UTF8.self)))")
            }
            // Okta's only non-empty post-response script (Groups) fails only when the body is not JSON.
            if let scripts = step["scripts"]?.arrayValue, scripts.contains(where: { !($0.stringValue ?? "").isEmpty }) {
                #expect(json?.objectValue != nil, "\(note): the script needs a JSON body")
            }
            for variable in step["variables"]?.arrayValue?.compactMap(\.objectValue) ?? [] {
                guard let name = variable["name"]?.stringValue, let property = variable["property"]?.stringValue else { continue }
                variables[name] = json.flatMap { text(lookup(property, in: $0)) } ?? ""
            }
        }
        #expect(requests == 12, "Okta's test has 12 requests")
    }
}
