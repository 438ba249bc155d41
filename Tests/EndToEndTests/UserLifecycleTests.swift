import Foundation
import Testing
@testable import SCIMCore

@Suite("Users over HTTP: RFC 7644 and Entra's shapes, through nginx and PostgreSQL", .enabled(if: Stack.available))
struct UserLifecycleTests {
    @Test("create answers 201 with id, meta, Location and ETag; a case-variant duplicate is 409 uniqueness")
    func createAndDuplicate() async throws {
        let tenant = try TestTenant.make()
        let response = try await tenant.client.post("/Users", #"""
            {"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
             "externalId":"0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef","userName":"Test_User_00aa@contoso.com","active":"True",
             "emails":[{"primary":true,"type":"work","value":"x@testuser.com"}],"meta":{"resourceType":"User"},
             "name":{"formatted":"givenName familyName","familyName":"familyName","givenName":"givenName"},"roles":[],
             "addresses":null,"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Sales","manager":"m-1"}}
            """#)
        #expect(response.status == 201, "\(response.text)")
        let user = try #require(response.object)
        let id = try #require(user["id"]?.stringValue)
        #expect(ResourceID.isValid(id))
        #expect(user["active"] == .bool(true))
        #expect(user["userName"] == .string("Test_User_00aa@contoso.com"))
        let meta = try #require(user["meta"]?.objectValue)
        #expect(meta["resourceType"] == .string("User"))
        #expect(meta["location"]?.stringValue?.hasSuffix("/scim/v2/\(tenant.slug)/Users/\(id)") == true)
        #expect(meta["created"]?.stringValue?.hasSuffix("Z") == true)
        #expect(response.header("Location") == meta["location"]?.stringValue)
        #expect(response.header("ETag") == #"W/"1""#)
        let enterprise = try #require(user[CoreSchemas.enterpriseUserURN]?.objectValue)
        let manager = try #require(enterprise["manager"]?.objectValue)
        #expect(manager["value"] == .string("m-1"))
        #expect(manager["$ref"]?.stringValue?.hasSuffix("/scim/v2/\(tenant.slug)/Users/m-1") == true)
        #expect(user["schemas"]?.arrayValue?.count == 2)

        let duplicate = try await tenant.client.post("/Users", #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"TEST_USER_00AA@CONTOSO.COM"}"#)
        expectSCIMError(duplicate, status: 409, scimType: "uniqueness")

        // Without "active", a new user is active and says so.
        let plain = try await tenant.client.post("/Users", #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"plain@example.com"}"#)
        #expect(plain.object?["active"] == .bool(true))
        // scimctl prints the endpoint a client really uses.
        let (baseURL, _) = try Stack.require()
        #expect(try Stack.scimctl("tenant", "show", tenant.slug).contains("SCIM_URL=\(baseURL)/scim/v2/\(tenant.slug)"))
    }

    @Test("filters: userName ignores case, externalId and id match exactly, paging counts the whole result")
    func filtersAndPaging() async throws {
        let tenant = try TestTenant.make()
        var ids: [String] = []
        for i in 1...5 {
            ids.append(try await tenant.client.createUser("pager\(i)@example.com", extra: #","externalId":"ext-\#(i)""#).id)
        }
        let byName = try await tenant.client.filterUsers(#"userName eq "PAGER3@EXAMPLE.COM""#)
        #expect(byName.object?["totalResults"] == .integer(1))
        #expect(byName.object?["Resources"]?.arrayValue?.first?.objectValue?["id"] == .string(ids[2]))
        #expect(try await tenant.client.filterUsers(#"externalId eq "ext-4""#).object?["totalResults"] == .integer(1))
        #expect(try await tenant.client.filterUsers(#"externalId eq "EXT-4""#).object?["totalResults"] == .integer(0))
        #expect(try await tenant.client.filterUsers("externalId eq ext-2").object?["totalResults"] == .integer(1))
        #expect(try await tenant.client.filterUsers(#"id eq "\#(ids[0])""#).object?["totalResults"] == .integer(1))
        #expect(try await tenant.client.filterUsers(#"id eq "not-a-uuid""#).object?["totalResults"] == .integer(0))

        let page = try await tenant.client.get("/Users?startIndex=2&count=2")
        #expect(page.object?["totalResults"] == .integer(5))
        #expect(page.object?["itemsPerPage"] == .integer(2))
        #expect(page.object?["startIndex"] == .integer(2))
        let all = try await tenant.client.get("/Users?startIndex=1&count=10")
        let order = all.object?["Resources"]?.arrayValue?.compactMap { $0.objectValue?["id"]?.stringValue } ?? []
        #expect(order.count == 5)
        #expect(page.object?["Resources"]?.arrayValue?.compactMap { $0.objectValue?["id"]?.stringValue } == Array(order[1...2]))
        let beyond = try await tenant.client.get("/Users?startIndex=9&count=2")
        #expect(beyond.object?["totalResults"] == .integer(5))
        #expect(beyond.object?["itemsPerPage"] == .integer(0))
        let countOnly = try await tenant.client.get("/Users?count=0")
        #expect(countOnly.object?["totalResults"] == .integer(5))
        #expect(countOnly.object?["Resources"] == .array([]))
        let projected = try await tenant.client.filterUsers(#"userName eq "pager1@example.com""#, extra: "&attributes=id")
        let only = try #require(projected.object?["Resources"]?.arrayValue?.first?.objectValue)
        #expect(only.keys == ["schemas", "id"])
    }

    @Test("walking a whole tenant page by page (Okta's import) returns every user once, in order, with the exact total, also when users come and go during the walk")
    func wholeTenantWalk() async throws {
        let tenant = try TestTenant.make()
        for i in 1...25 { _ = try await tenant.client.createUser("walker\(i)@example.com") }
        func page(_ start: Int) async throws -> (total: Int?, ids: [String]) {
            let response = try await tenant.client.get("/Users?startIndex=\(start)&count=10")
            #expect(response.status == 200, "\(response.text)")
            let ids = response.object?["Resources"]?.arrayValue?.compactMap { $0.objectValue?["id"]?.stringValue } ?? []
            return (response.object?["totalResults"]?.intValue, ids)
        }
        // Twice: the second walk starts each page after the id the first walk marked.
        var walks: [[String]] = []
        for _ in 0..<2 {
            var walked: [String] = []
            for start in stride(from: 1, through: 21, by: 10) {
                let (total, ids) = try await page(start)
                #expect(total == 25)
                walked += ids
            }
            walks.append(walked)
        }
        // The walks left marks where their pages ended, valid for the tenant's current changes.
        let marks = try FaultSuiteTests.ownerValue("""
            select string_agg(m.start_index::text, ',' order by m.start_index) from scim.page_marks m
            join scim.tenants t on t.id = m.tenant_id
            where t.slug = '\(tenant.slug)' and m.resource_type = 'User'
              and m.changes = (select sum(c.changes) from scim.resource_counts c where c.tenant_id = m.tenant_id and c.resource_type = 'User')
            """)
        #expect(marks == "11,21")
        #expect(walks[0].count == 25 && Set(walks[0]).count == 25)
        #expect(walks[0] == walks[0].sorted(), "in id order")
        #expect(walks[1] == walks[0])
        // A user deleted and two created after the first page: the marks no longer hold (the tenant
        // changed), so later pages count their offset again; the walk sees what index paging promises.
        let first = try await page(1)
        #expect(try await tenant.client.delete("/Users/\(first.ids[0])").status == 204)
        for i in 26...27 { _ = try await tenant.client.createUser("walker\(i)@example.com") }
        let all = try await tenant.client.get("/Users?startIndex=1&count=100")
        let expected = all.object?["Resources"]?.arrayValue?.compactMap { $0.objectValue?["id"]?.stringValue } ?? []
        #expect(expected.count == 26)
        for start in [11, 21] {
            let (total, ids) = try await page(start)
            #expect(total == 26)
            #expect(ids == Array(expected[(start - 1)..<min(start + 9, expected.count)]), "startIndex \(start)")
        }
        // The counts follow a bulk of creates and deletes in one request.
        let bulk = try await tenant.client.post("/Bulk", """
            {"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[
              {"method":"POST","path":"/Users","bulkId":"a","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bulk-a@example.com"}},
              {"method":"POST","path":"/Users","bulkId":"b","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bulk-b@example.com"}},
              {"method":"DELETE","path":"/Users/\(expected[0])"}]}
            """)
        #expect(bulk.status == 200, "\(bulk.text)")
        #expect(try await page(1).total == 27)
        #expect(try await tenant.client.get("/Users?count=0").object?["totalResults"] == .integer(27))
    }

    @Test("PATCH in Entra's default dialect, then disable and re-enable; a disabled user is still found")
    func entraDefaultDialect() async throws {
        let tenant = try TestTenant.make()
        let (id, _) = try await tenant.client.createUser("patchme@example.com")
        let response = try await tenant.client.patch("/Users/\(id)", #"""
            {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
             {"op":"Replace","path":"emails[type eq \"work\"].value","value":"updated@example.com"},
             {"op":"Replace","path":"name.familyName","value":"Family"},
             {"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"Retail"},
             {"op":"Replace","path":"displayName","value":"Patched User"}]}
            """#)
        #expect(response.status == 200, "\(response.text)")
        let user = try #require(response.object)
        #expect(user["emails"] == .array([.object(JSONObject([("value", .string("updated@example.com")), ("type", .string("work"))]))]))
        #expect(user["name"]?.objectValue?["familyName"] == .string("Family"))
        #expect(user[CoreSchemas.enterpriseUserURN]?.objectValue?["department"] == .string("Retail"))
        #expect(response.header("ETag") == #"W/"2""#)

        let disable = try await tenant.client.patch("/Users/\(id)",
            #"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}"#)
        #expect(disable.object?["active"] == .bool(false))
        #expect(try await tenant.client.get("/Users/\(id)").object?["active"] == .bool(false))
        let found = try await tenant.client.filterUsers(#"userName eq "patchme@example.com""#)
        #expect(found.object?["totalResults"] == .integer(1))
        let enable = try await tenant.client.patch("/Users/\(id)",
            #"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","value":{"active":true}}]}"#)
        #expect(enable.object?["active"] == .bool(true))
    }

    @Test("PATCH in the aadOptscim062020 dialect: path-less replace with dotted and URN keys")
    func entraCompliantDialect() async throws {
        let tenant = try TestTenant.make()
        let (id, _) = try await tenant.client.createUser("flagged@example.com")
        let response = try await tenant.client.patch("/Users/\(id)?aadOptscim062020", #"""
            {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
             {"op":"replace","value":{"displayName":"Bjfe","name.givenName":"Kkom","name.familyName":"Unua",
              "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"Aklq"}},
             {"op":"replace","path":"active","value":false}]}
            """#)
        #expect(response.status == 200, "\(response.text)")
        let user = try #require(response.object)
        #expect(user["displayName"] == .string("Bjfe"))
        #expect(user["name"] == .object(JSONObject([("familyName", .string("Unua")), ("givenName", .string("Kkom"))])))
        #expect(user[CoreSchemas.enterpriseUserURN]?.objectValue?["employeeNumber"] == .string("Aklq"))
        #expect(user["active"] == .bool(false))
        #expect(user["name.givenName"] == nil)
    }

    @Test("PUT replaces; omitting active keeps it; a rename onto another user's userName is 409")
    func put() async throws {
        let tenant = try TestTenant.make()
        let (id, _) = try await tenant.client.createUser("put-a@example.com", extra: #","title":"Old title""#)
        _ = try await tenant.client.createUser("put-b@example.com")
        _ = try await tenant.client.patch("/Users/\(id)",
            #"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"active","value":false}]}"#)
        let replaced = try await tenant.client.put("/Users/\(id)", #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"put-a@example.com","displayName":"New"}"#)
        #expect(replaced.status == 200, "\(replaced.text)")
        #expect(replaced.object?["title"] == nil)
        #expect(replaced.object?["displayName"] == .string("New"))
        #expect(replaced.object?["active"] == .bool(false))
        let collision = try await tenant.client.put("/Users/\(id)", #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"PUT-B@example.com"}"#)
        expectSCIMError(collision, status: 409, scimType: "uniqueness")
    }

    @Test("ETags: If-None-Match gives 304, a stale If-Match gives 412 and changes nothing")
    func etags() async throws {
        let tenant = try TestTenant.make()
        let (id, _) = try await tenant.client.createUser("etag@example.com")
        #expect(try await tenant.client.get("/Users/\(id)", headers: ["If-None-Match": #"W/"1""#]).status == 304)
        let stale = try await tenant.client.patch("/Users/\(id)",
            #"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"title","value":"x"}]}"#,
            headers: ["If-Match": #"W/"7""#])
        expectSCIMError(stale, status: 412)
        let current = try await tenant.client.get("/Users/\(id)")
        #expect(current.object?["title"] == nil)
        #expect(current.header("ETag") == #"W/"1""#)
    }

    @Test("DELETE answers 204, then the user is 404 with a SCIM body, and the name is free again")
    func delete() async throws {
        let tenant = try TestTenant.make()
        let (id, _) = try await tenant.client.createUser("gone@example.com")
        let deleted = try await tenant.client.delete("/Users/\(id)")
        #expect(deleted.status == 204)
        #expect(deleted.body.isEmpty)
        expectSCIMError(try await tenant.client.get("/Users/\(id)"), status: 404)
        expectSCIMError(try await tenant.client.delete("/Users/\(id)"), status: 404)
        _ = try await tenant.client.createUser("GONE@example.com")
    }

    @Test("two concurrent creates of one userName: exactly one 201 and one 409")
    func concurrentDuplicates() async throws {
        let tenant = try TestTenant.make()
        for round in 0..<5 {
            let name = "race\(round)@example.com"
            let statuses = try await withThrowingTaskGroup(of: Int.self) { group in
                for variant in [name, name.uppercased(), name, name.capitalized] {
                    group.addTask { try await tenant.client.post("/Users", #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"\#(variant)"}"#).status }
                }
                return try await group.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.sorted() == [201, 409, 409, 409], "round \(round): \(statuses)")
        }
    }

    @Test("a value filter in attributes or excludedAttributes narrows a multi-valued attribute (Microsoft's reference tests use it)")
    func valueFilterProjection() async throws {
        let tenant = try TestTenant.make()
        let (id, _) = try await tenant.client.createUser("filtered@example.com", extra: #","emails":[{"value":"w@example.com","type":"work"},{"value":"h@example.com","type":"home"}]"#)
        let query = "attributes=" + #"emails[type eq "work"]"#.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let work = try await tenant.client.get("/Users/\(id)?\(query)")
        #expect(work.status == 200)
        #expect(work.object?["emails"]?.arrayValue?.compactMap { $0.objectValue?["value"]?.stringValue } == ["w@example.com"])
        #expect(work.object?["userName"] == nil)
        let listed = try await tenant.client.get("/Users?filter=" + #"userName eq "filtered@example.com""#.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
                                                 + "&excludedAttributes=" + #"emails[type eq "work"]"#.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)
        let resource = listed.object?["Resources"]?.arrayValue?.first?.objectValue
        #expect(resource?["emails"]?.arrayValue?.compactMap { $0.objectValue?["value"]?.stringValue } == ["h@example.com"])
        #expect(resource?["userName"] == .string("filtered@example.com"))
    }
}
