import Foundation
import Testing
@testable import SCIMCore

private let patchOp = #""schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]"#
private let enterprise = CoreSchemas.enterpriseUserURN

/// Whole provisioning cycles as Microsoft Entra ID and Okta run them (docs/identity-providers.md §2 to §6 and its Okta section,
/// §11), every response asserted.
@Suite("Provisioning cycles: Entra in both PATCH dialects, Okta", .enabled(if: Stack.available))
struct ProvisioningCycleTests {
    enum Dialect: String, CaseIterable, Sendable { case legacy, aadOptscim062020 }

    func ids(_ response: Response) -> Set<String> {
        Set(response.object?["members"]?.arrayValue?.compactMap { $0.objectValue?["value"]?.stringValue } ?? [])
    }

    @Test("Entra cycle", arguments: Dialect.allCases)
    func entra(_ dialect: Dialect) async throws {
        let tenant = try TestTenant.make()
        // The admin may type ?aadOptscim062020 into the Tenant URL: it arrives on every request.
        let client = SCIMClient(base: tenant.client.base, token: tenant.token)
        let flag = dialect == .aadOptscim062020 ? "?aadOptscim062020" : ""
        let and = flag.isEmpty ? "?" : "&"

        // Test connection.
        let probe = try await client.get("/Users\(flag)\(and)filter=" + #"userName eq "\#(UUID().uuidString)""#.urlQueryEncoded)
        #expect(probe.status == 200 && probe.object?["totalResults"] == .integer(0))

        // Match, then create, each user.
        var users: [String: String] = [:]
        for name in ["adele", "brian", "carla"] {
            let userName = "\(name)@contoso.com"
            let match = try await client.get("/Users\(flag)\(and)filter=" + #"userName eq "\#(userName)""#.urlQueryEncoded)
            #expect(match.object?["totalResults"] == .integer(0))
            let created = try await client.post("/Users\(flag)", #"""
                {"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","\#(enterprise)"],"externalId":"\#(name)",
                 "userName":"\#(userName)","active":\#(dialect == .legacy ? #""True""# : "true"),"displayName":"\#(name.capitalized)",
                 "emails":[{"primary":true,"type":"work","value":"\#(userName)"}],"meta":{"resourceType":"User"},
                 "name":{"formatted":"\#(name.capitalized) Doe","familyName":"Doe","givenName":"\#(name.capitalized)"},"roles":[],
                 "\#(enterprise)":{"department":"Sales"}}
                """#)
            #expect(created.status == 201, "\(created.text)")
            users[name] = try #require(created.object?["id"]?.stringValue)
        }
        // Manager, as Entra sends it: the bare id on the URN path.
        let manager = try await client.patch("/Users/\(users["brian"]!)\(flag)", #"""
            {\#(patchOp),"Operations":[{"op":"\#(dialect == .legacy ? "Add" : "add")","path":"\#(enterprise):manager","value":"\#(users["adele"]!)"}]}
            """#)
        #expect(manager.object?[enterprise]?.objectValue?["manager"]?.objectValue?["value"] == .string(users["adele"]!))

        // Match, then create, the group; members arrive only by PATCH, in batches.
        let groupMatch = try await client.get("/Groups\(flag)\(and)excludedAttributes=members&filter=" + #"displayName eq "Sales Team""#.urlQueryEncoded)
        #expect(groupMatch.object?["totalResults"] == .integer(0))
        let group = try await client.post("/Groups\(flag)",
            #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"externalId":"g-sales","displayName":"Sales Team","meta":{"resourceType":"Group"}}"#)
        #expect(group.status == 201)
        let groupId = try #require(group.object?["id"]?.stringValue)
        let op = dialect == .legacy ? "Add" : "add"
        #expect(try await client.patch("/Groups/\(groupId)\(flag)", #"""
            {\#(patchOp),"Operations":[{"op":"\#(op)","path":"members","value":[{"$ref":null,"value":"\#(users["adele"]!)"},{"$ref":null,"value":"\#(users["brian"]!)"}]}]}
            """#).status == 204)
        #expect(try await client.patch("/Groups/\(groupId)\(flag)", #"""
            {\#(patchOp),"Operations":[{"op":"\#(op)","path":"members","value":[{"$ref":null,"value":"\#(users["carla"]!)"}]}]}
            """#).status == 204)
        #expect(ids(try await client.get("/Groups/\(groupId)\(flag)")) == Set(users.values))

        // Updates, in the dialect's shape.
        let update: String
        if dialect == .legacy {
            update = #"""
                {\#(patchOp),"Operations":[
                 {"op":"Replace","path":"emails[type eq \"work\"].value","value":"adele.doe@contoso.com"},
                 {"op":"Replace","path":"name.familyName","value":"Doe-Smith"},
                 {"op":"Add","path":"title","value":"Lead"},
                 {"op":"Replace","path":"\#(enterprise):department","value":"Retail"},
                 {"op":"Add","path":"phoneNumbers[type eq \"mobile\"].value","value":"+1 555 0100"}]}
                """#
        } else {
            update = #"""
                {\#(patchOp),"Operations":[
                 {"op":"replace","path":"emails[type eq \"work\"].value","value":"adele.doe@contoso.com"},
                 {"op":"replace","value":{"name.familyName":"Doe-Smith","title":"Lead","\#(enterprise):department":"Retail"}},
                 {"op":"add","path":"phoneNumbers[type eq \"mobile\"].value","value":"+1 555 0100"}]}
                """#
        }
        let updated = try await client.patch("/Users/\(users["adele"]!)\(flag)", update)
        #expect(updated.status == 200, "\(updated.text)")
        let adele = try #require(updated.object)
        #expect(adele["emails"]?.arrayValue?.first?.objectValue?["value"] == .string("adele.doe@contoso.com"))
        #expect(adele["emails"]?.arrayValue?.first?.objectValue?["primary"] == .bool(true), "the primary flag survives")
        #expect(adele["name"]?.objectValue?["familyName"] == .string("Doe-Smith"))
        #expect(adele["name"]?.objectValue?["givenName"] == .string("Adele"))
        #expect(adele["title"] == .string("Lead"))
        #expect(adele[enterprise]?.objectValue?["department"] == .string("Retail"))
        #expect(adele["phoneNumbers"] == .array([.object(JSONObject([("value", .string("+1 555 0100")), ("type", .string("mobile"))]))]))

        // The next cycle matches again, by the cached id's userName.
        let rematch = try await client.get("/Users\(flag)\(and)filter=" + #"userName eq "ADELE@contoso.com""#.urlQueryEncoded)
        #expect(rematch.object?["totalResults"] == .integer(1))

        // Disable, then re-enable; a disabled user is still there, memberships kept.
        let disable = #"{\#(patchOp),"Operations":[{"op":"\#(dialect == .legacy ? "Replace" : "replace")","path":"active","value":\#(dialect == .legacy ? #""False""# : "false")}]}"#
        #expect(try await client.patch("/Users/\(users["carla"]!)\(flag)", disable).object?["active"] == .bool(false))
        #expect(try await client.get("/Users/\(users["carla"]!)\(flag)").object?["active"] == .bool(false))
        #expect(try await client.get("/Users\(flag)\(and)filter=" + #"userName eq "carla@contoso.com""#.urlQueryEncoded).object?["totalResults"] == .integer(1))
        let enable = #"{\#(patchOp),"Operations":[{"op":"\#(dialect == .legacy ? "Replace" : "replace")","path":"active","value":\#(dialect == .legacy ? #""True""# : "true")}]}"#
        #expect(try await client.patch("/Users/\(users["carla"]!)\(flag)", enable).object?["active"] == .bool(true))
        #expect(ids(try await client.get("/Groups/\(groupId)\(flag)")).contains(users["carla"]!))

        // A member leaves the group, in the dialect's shape.
        let removal = dialect == .legacy
            ? #"{\#(patchOp),"Operations":[{"op":"Remove","path":"members","value":[{"$ref":null,"value":"\#(users["brian"]!)"}]}]}"#
            : #"{\#(patchOp),"Operations":[{"op":"remove","path":"members[value eq \"\#(users["brian"]!)\"]"}]}"#
        #expect(try await client.patch("/Groups/\(groupId)\(flag)", removal).status == 204)
        #expect(ids(try await client.get("/Groups/\(groupId)\(flag)")) == [users["adele"]!, users["carla"]!])

        // Rename, hard delete of a user, delete of the group.
        #expect(try await client.patch("/Groups/\(groupId)\(flag)",
            #"{\#(patchOp),"Operations":[{"op":"Replace","path":"displayName","value":"Sales Team EMEA"}]}"#).status == 204)
        #expect(try await client.delete("/Users/\(users["carla"]!)\(flag)").status == 204)
        expectSCIMError(try await client.get("/Users/\(users["carla"]!)\(flag)"), status: 404)
        let remaining = try await client.get("/Groups/\(groupId)\(flag)")
        #expect(remaining.object?["displayName"] == .string("Sales Team EMEA"))
        #expect(ids(remaining) == [users["adele"]!])
        #expect(try await client.delete("/Groups/\(groupId)\(flag)").status == 204)
    }

    @Test("Okta cycle: paging probe, create with a password, PUT updates and deactivation, group push")
    func okta() async throws {
        let tenant = try TestTenant.make()
        let client = tenant.client
        _ = try await client.createUser("first@example.com")
        let probe = try await client.get("/Users?startIndex=1&count=2")
        #expect(probe.status == 200)
        for key in ["totalResults", "startIndex", "itemsPerPage"] { #expect(probe.object?[key]?.numberText != nil, "\(key)") }
        #expect(try await client.get("/Groups?startIndex=1&count=100").object?["totalResults"] == .integer(0))

        #expect(try await client.filterUsers(#"userName eq "okta.user@example.com""#).object?["totalResults"] == .integer(0))
        let created = try await client.post("/Users", #"""
            {"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"okta.user@example.com",
             "name":{"givenName":"Okta","familyName":"User"},"emails":[{"primary":true,"value":"okta.user@example.com","type":"work"}],
             "displayName":"Okta User","locale":"en-US","externalId":"00ujl29u0le5T6Aj10h7","groups":[],"password":"1mz050nq","active":true}
            """#)
        #expect(created.status == 201)
        #expect(!created.text.contains("1mz050nq"), "a password is never returned")
        let id = try #require(created.object?["id"]?.stringValue)

        let put = try await client.put("/Users/\(id)", #"""
            {"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"\#(id)","userName":"okta.user@example.com",
             "name":{"givenName":"Okta","familyName":"Renamed"},"emails":[{"primary":true,"value":"okta.user@example.com","type":"work"}],
             "displayName":"Okta Renamed","locale":"en-US","externalId":"00ujl29u0le5T6Aj10h7","groups":[],"active":true,
             "meta":{"resourceType":"User"}}
            """#)
        #expect(put.status == 200)
        #expect(put.object?["name"]?.objectValue?["familyName"] == .string("Renamed"))
        let deactivate = try await client.put("/Users/\(id)", #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"okta.user@example.com","active":false}"#)
        #expect(deactivate.object?["active"] == .bool(false))
        let reactivate = try await client.patch("/Users/\(id)", #"{\#(patchOp),"Operations":[{"op":"replace","value":{"active":true}}]}"#)
        #expect(reactivate.object?["active"] == .bool(true))

        // Group push: create with members, then add, remove and rename by PATCH, then delete.
        let second = try await client.createUser("second@example.com").id
        let pushed = try await client.post("/Groups",
            #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Okta Pushed","members":[{"value":"\#(id)","display":"Okta User"}]}"#)
        #expect(pushed.status == 201)
        #expect(ids(pushed) == [id])
        let groupId = try #require(pushed.object?["id"]?.stringValue)
        #expect(try await client.patch("/Groups/\(groupId)", #"""
            {\#(patchOp),"Operations":[{"op":"add","path":"members","value":[{"value":"\#(second)","display":"second"}]},
             {"op":"remove","path":"members[value eq \"\#(id)\"]"},{"op":"replace","value":{"id":"\#(groupId)","displayName":"Okta Pushed 2"}}]}
            """#).status == 204)
        let after = try await client.get("/Groups/\(groupId)")
        #expect(ids(after) == [second])
        #expect(after.object?["displayName"] == .string("Okta Pushed 2"))
        #expect(try await client.delete("/Groups/\(groupId)").status == 204)
    }
}
