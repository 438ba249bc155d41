import Foundation
import Testing
@testable import SCIMCore

@Suite("Authentication and tenant switches, through nginx", .enabled(if: Stack.available))
struct AuthenticationTests {
    @Test("Test connection: a random userName filter answers 200 with an empty ListResponse")
    func testConnection() async throws {
        let tenant = try TestTenant.make()
        let response = try await tenant.client.filterUsers(#"userName eq "\#(UUID().uuidString)""#, extra: "&aadOptscim062020")
        #expect(response.status == 200)
        #expect(response.header("Content-Type") == "application/scim+json")
        let body = try #require(response.object)
        #expect(body["schemas"] == .array([.string(CoreSchemas.listResponseURN)]))
        #expect(body["totalResults"] == .integer(0))
        #expect(body["Resources"] == .array([]))
        #expect(body["startIndex"] == .integer(1))
    }

    @Test("no token, a malformed token and a wrong token get 401 with WWW-Authenticate")
    func unauthenticated() async throws {
        let tenant = try TestTenant.make()
        for client in [tenant.client.with(token: nil), tenant.client.with(token: "nonsense"),
                       tenant.client.with(token: "sk_aaaaaaaaaa_" + String(repeating: "b", count: 40))] {
            let response = try await client.get("/Users")
            expectSCIMError(response, status: 401)
            #expect(response.header("WWW-Authenticate")?.hasPrefix("Bearer") == true)
        }
        // A real key's prefix with a wrong secret.
        let forged = String(tenant.token.dropLast(4)) + "AAAA"
        expectSCIMError(try await tenant.client.with(token: forged).get("/Users"), status: 401)
    }

    @Test("a key of another tenant gets the same 401 as no key, and sees nothing")
    func crossTenant() async throws {
        let a = try TestTenant.make()
        let b = try TestTenant.make()
        let (id, _) = try await b.client.createUser("only-in-b@example.com")
        let intruder = b.client.with(token: a.token)
        let listing = try await intruder.get("/Users")
        expectSCIMError(listing, status: 401)
        let byId = try await intruder.get("/Users/\(id)")
        expectSCIMError(byId, status: 401)
        let unknownTenant = SCIMClient(base: b.client.base + "x", token: a.token)
        #expect(try await unknownTenant.get("/Users").object?["detail"] == listing.object?["detail"])
        // Tenant A's own listing does not contain B's user.
        let own = try await a.client.filterUsers(#"userName eq "only-in-b@example.com""#)
        #expect(own.object?["totalResults"] == .integer(0))
    }

    @Test("SCIM disabled for the tenant gets 403 saying so; enabling it lets the same key in")
    func scimSwitch() async throws {
        let tenant = try TestTenant.make(enabled: false)
        let response = try await tenant.client.get("/Users")
        expectSCIMError(response, status: 403)
        #expect(response.object?["detail"]?.stringValue?.contains("disabled") == true)
        _ = try Stack.scimctl("scim", "enable", tenant.slug)
        #expect(try await tenant.client.get("/Users").status == 200)
        _ = try Stack.scimctl("scim", "disable", tenant.slug)
        expectSCIMError(try await tenant.client.get("/Users"), status: 403)
    }

    @Test("an admin-scope key cannot provision; a revoked key is refused on the next request")
    func scopesAndRevocation() async throws {
        let tenant = try TestTenant.make()
        let adminToken = try TestTenant.createKey(tenant.slug, scope: "admin")
        expectSCIMError(try await tenant.client.with(token: adminToken).get("/Users"), status: 403)
        #expect(try await tenant.client.get("/Users").status == 200)
        let prefix = try #require(tenant.token.split(separator: "_").dropFirst().first)
        let listed = try Stack.scimctl("key", "list", tenant.slug)
        #expect(listed.contains(String(prefix)))
        #expect(!listed.contains(tenant.token), "key list must never show a secret")
        _ = try Stack.scimctl("key", "revoke", tenant.slug, String(prefix))
        expectSCIMError(try await tenant.client.get("/Users"), status: 401)
    }

    @Test("tokens never reach the responder's log")
    func tokensNotLogged() async throws {
        let tenant = try TestTenant.make()
        let (_, project) = try Stack.require()
        let accessLog = "\(project)/.local/log/nginx-access.log"
        let accessStart = try Stack.logSize(accessLog)
        _ = try await tenant.client.get("/Users")
        _ = try await tenant.client.with(token: tenant.token + "x").get("/Users")
        let log = try Stack.logText("\(project)/.local/log/scim-fcgi.log")
        #expect(log.contains(tenant.slug), "the request log names the tenant")
        #expect(!log.contains(String(tenant.token.suffix(40))))
        // nginx writes its access log at least once a second: wait for these requests' lines.
        var access = ""
        for _ in 0..<30 where !access.contains("/scim/v2/\(tenant.slug)/Users") {
            try await Task.sleep(for: .milliseconds(100))
            access = try Stack.logText(accessLog, from: accessStart)
        }
        #expect(access.contains("/scim/v2/\(tenant.slug)/Users"), "the access log has the requests")
        #expect(!access.contains(String(tenant.token.suffix(40))))
    }
}

@Suite("Failed authentication is never throttled and is no tenant's to see", .enabled(if: Stack.available))
struct FailedAuthenticationTests {
    /// curl from its own loopback address, as a stranger (or Microsoft's shared pool) would come.
    func status(_ url: String, token: String, from address: String) throws -> (Int, String) {
        let (_, output) = try Stack.run("/usr/bin/curl", ["-s", "--interface", address, "-w", "\n%{http_code}",
                                                         "-H", "Authorization: Bearer \(token)", url])
        let lines = output.split(separator: "\n", omittingEmptySubsequences: false)
        return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
    }

    @Test("40 wrong tokens from one address are each a SCIM 401; the tenant's own key still gets in; the tenant's log and errors stay empty")
    func neverThrottled() async throws {
        let tenant = try TestTenant.make()
        let address = "127.0.0.\(Int.random(in: 20...250))"
        let url = tenant.client.base + "/Users?count=1"
        var statuses: [Int] = []
        for _ in 0..<40 { statuses.append(try status(url, token: "sk_guessguess_" + String(repeating: "g", count: 40), from: address).0) }
        #expect(statuses.allSatisfy { $0 == 401 }, "\(statuses)")
        let (refused, body) = try status(url, token: "nope", from: address)
        #expect(refused == 401)
        #expect(body.contains(#""status":"401""#) && body.contains("urn:ietf:params:scim:api:messages:2.0:Error"))
        #expect(try status(url, token: tenant.token, from: address).0 == 200)
        let admin = SCIMClient(base: "\(tenant.client.base.replacingOccurrences(of: "/scim/v2/", with: "/admin/v1/"))",
                               token: try TestTenant.createKey(tenant.slug, scope: "admin"))
        let log = try await admin.get("/log?count=500").object?["items"]?.arrayValue ?? []
        #expect(log.isEmpty, "none of the refused requests is in the tenant's log: \(log)")
        // The tenant's own successful read is counted (scim.read_counts), written when its worker idles.
        var counted = ""
        for _ in 0..<30 {
            counted = try FaultSuiteTests.ownerValue("""
                select coalesce(sum(c.requests), 0) from scim.read_counts c join scim.tenants t on t.id = c.tenant_id where t.slug = '\(tenant.slug)'
                """)
            if counted == "1" { break }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        #expect(counted == "1", "only the tenant's own request is counted")
        #expect(try await admin.get("/errors").object?["totalResults"] == .integer(0))
    }
}
