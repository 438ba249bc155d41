import Foundation
import Testing
@testable import SCIMCore

@Suite("Provisioning log", .enabled(if: Stack.available))
struct ProvisioningLogTests {
    @Test("every request is logged for its tenant with who, what, result and duration; failures keep a redacted body")
    func logged() async throws {
        let tenant = try TestTenant.make()
        let created = try await tenant.client.post("/Users", #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"logged@example.com","password":"Fr0m-Okta"}"#)
        #expect(created.status == 201)
        let requestId = try #require(created.header("X-Request-Id"))
        let duplicate = try await tenant.client.post("/Users", #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"LOGGED@example.com","password":"S3cret-Value"}"#)
        #expect(duplicate.status == 409)
        _ = try await tenant.client.with(token: "sk_wrongwrong_" + String(repeating: "x", count: 40)).get("/Users")

        let all = try Stack.scimctl("log", "list", tenant.slug)
        #expect(all.contains("201  POST /scim/v2/\(tenant.slug)/Users"))
        #expect(all.contains("409  POST /scim/v2/\(tenant.slug)/Users"))
        #expect(!all.contains("401  GET"), "a request without the tenant's key is not the tenant's to see")
        #expect(all.contains(requestId))
        #expect(all.contains("logged@example.com"))
        #expect(all.contains("key test scim ("), "the key is named, by name and public prefix")
        let failures = try Stack.scimctl("log", "list", tenant.slug, "--failures")
        #expect(!failures.contains("201  POST"))
        #expect(failures.contains("uniqueness"))
        #expect(failures.contains("[redacted]"))
        #expect(!failures.contains("S3cret-Value") && !all.contains("Fr0m-Okta"), "passwords are never logged")
        #expect(!failures.contains(String(tenant.token.suffix(40))))

        let other = try TestTenant.make()
        #expect(!(try Stack.scimctl("log", "list", other.slug)).contains("logged@example.com"), "each tenant sees its own log")
        #expect(try Stack.scimctl("log", "purge", "--older-than-days", "30").contains("Purged"))
        #expect(try Stack.scimctl("log", "list", tenant.slug).contains(requestId), "recent rows survive the purge")
    }
}
