import Foundation
import Testing
@testable import SCIMCore

@Suite("Bad input gets a SCIM error and changes nothing", .enabled(if: Stack.available))
struct BadInputTests {
    @Test("broken JSON is 400 invalidSyntax; a missing userName is 400 invalidValue; nothing is created")
    func brokenBodies() async throws {
        let tenant = try TestTenant.make()
        for body in ["{", #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"a","userName":"b"}"#, "[]", #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"a\u0000"}"#, ""] {
            expectSCIMError(try await tenant.client.post("/Users", body), status: 400, scimType: "invalidSyntax")
        }
        expectSCIMError(try await tenant.client.post("/Users", #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"displayName":"no user name"}"#), status: 400, scimType: "invalidValue")
        expectSCIMError(try await tenant.client.post("/Users", #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"x","active":"perhaps"}"#), status: 400, scimType: "invalidValue")
        #expect(try await tenant.client.get("/Users?count=0").object?["totalResults"] == .integer(0))
    }

    @Test("a filter that cannot be parsed or served is 400 invalidFilter", arguments: [
        #"userName eq"#, #"userName zz "a""#, #"(userName eq "a""#, #"nosuchattribute eq "a""#, #"active gt true"#,
        #"userName eq "a" or"#, #"meta.created gt "yesterday""#,
    ])
    func invalidFilters(_ filter: String) async throws {
        let tenant = try TestTenant.make()
        expectSCIMError(try await tenant.client.filterUsers(filter), status: 400, scimType: "invalidFilter")
    }

    @Test("SQL metacharacters in filter values are just values")
    func injection() async throws {
        let tenant = try TestTenant.make()
        _ = try await tenant.client.createUser("o'brien@example.com")
        let response = try await tenant.client.filterUsers(#"userName eq "o'brien@example.com""#)
        #expect(response.object?["totalResults"] == .integer(1))
        for value in [#"x' or '1'='1"#, #"%"#, #"_"#, #"\\"#, "'; drop table scim.users; --"] {
            let escaped = value.replacingOccurrences(of: "\\", with: "\\\\")
            let attack = try await tenant.client.filterUsers(#"userName co "\#(escaped)""#)
            #expect(attack.status == 200)
            #expect(attack.object?["totalResults"] == .integer(0), "\(value)")
        }
    }

    @Test("unknown and malformed ids are 404 with a SCIM body")
    func unknownIds() async throws {
        let tenant = try TestTenant.make()
        expectSCIMError(try await tenant.client.get("/Users/\(UUID().uuidString.lowercased())"), status: 404)
        expectSCIMError(try await tenant.client.get("/Users/not-a-uuid"), status: 404)
        expectSCIMError(try await tenant.client.patch("/Users/\(UUID().uuidString)",
            #"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"x"}]}"#),
                        status: 404)
    }

    @Test("a body over nginx's limit is 413 in SCIM JSON, not an HTML page")
    func tooLarge() async throws {
        let tenant = try TestTenant.make()
        let big = #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"big","displayName":""# + String(repeating: "x", count: 1_100_000) + #""}"#
        let response = try await tenant.client.post("/Users", big)
        expectSCIMError(response, status: 413)
    }

    @Test("a path outside any tenant is 404 in SCIM JSON; a method not allowed is 405")
    func routing() async throws {
        let tenant = try TestTenant.make()
        let (baseURL, _) = try Stack.require()
        expectSCIMError(try await SCIMClient(base: baseURL, token: nil).get("/elsewhere"), status: 404)
        expectSCIMError(try await tenant.client.get("/Widgets"), status: 404)
        let notAllowed = try await tenant.client.delete("/Users")
        expectSCIMError(notAllowed, status: 405)
        #expect(notAllowed.header("Allow") == "GET, POST")
    }
}
