import SCIMCore
import Testing
@testable import SCIMAdmin

/// The typed inputs of the admin layer refuse what no face may pass through, and say which field.
@Suite struct OperationInputTests {
    @Test("a key needs a name; the field is named for the form")
    func keyName() {
        let error = #expect(throws: SCIMError.self) { try NewAPIKey(name: "   ", scopes: [.scim], expiresAt: nil) }
        #expect(error?.field == "name" && error?.status == 400)
        #expect(throws: SCIMError.self) { try NewAPIKey(name: String(repeating: "k", count: 201), scopes: [.scim], expiresAt: nil) }
        #expect((try? NewAPIKey(name: "  Entra  ", scopes: [.scim], expiresAt: "")).map(\.name) == "Entra")
    }

    @Test("scopes are scim and admin only, at least one, each once")
    func scopes() throws {
        #expect(try NewAPIKey.scopes(["scim", "admin", "scim"]) == [.scim, .admin])
        #expect(throws: SCIMError.self) { try NewAPIKey.scopes(["root"]) }
        #expect(throws: SCIMError.self) { try NewAPIKey(name: "k", scopes: [], expiresAt: nil) }
    }

    @Test("an expiry must look like a timestamp; an empty one means none")
    func expiry() throws {
        #expect(try NewAPIKey(name: "k", scopes: [.scim], expiresAt: "2027-01-31").expiresAt == "2027-01-31")
        #expect(try NewAPIKey(name: "k", scopes: [.scim], expiresAt: "").expiresAt == nil)
        let error = #expect(throws: SCIMError.self) { try NewAPIKey(name: "k", scopes: [.scim], expiresAt: "tomorrow") }
        #expect(error?.field == "expiresAt")
    }

    @Test("activity filters: status codes or classes, paging bounds")
    func activityFilter() throws {
        #expect(try ActivityFilter(since: nil, until: nil, status: "4xx", resourceType: nil, text: nil).statusRange == (400, 499))
        #expect(try ActivityFilter(since: nil, until: nil, status: "409", resourceType: nil, text: nil).statusRange == (409, 409))
        #expect(throws: SCIMError.self) { try ActivityFilter(since: nil, until: nil, status: "bad", resourceType: nil, text: nil) }
        #expect(throws: SCIMError.self) { try ActivityFilter(since: "yesterday", until: nil, status: nil, resourceType: nil, text: nil) }
        #expect(throws: SCIMError.self) { try ActivityFilter.paging(startIndex: 0, count: 10) }
        #expect(throws: SCIMError.self) { try ActivityFilter.paging(startIndex: 1, count: 501) }
    }

    @Test("console invites need an e-mail address")
    func invite() throws {
        #expect(try ConsoleInvite(email: " ann@example.com ", tokenHash: []).email == "ann@example.com")
        for bad in ["", "ann", "ann@", "@example.com", "a b@example.com", "ann@localhost"] {
            let error = #expect(throws: SCIMError.self) { try ConsoleInvite(email: bad, tokenHash: []) }
            #expect(error?.field == "email", "\(bad)")
        }
    }

    @Test("the unmapped-department policy has two values")
    func policy() throws {
        #expect(try SettingsChange.unmappedDepartment("create") == .create)
        #expect(throws: SCIMError.self) { try SettingsChange.unmappedDepartment("ignore") }
    }
}
