import Foundation
import Testing
@testable import SCIMCore

/// Tenant A's keys against everything of tenant B: B's URLs, and B's ids, names and keys in every
/// position of A's own SCIM and admin endpoints. Nothing of B is seen or changed.
@Suite("Tenant isolation: a key of tenant A reaches nothing of tenant B", .enabled(if: Stack.available))
struct TenantIsolationTests {
    @Test("every endpoint, with tenant B's ids, filters and paths")
    func everyEndpoint() async throws {
        let a = try await DirectoryTenant.make()
        let b = try await DirectoryTenant.make()
        let (bUser, _) = try await b.tenant.client.createUser("b-only@example.com", extra: #","externalId":"b-ext""#)
        let bGroup = try await b.createGroup("Editors", members: [bUser])
        let bMapping = try #require(try await b.expect(200, "GET", "/column-mappings")["items"]?.arrayValue?.first?.objectValue?["id"]?.stringValue)
        let bDepartment = try #require(try await b.expect(200, "GET", "/departments")["items"]?.arrayValue?.first?.objectValue?["id"]?.stringValue)
        let bRole = try #require(try await b.expect(200, "GET", "/roles")["items"]?.arrayValue?.first?.objectValue?["id"]?.stringValue)
        let bKey = try #require(try await b.expect(200, "GET", "/keys")["items"]?.arrayValue?.first?.objectValue)
        let bKeyId = try #require(bKey["id"]?.stringValue)
        let bKeyPrefix = try #require(bKey["prefix"]?.stringValue)
        _ = try await b.tenant.client.post("/Users", #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"b-only@example.com"}"#)   // a 409: B has an error now
        let bError = try #require(try await b.expect(200, "GET", "/errors")["items"]?.arrayValue?.first?.objectValue?["id"]?.stringValue)
        let bJob = try #require(try await b.expect(200, "GET", "/jobs")["items"]?.arrayValue?.first?.objectValue?["id"]?.stringValue)
        let snapshot = { () async throws -> [String] in
            [try await b.tenant.client.get("/Users/\(bUser)").text, try await b.tenant.client.get("/Groups/\(bGroup)").text,
             JSONValue.object(try await b.expect(200, "GET", "/users/\(bUser)")).serialized(),
             JSONValue.object(try await b.expect(200, "GET", "/column-mappings")).serialized(),
             JSONValue.object(try await b.expect(200, "GET", "/departments")).serialized(),
             JSONValue.object(try await b.expect(200, "GET", "/roles")).serialized(),
             JSONValue.object(try await b.expect(200, "GET", "/keys")).serialized()]
        }
        let before = try await snapshot()

        // A's keys on B's URLs: 401, whatever the endpoint, and never throttled (nothing about them is B's to see).
        let patch = #"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"displayName","value":"x"}]}"#
        let onB = b.tenant.client.with(token: a.tenant.token)
        for (method, path, body) in [("GET", "/Users", nil), ("GET", "/Users/\(bUser)", nil), ("PUT", "/Users/\(bUser)", #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"x"}"#),
                                     ("PATCH", "/Users/\(bUser)", patch), ("DELETE", "/Users/\(bUser)", nil), ("GET", "/Groups/\(bGroup)", nil),
                                     ("PATCH", "/Groups/\(bGroup)", patch), ("DELETE", "/Groups/\(bGroup)", nil), ("POST", "/.search", "{}"),
                                     ("POST", "/Bulk", #"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[]}"#), ("GET", "/Schemas", nil), ("GET", "/ResourceTypes", nil)] as [(String, String, String?)] {
            expectSCIMError(try await onB.request(method, path, body: body), status: 401)
        }
        // None of those reached B's log or errors: without one of B's keys, nothing shows they concern B.
        #expect(try await b.expect(200, "GET", "/log?status=401")["totalResults"] == .integer(0))
        let bRefusals = try await b.expect(200, "GET", "/errors?kind=rejected_request&count=500")["items"]?.arrayValue ?? []
        #expect(!bRefusals.contains { $0.objectValue?["cause"]?.stringValue == "401" }, "\(bRefusals)")
        let adminOnB = b.admin.with(token: a.admin.token)
        for (method, path) in [("GET", "/settings"), ("GET", "/users"), ("GET", "/log"), ("GET", "/errors"), ("DELETE", "/keys/\(bKeyId)"),
                               ("POST", "/roles"), ("DELETE", "/departments/\(bDepartment)")] {
            expectSCIMError(try await adminOnB.request(method, path, body: method == "POST" ? #"{"name":"x"}"# : nil), status: 401)
        }

        // A's keys on A's URLs, naming B's things: 404, 400 or nothing found.
        let client = a.tenant.client
        for (method, path, body) in [("GET", "/Users/\(bUser)", nil), ("PUT", "/Users/\(bUser)", #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"b-only@example.com"}"#),
                                     ("PATCH", "/Users/\(bUser)", patch), ("DELETE", "/Users/\(bUser)", nil),
                                     ("GET", "/Groups/\(bGroup)", nil), ("PUT", "/Groups/\(bGroup)", #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"x"}"#),
                                     ("PATCH", "/Groups/\(bGroup)", patch), ("DELETE", "/Groups/\(bGroup)", nil)] as [(String, String, String?)] {
            expectSCIMError(try await client.request(method, path, body: body), status: 404)
        }
        for filter in [#"id eq "\#(bUser)""#, #"userName eq "b-only@example.com""#, #"externalId eq "b-ext""#, #"userName co "b-only""#,
                       #"groups.value eq "\#(bGroup)""#, #"id eq "\#(bUser)" or userName pr"#] {
            let answer = try await client.filterUsers(filter)
            #expect(answer.status == 200, "a failed list proves nothing: \(filter) -> \(answer.status)")
            let found = answer.object?["Resources"]?.arrayValue ?? []
            #expect(!found.contains { $0.objectValue?["id"]?.stringValue == bUser }, "\(filter)")
        }
        let groups = try await client.get("/Groups?filter=" + #"members.value eq "\#(bUser)""#.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)
        #expect(groups.object?["totalResults"] == .integer(0))
        let root = try await client.post("/.search", #"{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"filter":"id eq \"\#(bUser)\" or id eq \"\#(bGroup)\""}"#)
        #expect(root.object?["totalResults"] == .integer(0))
        let aGroup = try await a.createGroup("Writers")
        expectSCIMError(try await client.patch("/Groups/\(aGroup)",
            #"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","path":"members","value":[{"value":"\#(bUser)"}]}]}"#),
                        status: 400, scimType: "invalidValue")
        expectSCIMError(try await client.post("/Groups", #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Stolen","members":[{"value":"\#(bUser)"}]}"#), status: 400)
        let bulk = try await client.post("/Bulk", #"""
            {"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[
             {"method":"DELETE","path":"/Users/\#(bUser)"},
             {"method":"PATCH","path":"/Groups/\#(bGroup)","data":\#(patch)}]}
            """#)
        let bulkStatuses = bulk.object?["Operations"]?.arrayValue?.compactMap { $0.objectValue?["status"]?.stringValue } ?? []
        #expect(bulkStatuses == ["404", "404"], "\(bulk.text)")

        for (method, path, body, status) in [
            ("GET", "/users/\(bUser)", nil, 404), ("POST", "/users/\(bUser)/roles", #"{"role":"Editor"}"#, 404),
            ("PUT", "/column-mappings/\(bMapping)", #"{"scimPath":"title","field":"job_title"}"#, 404),
            ("DELETE", "/column-mappings/\(bMapping)", nil, 404), ("DELETE", "/departments/\(bDepartment)", nil, 404),
            ("DELETE", "/roles/\(bRole)", nil, 404), ("DELETE", "/keys/\(bKeyId)", nil, 404), ("DELETE", "/keys/\(bKeyPrefix)", nil, 404),
            ("POST", "/keys/\(bKeyPrefix)/rotate", "{}", 404), ("POST", "/errors/\(bError)/resolve", nil, 404), ("GET", "/jobs/\(bJob)", nil, 404),
            ("POST", "/department-mappings", #"{"sourceValue":"x","department":"\#(bDepartment)"}"#, 400),
            ("POST", "/group-role-mappings", #"{"matchBy":"id","matchValue":"\#(bGroup)","role":"\#(bRole)"}"#, 400),
        ] as [(String, String, String?, Int)] {
            expectSCIMError(try await a.admin.request(method, path, body: body), status: status)
        }
        // A group-role mapping by B's group id is allowed to exist in A, and matches nothing of B.
        try await a.expect(201, "POST", "/group-role-mappings", #"{"matchBy":"id","matchValue":"\#(bGroup)","role":"Editor"}"#)
        let aMappings = try await a.expect(200, "GET", "/group-role-mappings")
        let byId = aMappings["items"]?.arrayValue?.compactMap(\.objectValue).first { $0["matchBy"]?.stringValue == "id" }
        #expect(byId?["groups"] == .array([]))
        #expect(try await a.expect(200, "GET", "/users?text=b-only")["totalResults"] == .integer(0))
        // A's log and errors hold A's own requests (including these attempts), never B's.
        func ids(_ list: JSONObject, _ key: String) -> Set<String> {
            Set((list["items"]?.arrayValue ?? []).compactMap { $0.objectValue?[key]?.stringValue })
        }
        let bRequests = ids(try await b.expect(200, "GET", "/log?count=500"), "requestId")
        let aRequests = ids(try await a.expect(200, "GET", "/log?count=500"), "requestId")
        #expect(!bRequests.isEmpty && !aRequests.isEmpty && bRequests.isDisjoint(with: aRequests))
        let aErrors = ids(try await a.expect(200, "GET", "/errors?count=500"), "id")
        #expect(!aErrors.contains(bError))

        #expect(try await snapshot() == before, "tenant B changed")
    }
}
