import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing
@testable import SCIMCore

/// One malformed request of the corpus: where it goes and what it carries.
struct BadRequest: CustomTestStringConvertible, Sendable {
    var name: String
    var method: String
    /// Relative to the tenant; USER and GROUP stand for the ids of the fixture's user and group.
    var path: String
    var body: Data?

    init(_ name: String, _ method: String, _ path: String, _ body: String? = nil) {
        self.init(name, method, path, bytes: body.map { Data($0.utf8) })
    }

    init(_ name: String, _ method: String, _ path: String, bytes: Data?) {
        self.name = name
        self.method = method
        self.path = path
        self.body = bytes
    }

    var testDescription: String { name }
}

private let patchOp = #""schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]"#

/// Malformed JSON, wrong types, bad encodings, huge numbers, deep nesting, duplicate keys, unknown
/// operations, invalid paths, oversize lists, and SQL metacharacters in every position a filter,
/// sort or projection has.
let badRequests: [BadRequest] = [
    BadRequest("truncated JSON", "POST", "/Users", #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"x""#),
    BadRequest("JSON array for a resource", "POST", "/Users", #"[{"userName":"x"}]"#),
    BadRequest("trailing garbage", "POST", "/Users", #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"x"} trailing"#),
    BadRequest("invalid UTF-8", "POST", "/Users", bytes: Data([0x7B, 0x22, 0x75, 0x73, 0x65, 0x72, 0x4E, 0x61, 0x6D, 0x65, 0x22, 0x3A, 0x22, 0xFF, 0xFE, 0x22, 0x7D])),
    BadRequest("lone surrogate escape", "POST", "/Users", #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"\ud800"}"#),
    BadRequest("NUL escape in a value", "POST", "/Users", #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"a\u0000b"}"#),
    BadRequest("duplicate keys", "POST", "/Users", #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"a","UserName":"b"}"#),
    BadRequest("userName an object", "POST", "/Users", #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":{"first":"a"}}"#),
    BadRequest("email value an object", "POST", "/Users", #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"t1","emails":[{"value":{"address":"a@b.c"}}]}"#),
    BadRequest("name a string", "POST", "/Users", #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"t2","name":"Alice"}"#),
    BadRequest("active a number", "POST", "/Users", #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"t3","active":1}"#),
    BadRequest("huge exponent", "POST", "/Users", #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"t4","active":1e999999999999}"#),
    BadRequest("number of 500 digits", "POST", "/Users", #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"t5","active":"# + String(repeating: "9", count: 500) + "}"),
    BadRequest("arrays nested 200 deep", "POST", "/Users", #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"t6","emails":"# + String(repeating: "[", count: 200) + String(repeating: "]", count: 200) + "}"),
    BadRequest("objects nested 100 deep", "POST", "/Users", #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"t7","name":"# + String(repeating: #"{"a":"#, count: 100) + "1" + String(repeating: "}", count: 100) + "}"),
    BadRequest("PATCH without Operations", "PATCH", "/Users/USER", #"{\#(patchOp)}"#),
    BadRequest("PATCH unknown op", "PATCH", "/Users/USER", #"{\#(patchOp),"Operations":[{"op":"move","path":"title","value":"x"}]}"#),
    BadRequest("PATCH op a number", "PATCH", "/Users/USER", #"{\#(patchOp),"Operations":[{"op":1,"path":"title","value":"x"}]}"#),
    BadRequest("PATCH unterminated filter path", "PATCH", "/Users/USER", #"{\#(patchOp),"Operations":[{"op":"replace","path":"emails[type eq","value":"x"}]}"#),
    BadRequest("PATCH double dot path", "PATCH", "/Users/USER", #"{\#(patchOp),"Operations":[{"op":"replace","path":"name..givenName","value":"x"}]}"#),
    BadRequest("PATCH sub-attribute of a simple one", "PATCH", "/Users/USER", #"{\#(patchOp),"Operations":[{"op":"replace","path":"title.x","value":"x"}]}"#),
    BadRequest("PATCH remove without path", "PATCH", "/Users/USER", #"{\#(patchOp),"Operations":[{"op":"remove"}]}"#),
    BadRequest("PATCH remove userName", "PATCH", "/Users/USER", #"{\#(patchOp),"Operations":[{"op":"remove","path":"userName"}]}"#),
    BadRequest("PATCH active to an object", "PATCH", "/Users/USER", #"{\#(patchOp),"Operations":[{"op":"replace","path":"active","value":{"on":true}}]}"#),
    BadRequest("PATCH 1001 operations", "PATCH", "/Users/USER", #"{\#(patchOp),"Operations":["# + Array(repeating: #"{"op":"replace","path":"title","value":"x"}"#, count: 1001).joined(separator: ",") + "]}"),
    BadRequest("PATCH 10001 members", "PATCH", "/Groups/GROUP", #"{\#(patchOp),"Operations":[{"op":"add","path":"members","value":["# + (0...10_000).map { _ in #"{"value":"\#(UUID().uuidString.lowercased())"}"# }.joined(separator: ",") + "]}]}"),
    BadRequest("PATCH member by a filter on display", "PATCH", "/Groups/GROUP", #"{\#(patchOp),"Operations":[{"op":"remove","path":"members[display eq \"x\"]"}]}"#),
    BadRequest("PATCH member value a number", "PATCH", "/Groups/GROUP", #"{\#(patchOp),"Operations":[{"op":"add","path":"members","value":[{"value":7}]}]}"#),
    BadRequest("group displayName an object", "POST", "/Groups", #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":{"en":"a"}}"#),
    BadRequest("filter: quote in attribute position", "GET", "/Users?filter=" + "userName' or 1=1 -- eq \"x\"".formEncoded),
    BadRequest("filter: operator is SQL", "GET", "/Users?filter=" + "userName ;select eq \"x\"".formEncoded),
    BadRequest("filter: value unterminated", "GET", "/Users?filter=" + "userName eq \"x' or '1'='1".formEncoded),
    BadRequest("filter: semicolon value path", "GET", "/Users?filter=" + "emails[type eq \"work\"; drop table x] pr".formEncoded),
    BadRequest("filter: 20 levels deep", "GET", "/Users?filter=" + (String(repeating: "(", count: 20) + "userName eq \"x\"" + String(repeating: ")", count: 20)).formEncoded),
    BadRequest("filter: 5000 bytes", "GET", "/Users?filter=" + ("userName eq \"" + String(repeating: "a", count: 5000) + "\"").formEncoded),
    BadRequest("sortBy SQL", "GET", "/Users?sortBy=" + "userName; drop table scim.users".formEncoded),
    BadRequest("sortOrder unknown", "GET", "/Users?sortBy=userName&sortOrder=sideways"),
    BadRequest("attributes SQL", "GET", "/Users?attributes=" + "userName,\"); drop table x; --".formEncoded),
    BadRequest("startIndex not a number", "GET", "/Users?startIndex=one"),
    BadRequest("count not a number", "GET", "/Users?count=1e3"),
    BadRequest("cursor forged", "GET", "/Users?cursor=" + "v1:' or 1=1".formEncoded),
    BadRequest("search body filter a number", "POST", "/Users/.search", #"{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"filter":5}"#),
    BadRequest("bulk without Operations", "POST", "/Bulk", #"{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"]}"#),
    BadRequest("bulk 1001 operations", "POST", "/Bulk", #"{"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":["# + Array(repeating: #"{"method":"DELETE","path":"/Users/x"}"#, count: 1001).joined(separator: ",") + "]}"),
]

extension String {
    var formEncoded: String {
        addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? self
    }
}

@Suite("The bad-input corpus: every malformed request is a 4xx SCIM error and changes nothing", .enabled(if: Stack.available))
struct BadInputCorpusTests {
    @Test("refused with a 4xx SCIM error, never a 5xx", arguments: badRequests)
    func refused(_ bad: BadRequest) async throws {
        let tenant = try TestTenant.make()
        let (userId, _) = try await tenant.client.createUser("fixture@example.com")
        let group = try await tenant.client.post("/Groups", #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Fixture","members":[{"value":"\#(userId)"}]}"#)
        let groupId = try #require(group.object?["id"]?.stringValue)
        let before = try await [tenant.client.get("/Users/\(userId)").text, tenant.client.get("/Groups/\(groupId)").text]

        var request = URLRequest(url: URL(string: tenant.client.base + bad.path.replacingOccurrences(of: "USER", with: userId)
            .replacingOccurrences(of: "GROUP", with: groupId))!)
        request.httpMethod = bad.method
        request.setValue("Bearer \(tenant.token)", forHTTPHeaderField: "Authorization")
        if let body = bad.body {
            request.httpBody = body
            request.setValue("application/scim+json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await SCIMClient.session.data(for: request)
        let http = try #require(response as? HTTPURLResponse)
        #expect((400..<500).contains(http.statusCode), "\(bad.name): \(http.statusCode) \(String(decoding: data.prefix(300), as: UTF8.self))")
        #expect((http.value(forHTTPHeaderField: "Content-Type") ?? "").hasPrefix("application/scim+json"), "\(bad.name)")
        let body = try? JSONParser.parse(Array(data))
        #expect(body?.objectValue?["schemas"] == .array([.string(SCIMError.errorSchema)]), "\(bad.name)")
        #expect(body?.objectValue?["status"]?.stringValue == String(http.statusCode), "\(bad.name)")

        let after = try await [tenant.client.get("/Users/\(userId)").text, tenant.client.get("/Groups/\(groupId)").text]
        #expect(after == before, "\(bad.name) changed something")
        let users = try await tenant.client.get("/Users?count=0").object?["totalResults"]
        let groups = try await tenant.client.get("/Groups?count=0").object?["totalResults"]
        #expect(users == .integer(1) && groups == .integer(1), "\(bad.name) created something")
    }
}
