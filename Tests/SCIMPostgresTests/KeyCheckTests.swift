import Foundation
import Testing
@testable import SCIMCore
@testable import SCIMPostgres

/// A key this worker verified lately lets a request's first statement travel with its key check
/// (`VerifiedKeys`): a read is then one round trip. The check still runs on every request, and a
/// check that no longer agrees runs the request again, checking first.
@Suite("Requests with a remembered key: one round trip, checked every time", .serialized, .enabled(if: TestDatabase.available))
struct KeyCheckTests {
    let tenant: (slug: String, id: String, token: String)
    let connection: PostgresConnection
    let service: SCIMService

    init() throws {
        tenant = try TestDatabase.tenant()
        connection = try TestDatabase.responderConnection()
        let store = PostgresStore(connection: connection, logger: TestDatabase.logger, requiresConfinedRole: true)
        service = SCIMService(store: store)
        // As the responder runs: successful reads are counted, not logged a row each (no flush within a test).
        service.readTally = ReadTally(maxAgeSeconds: 3_600, wallClock: { Date().timeIntervalSince1970 })
    }

    func send(_ method: String, _ path: String, query: [(name: String, value: String)] = [], body: String = "",
              token: String? = nil) -> (response: HTTPResponse, roundTrips: Int) {
        let before = connection.roundTrips
        var headers = ["authorization": "Bearer \(token ?? tenant.token)"]
        if !body.isEmpty { headers["content-type"] = "application/scim+json" }
        let response = service.handle(HTTPRequest(method: method, path: "/scim/v2/\(tenant.slug)\(path)", query: query,
                                                  headers: headers, body: Array(body.utf8)))
        return (response, connection.roundTrips - before)
    }

    func create(_ userName: String) -> (response: HTTPResponse, roundTrips: Int) {
        send("POST", "/Users", body: #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"\#(userName)"}"#)
    }

    func filter(_ userName: String) -> [(name: String, value: String)] {
        [("filter", "userName eq \"\(userName)\"")]
    }

    func owner(_ sql: SQL) throws {
        try TestDatabase.connection().execute(sql)
    }

    @Test("a filter GET with a remembered key is one round trip; a create is two; the first request checks the key alone")
    func roundTrips() throws {
        let first = send("GET", "/Users", query: filter("nobody@example.com"))
        #expect(first.response.status == 200)
        #expect(first.roundTrips >= 2, "an unknown key is checked before anything else is sent")
        let created = create("one.trip@example.com")
        #expect(created.response.status == 201)
        #expect(created.roundTrips == 2, "begin, the key check and the insert; then the log row and the commit")
        let found = send("GET", "/Users", query: filter("one.trip@example.com"))
        #expect(found.response.status == 200)
        #expect(found.roundTrips == 1)
        #expect(String(decoding: found.response.body, as: UTF8.self).contains("one.trip@example.com"))
        let discovery = send("GET", "/ServiceProviderConfig")
        #expect(discovery.response.status == 200)
        #expect(discovery.roundTrips == 1, "an answer that reads nothing still waits for its key check")
    }

    @Test("a group read with its members is one transaction (two statements, one moment); Entra's lookup without members is one round trip")
    func groupReads() throws {
        let user = create("member.of.team@example.com")
        let userId = try #require(JSONParser.parse(user.response.body).objectValue?["id"]?.stringValue)
        let group = send("POST", "/Groups", body: """
            {"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Team","members":[{"value":"\(userId)"}]}
            """)
        #expect(group.response.status == 201)
        let groupId = try #require(JSONParser.parse(group.response.body).objectValue?["id"]?.stringValue)
        let withMembers = send("GET", "/Groups/\(groupId)")
        #expect(String(decoding: withMembers.response.body, as: UTF8.self).contains(userId))
        #expect(withMembers.roundTrips == 3, "begin with the key check and the group, its members, commit")
        let lookup = send("GET", "/Groups", query: [("filter", "displayName eq \"Team\""), ("excludedAttributes", "members")])
        #expect(lookup.response.status == 200)
        #expect(lookup.roundTrips == 1)
    }

    @Test("a key revoked after it was remembered is refused on the next request, which reads and writes nothing")
    func revokedKey() throws {
        #expect(create("before.revoke@example.com").response.status == 201)
        #expect(send("GET", "/Users", query: filter("before.revoke@example.com")).roundTrips == 1)
        let prefix = try #require(APIKeyToken.prefix(of: tenant.token))
        try owner("update scim.api_keys set revoked_at = now() where prefix = \(prefix)")
        let read = send("GET", "/Users", query: filter("before.revoke@example.com"))
        #expect(read.response.status == 401)
        #expect(!String(decoding: read.response.body, as: UTF8.self).contains("before.revoke"))
        #expect(create("after.revoke@example.com").response.status == 401)
        let bulk = send("POST", "/Bulk", body: """
            {"schemas":["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],"Operations":[
             {"method":"POST","path":"/Users","bulkId":"a","data":{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"bulk.after.revoke@example.com"}}]}
            """)
        #expect(bulk.response.status == 401)
        let stored = try TestDatabase.connection().execute("""
            select count(*) as n from scim.users where tenant_id = \(tenant.id)::uuid and user_name like '%after.revoke%'
            """)
        #expect(stored.int(0, "n") == 0)
    }

    @Test("a wrong secret under a remembered key's prefix is refused")
    func wrongSecret() throws {
        #expect(send("GET", "/Users", query: filter("x@example.com")).response.status == 200)
        let wrong = String(tenant.token.dropLast()) + (tenant.token.hasSuffix("A") ? "B" : "A")
        #expect(send("GET", "/Users", query: filter("x@example.com"), token: wrong).response.status == 401)
        #expect(send("GET", "/Users", query: filter("x@example.com")).response.status == 200)
    }

    @Test("SCIM switched off, or the tenant's schemas changed, since the key was remembered: the request is answered as it must be now")
    func changedTenant() throws {
        #expect(create("changed.tenant@example.com").response.status == 201)
        #expect(send("GET", "/Users", query: filter("changed.tenant@example.com")).roundTrips == 1)
        try owner("update scim.tenants set schema_version = schema_version + 1 where id = \(tenant.id)::uuid")
        let afterSchemaChange = send("GET", "/Users", query: filter("changed.tenant@example.com"))
        #expect(afterSchemaChange.response.status == 200)
        #expect(afterSchemaChange.roundTrips >= 2, "the remembered key disagreed, so the request ran again, checking first")
        #expect(send("GET", "/Users", query: filter("changed.tenant@example.com")).roundTrips == 1, "remembered again")
        try owner("update scim.tenants set scim_enabled = false where id = \(tenant.id)::uuid")
        #expect(send("GET", "/Users", query: filter("changed.tenant@example.com")).response.status == 403)
        #expect(create("while.disabled@example.com").response.status == 403)
        try owner("update scim.tenants set scim_enabled = true where id = \(tenant.id)::uuid")
        #expect(send("GET", "/Users", query: filter("while.disabled@example.com")).response.status == 200)
    }
}
