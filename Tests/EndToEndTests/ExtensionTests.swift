import Foundation
import Testing
@testable import SCIMCore

@Suite("Custom extension schemas per tenant", .enabled(if: Stack.available))
struct ExtensionTests {
    static let urn = "urn:ietf:params:scim:schemas:extension:acme:2.0:User"

    @Test("a declared extension is accepted (as Entra sends it), stored, filterable, patchable and advertised")
    func declaredExtension() async throws {
        let tenant = try TestTenant.make()
        let client = tenant.client
        // Before the declaration, its attributes are ignored.
        let before = try await client.post("/Users", #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"early@example.com","\#(Self.urn):costCode":"CC-0"}"#)
        #expect(before.status == 201)
        #expect(before.object?[Self.urn] == nil)

        let output = try Stack.scimctl("extension", "set", tenant.slug, "--urn", Self.urn,
                                       "--attribute", "costCode", "--attribute", "badge:integer", "--attribute", "onCall:boolean")
        #expect(output.contains("costCode"))

        // Entra sends custom attributes as URN-qualified top-level keys, without the URN in schemas[].
        let created = try await client.post("/Users", #"""
            {"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"ext@example.com",
             "\#(Self.urn):costCode":"CC-7","\#(Self.urn)":{"badge":"1234"}}
            """#)
        #expect(created.status == 201, "\(created.text)")
        let ext = try #require(created.object?[Self.urn]?.objectValue)
        #expect(ext["costCode"] == .string("CC-7"))
        #expect(ext["badge"] == .integer(1234))
        #expect(created.object?["schemas"]?.arrayValue?.contains(.string(Self.urn)) == true)
        let id = try #require(created.object?["id"]?.stringValue)

        let found = try await client.filterUsers(#"\#(Self.urn):costCode eq "cc-7""#)
        #expect(found.object?["totalResults"] == .integer(1))
        let byBadge = try await client.filterUsers(#"\#(Self.urn):badge gt 1000"#)
        #expect(byBadge.object?["totalResults"] == .integer(1))

        let patched = try await client.patch("/Users/\(id)", #"""
            {"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
             {"op":"Add","path":"\#(Self.urn):onCall","value":"True"},{"op":"Replace","path":"\#(Self.urn):costCode","value":"CC-8"}]}
            """#)
        #expect(patched.object?[Self.urn]?.objectValue?["onCall"] == .bool(true))
        #expect(patched.object?[Self.urn]?.objectValue?["costCode"] == .string("CC-8"))

        let schema = try await client.get("/Schemas/\(Self.urn)")
        #expect(schema.status == 200)
        #expect(schema.object?["attributes"]?.arrayValue?.count == 3)
        let type = try await client.get("/ResourceTypes/User")
        let extensions = type.object?["schemaExtensions"]?.arrayValue?.compactMap { $0.objectValue?["schema"]?.stringValue } ?? []
        #expect(extensions == [CoreSchemas.enterpriseUserURN, Self.urn])

        // Another tenant does not see it.
        let other = try TestTenant.make()
        expectSCIMError(try await other.client.get("/Schemas/\(Self.urn)"), status: 404)

        _ = try Stack.scimctl("extension", "remove", tenant.slug, Self.urn)
        expectSCIMError(try await client.get("/Schemas/\(Self.urn)"), status: 404)
        #expect(try await client.get("/Users/\(id)").object?[Self.urn] == nil)
    }

    @Test("a broken declaration is refused with a reason")
    func invalidDeclaration() throws {
        let tenant = try TestTenant.make()
        let (_, project) = try Stack.require()
        let scimctl = Stack.environment["SCIM_TEST_SCIMCTL"] ?? "\(project)/.build/release/scimctl"
        let (status, _) = try Stack.run(scimctl, ["extension", "set", tenant.slug, "--urn", Self.urn, "--attribute", "bad name:string"],
                                        expectSuccess: false)
        #expect(status != 0)
        let (core, _) = try Stack.run(scimctl, ["extension", "set", tenant.slug, "--urn", CoreSchemas.enterpriseUserURN, "--attribute", "x"],
                                      expectSuccess: false)
        #expect(core != 0)
    }
}
