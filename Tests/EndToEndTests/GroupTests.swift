import Foundation
import Testing
@testable import SCIMCore

private let patchSchema = #""schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"]"#

@Suite("Groups over HTTP: Entra's group cycle, membership as set operations", .enabled(if: Stack.available))
struct GroupTests {
    /// The members a group answer lists; a failed answer is a failure here, never "no members".
    func memberIds(_ response: Response, sourceLocation: SourceLocation = #_sourceLocation) -> Set<String> {
        #expect((200...201).contains(response.status), "the group could not be read: \(response.status) \(response.text.prefix(200))",
                sourceLocation: sourceLocation)
        return Set(response.object?["members"]?.arrayValue?.compactMap { $0.objectValue?["value"]?.stringValue } ?? [])
    }

    func createGroup(_ client: SCIMClient, _ name: String) async throws -> String {
        let response = try await client.post("/Groups", #"""
            {"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group","http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],
             "externalId":"\#(UUID().uuidString)","displayName":"\#(name)","meta":{"resourceType":"Group"}}
            """#)
        #expect(response.status == 201, "\(response.text)")
        #expect(response.object?["members"] == .array([]))
        return try #require(response.object?["id"]?.stringValue)
    }

    @Test("Entra's cycle: match, create, add members in a batch, remove by value array and by filter, rename, delete")
    func entraCycle() async throws {
        let tenant = try TestTenant.make()
        let client = tenant.client
        var users: [String] = []
        for i in 0..<4 { users.append(try await client.createUser("member\(i)@example.com").id) }

        let before = try await client.get("/Groups?excludedAttributes=members&filter=displayName%20eq%20%22Sales%22")
        #expect(before.object?["totalResults"] == .integer(0))
        let group = try await createGroup(client, "Sales")

        let add = try await client.patch("/Groups/\(group)", #"""
            {\#(patchSchema),"Operations":[{"op":"Add","path":"members","value":[
              {"$ref":null,"value":"\#(users[0])"},{"$ref":null,"value":"\#(users[1])"},{"value":"\#(users[2])"}]}]}
            """#)
        #expect(add.status == 204)
        #expect(add.body.isEmpty)
        #expect(memberIds(try await client.get("/Groups/\(group)")) == Set(users[0...2]))

        // Adding an existing member again changes nothing.
        let again = try await client.patch("/Groups/\(group)",
            #"{\#(patchSchema),"Operations":[{"op":"Add","path":"members","value":[{"value":"\#(users[0])"}]}]}"#)
        #expect(again.status == 204)

        // Default dialect: remove only the listed members.
        let removeListed = try await client.patch("/Groups/\(group)",
            #"{\#(patchSchema),"Operations":[{"op":"Remove","path":"members","value":[{"$ref":null,"value":"\#(users[1])"}]}]}"#)
        #expect(removeListed.status == 204)
        #expect(memberIds(try await client.get("/Groups/\(group)")) == [users[0], users[2]])

        // aadOptscim062020: remove by filter; a non-member is a no-op.
        let removeFiltered = try await client.patch("/Groups/\(group)",
            #"{\#(patchSchema),"Operations":[{"op":"remove","path":"members[value eq \"\#(users[2])\"]"},{"op":"remove","path":"members[value eq \"\#(users[3])\"]"}]}"#)
        #expect(removeFiltered.status == 204)
        #expect(memberIds(try await client.get("/Groups/\(group)")) == [users[0]])

        // Match with members excluded: no members key at all.
        let matched = try await client.get("/Groups?excludedAttributes=members&filter=displayName%20eq%20%22sales%22")
        #expect(matched.object?["totalResults"] == .integer(1))
        let listed = try #require(matched.object?["Resources"]?.arrayValue?.first?.objectValue)
        #expect(listed["members"] == nil)
        #expect(try await client.get("/Groups/\(group)?excludedAttributes=members").object?["members"] == nil)

        // Legacy membership check: id and members.
        let isMember = try await client.get("/Groups?filter=" + #"id eq "\#(group)" and members eq "\#(users[0])""#.urlQueryEncoded + "&attributes=id")
        #expect(isMember.object?["totalResults"] == .integer(1))
        let notMember = try await client.get("/Groups?filter=" + #"id eq "\#(group)" and members eq "\#(users[3])""#.urlQueryEncoded + "&attributes=id")
        #expect(notMember.object?["totalResults"] == .integer(0))
        let single = try await client.get("/Groups/\(group)?filter=" + #"members eq "\#(users[3])""#.urlQueryEncoded)
        expectSCIMError(single, status: 404)

        // The user sees its group.
        let user0 = try await client.get("/Users/\(users[0])")
        #expect(user0.object?["groups"]?.arrayValue?.first?.objectValue?["value"] == .string(group))
        let byGroup = try await client.filterUsers(#"groups eq "\#(group)""#)
        #expect(byGroup.object?["totalResults"] == .integer(1))

        // Rename answers 204; asking for attributes gets 200 with just those.
        let rename = try await client.patch("/Groups/\(group)",
            #"{\#(patchSchema),"Operations":[{"op":"Replace","path":"displayName","value":"Sales EMEA"}]}"#)
        #expect(rename.status == 204)
        let projected = try await client.patch("/Groups/\(group)?attributes=displayName",
            #"{\#(patchSchema),"Operations":[{"op":"replace","value":{"externalId":"new-ext"}}]}"#)
        #expect(projected.status == 200)
        #expect(projected.object?["displayName"] == .string("Sales EMEA"))
        #expect(projected.object?["members"] == nil)

        // Remove with path "members" and no value removes everyone.
        _ = try await client.patch("/Groups/\(group)", #"{\#(patchSchema),"Operations":[{"op":"remove","path":"members"}]}"#)
        #expect(memberIds(try await client.get("/Groups/\(group)")).isEmpty)

        #expect(try await client.delete("/Groups/\(group)").status == 204)
        expectSCIMError(try await client.get("/Groups/\(group)"), status: 404)
    }

    @Test("displayName is unique ignoring case; an unknown member id is refused and adds nobody")
    func conflictsAndUnknownMembers() async throws {
        let tenant = try TestTenant.make()
        let group = try await createGroup(tenant.client, "Engineering")
        expectSCIMError(try await tenant.client.post("/Groups", #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"ENGINEERING"}"#), status: 409, scimType: "uniqueness")
        let user = try await tenant.client.createUser("eng@example.com").id
        let response = try await tenant.client.patch("/Groups/\(group)",
            #"{\#(patchSchema),"Operations":[{"op":"add","path":"members","value":[{"value":"\#(user)"},{"value":"\#(UUID().uuidString)"}]}]}"#)
        expectSCIMError(response, status: 400, scimType: "invalidValue")
        #expect(memberIds(try await tenant.client.get("/Groups/\(group)")).isEmpty)
    }

    @Test("deleting a user removes its memberships; deleting a group leaves its members")
    func deletions() async throws {
        let tenant = try TestTenant.make()
        let group = try await createGroup(tenant.client, "Temp")
        let a = try await tenant.client.createUser("a@example.com").id
        let b = try await tenant.client.createUser("b@example.com").id
        _ = try await tenant.client.patch("/Groups/\(group)",
            #"{\#(patchSchema),"Operations":[{"op":"add","value":{"members":[{"value":"\#(a)"},{"value":"\#(b)"}]}}]}"#)
        #expect(try await tenant.client.delete("/Users/\(a)").status == 204)
        #expect(memberIds(try await tenant.client.get("/Groups/\(group)")) == [b])
        #expect(try await tenant.client.delete("/Groups/\(group)").status == 204)
        #expect(try await tenant.client.get("/Users/\(b)").object?["groups"] == nil)
    }

    @Test("concurrent PATCHes adding and removing members: the result is the union of adds minus removes")
    func concurrentMembership() async throws {
        let tenant = try TestTenant.make()
        let group = try await createGroup(tenant.client, "Busy")
        var users: [String] = []
        for i in 0..<12 { users.append(try await tenant.client.createUser("busy\(i)@example.com").id) }
        let client = tenant.client
        let statuses = try await withThrowingTaskGroup(of: Int.self) { taskGroup in
            for user in users {
                taskGroup.addTask {
                    try await client.patch("/Groups/\(group)",
                        #"{\#(patchSchema),"Operations":[{"op":"add","path":"members","value":[{"value":"\#(user)"}]}]}"#).status
                }
            }
            return try await taskGroup.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(statuses.allSatisfy { $0 == 204 }, "\(statuses)")
        let removals = try await withThrowingTaskGroup(of: Int.self) { taskGroup in
            for user in users.prefix(5) {
                taskGroup.addTask {
                    try await client.patch("/Groups/\(group)",
                        #"{\#(patchSchema),"Operations":[{"op":"remove","path":"members[value eq \"\#(user)\"]"}]}"#).status
                }
            }
            return try await taskGroup.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(removals.allSatisfy { $0 == 204 })
        #expect(memberIds(try await client.get("/Groups/\(group)")) == Set(users.dropFirst(5)))
        #expect(try await client.get("/Groups/\(group)").header("ETag") == #"W/"18""#)
    }
}

@Suite("Discovery and queries", .enabled(if: Stack.available))
struct DiscoveryTests {
    @Test("ServiceProviderConfig, ResourceTypes and Schemas describe what is served, without nulls")
    func discovery() async throws {
        let tenant = try TestTenant.make()
        let config = try await tenant.client.get("/ServiceProviderConfig")
        #expect(config.status == 200)
        #expect(config.object?["patch"]?.objectValue?["supported"] == .bool(true))
        #expect(config.object?["bulk"]?.objectValue?["maxOperations"] == .integer(1000))
        #expect(!config.text.contains("null"))
        let types = try await tenant.client.get("/ResourceTypes")
        #expect(types.object?["totalResults"] == .integer(2))
        let user = try await tenant.client.get("/ResourceTypes/User")
        #expect(user.object?["schemaExtensions"]?.arrayValue?.first?.objectValue?["schema"] == .string(CoreSchemas.enterpriseUserURN))
        let schemas = try await tenant.client.get("/Schemas")
        #expect(schemas.object?["totalResults"] == .integer(3))
        #expect(!schemas.text.contains("null"))
        let userSchema = try await tenant.client.get("/Schemas/\(CoreSchemas.userURN)")
        let attributes = userSchema.object?["attributes"]?.arrayValue ?? []
        let userName = attributes.first { $0.objectValue?["name"] == .string("userName") }?.objectValue
        #expect(userName?["uniqueness"] == .string("server"))
        #expect(userName?["caseExact"] == .bool(false))
        let password = attributes.first { $0.objectValue?["name"] == .string("password") }?.objectValue
        #expect(password?["returned"] == .string("never"))
        expectSCIMError(try await tenant.client.post("/Schemas", "{}"), status: 405)
        expectSCIMError(try await tenant.client.get("/Schemas/urn:nope"), status: 404)
    }

    @Test("sortBy and sortOrder; the manager reference check; POST /Users/.search")
    func queries() async throws {
        let tenant = try TestTenant.make()
        let manager = try await tenant.client.createUser("boss@example.com").id
        let report = try await tenant.client.createUser("worker@example.com",
            extra: #","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":"\#(manager)"}"#).id
        _ = try await tenant.client.createUser("alpha@example.com")
        let sorted = try await tenant.client.get("/Users?sortBy=userName&sortOrder=descending")
        let names = sorted.object?["Resources"]?.arrayValue?.compactMap { $0.objectValue?["userName"]?.stringValue }
        #expect(names == ["worker@example.com", "boss@example.com", "alpha@example.com"])
        let check = try await tenant.client.get("/Users?filter=" + "id eq \(report) and manager eq \(manager)".urlQueryEncoded + "&attributes=id")
        #expect(check.object?["totalResults"] == .integer(1))
        let wrong = try await tenant.client.get("/Users?filter=" + "id eq \(report) and manager eq \(report)".urlQueryEncoded + "&attributes=id")
        #expect(wrong.object?["totalResults"] == .integer(0))
        let search = try await tenant.client.post("/Users/.search",
            #"{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"filter":"userName sw \"b\"","attributes":["userName"]}"#)
        #expect(search.object?["totalResults"] == .integer(1))
        let root = try await tenant.client.post("/.search",
            #"{"schemas":["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],"filter":"meta.created pr","count":10}"#)
        #expect(root.object?["totalResults"] == .integer(3))
    }
}

extension String {
    var urlQueryEncoded: String { addingPercentEncoding(withAllowedCharacters: .alphanumerics)! }
}

@Suite("Cursor paging (RFC 9865)", .enabled(if: Stack.available))
struct CursorPagingTests {
    @Test("pages follow nextCursor until it is absent, each user once, even when users are added meanwhile")
    func walk() async throws {
        let tenant = try TestTenant.make()
        var created: Set<String> = []
        for i in 0..<7 { created.insert(try await tenant.client.createUser("cursor\(i)@example.com").id) }
        var seen: [String] = []
        var cursor = ""
        var pages = 0
        while true {
            let response = try await tenant.client.get("/Users?count=3&cursor=\(cursor)")
            #expect(response.status == 200, "\(response.text)")
            let body = try #require(response.object)
            #expect(body["startIndex"] == nil)
            #expect(body["totalResults"] != nil)
            seen += body["Resources"]?.arrayValue?.compactMap { $0.objectValue?["id"]?.stringValue } ?? []
            pages += 1
            if pages == 1 { _ = try await tenant.client.createUser("zz-late@example.com") }
            guard let next = body["nextCursor"]?.stringValue else { break }
            cursor = next
            #expect(pages < 10)
        }
        #expect(Set(seen).count == seen.count, "no user twice")
        #expect(created.isSubset(of: Set(seen)))
        let config = try await tenant.client.get("/ServiceProviderConfig")
        #expect(config.object?["pagination"]?.objectValue?["cursor"] == .bool(true))
        expectSCIMError(try await tenant.client.get("/Users?cursor=bm90LWEtY3Vyc29y"), status: 400, scimType: "invalidCursor")
        expectSCIMError(try await tenant.client.get("/Users?cursor=&startIndex=2"), status: 400, scimType: "invalidValue")
    }
}

@Suite("Bulk (RFC 7644 §3.7)", .enabled(if: Stack.available))
struct BulkTests {
    @Test("operations run in dependency order with bulkId references; a failed one is reported and undone alone")
    func bulk() async throws {
        let tenant = try TestTenant.make()
        _ = try await tenant.client.createUser("taken@example.com")
        let response = try await tenant.client.post("/Bulk", #"""
            {"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[
             {"method":"POST","path":"/Groups","bulkId":"g1","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Bulk Team","members":[{"value":"bulkId:u1"},{"value":"bulkId:u2"}]}},
             {"method":"POST","path":"/Users","bulkId":"u1","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bulk1@example.com"}},
             {"method":"POST","path":"/Users","bulkId":"u2","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bulk2@example.com"}},
             {"method":"POST","path":"/Users","bulkId":"dup","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"TAKEN@example.com"}},
             {"method":"PATCH","path":"/Users/bulkId:u1","data":{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
               "Operations":[{"op":"replace","path":"title","value":"Bulk"}]}},
             {"method":"POST","path":"/Groups","bulkId":"loop","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Loop","members":[{"value":"bulkId:never"}]}}]}
            """#)
        #expect(response.status == 200, "\(response.text)")
        let operations = response.object?["Operations"]?.arrayValue?.compactMap { $0.objectValue } ?? []
        #expect(operations.count == 6)
        #expect(operations.map { $0["status"]?.stringValue } == ["201", "201", "201", "409", "200", "409"])
        #expect(operations[3]["response"]?.objectValue?["scimType"] == .string("uniqueness"))
        let groupLocation = try #require(operations[0]["location"]?.stringValue)
        let groupId = String(groupLocation.split(separator: "/").last!)
        let group = try await tenant.client.get("/Groups/\(groupId)")
        #expect(group.object?["members"]?.arrayValue?.count == 2)
        #expect(try await tenant.client.filterUsers(#"title eq "Bulk""#).object?["totalResults"] == .integer(1))
        #expect(try await tenant.client.get("/Users?count=0").object?["totalResults"] == .integer(3))
    }

    @Test("failOnErrors stops after that many errors; writes before it stand")
    func failOnErrors() async throws {
        let tenant = try TestTenant.make()
        let response = try await tenant.client.post("/Bulk", #"""
            {"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"failOnErrors":1,"Operations":[
             {"method":"POST","path":"/Users","bulkId":"a","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"first@example.com"}},
             {"method":"POST","path":"/Users","bulkId":"b","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"displayName":"no userName"}},
             {"method":"POST","path":"/Users","bulkId":"c","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"never@example.com"}}]}
            """#)
        let operations = response.object?["Operations"]?.arrayValue?.compactMap { $0.objectValue } ?? []
        #expect(operations.map { $0["status"]?.stringValue } == ["201", "400"])
        #expect(try await tenant.client.get("/Users?count=0").object?["totalResults"] == .integer(1))
        let config = try await tenant.client.get("/ServiceProviderConfig")
        #expect(config.object?["bulk"]?.objectValue?["supported"] == .bool(true))
    }
}
