import ArgumentParser
import Foundation
import SCIMCore
import SCIMPostgres

struct ExtensionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "extension", abstract: "Declare custom SCIM extension schemas (RFC 7643 §3.3) for a tenant.",
        subcommands: [Set.self, List.self, Remove.self])

    enum ResourceType: String, ExpressibleByArgument, CaseIterable { case User, Group }

    struct Set: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Declare or redefine an extension.",
            discussion: """
                Either --file with the schema in its SCIM form ({"id": "urn:...", "attributes": [...]}), or \
                --urn with one --attribute NAME[:TYPE[:multi]] per attribute (TYPE: string, boolean, integer, \
                decimal, dateTime, reference, binary; default string). Example, for Entra's custom attributes:
                  scimctl extension set acme --urn urn:ietf:params:scim:schemas:extension:acme:2.0:User \\
                      --attribute costCode --attribute badge:integer
                """)
        @OptionGroup var options: GlobalOptions
        @Argument var tenant: String
        @Option(help: "User or Group.") var resource: ResourceType = .User
        @Option(help: "A JSON file with the schema in its SCIM representation.") var file: String?
        @Option(help: "The extension's URN.") var urn: String?
        @Option(help: "A display name for the schema.") var name: String?
        @Option(help: "NAME[:TYPE[:multi]], repeated.") var attribute: [String] = []

        func validate() throws {
            if (file == nil) == (urn == nil) { throw ValidationError("Give either --file or --urn with --attribute.") }
            if urn != nil && attribute.isEmpty { throw ValidationError("--urn needs at least one --attribute.") }
        }

        func run() throws {
            let definition: JSONObject
            if let file {
                let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: file)))
                guard case .object(let object) = try JSONParser.parse(bytes) else {
                    throw ValidationError("\(file) must hold a JSON object.")
                }
                definition = object
            } else {
                definition = JSONObject([
                    ("id", .string(urn ?? "")), ("name", .string(name ?? "")),
                    ("attributes", .array(attribute.map { spec in
                        let parts = spec.split(separator: ":").map(String.init)
                        return .object(JSONObject([
                            ("name", .string(parts.first ?? "")), ("type", .string(parts.count > 1 ? parts[1] : "string")),
                            ("multiValued", .bool(parts.count > 2 && parts[2] == "multi")),
                        ]))
                    })),
                ])
            }
            let schema = try options.administer { admin throws(TenantAdministration.Failure) in
                try admin.setExtension(tenantSlug: tenant, resourceType: resource.rawValue, definition: definition)
            }
            print("Extension \(schema.id) for \(resource.rawValue) of \(tenant): \(schema.attributes.map { "\($0.name) (\($0.type.rawValue)\($0.multiValued ? ", multi-valued" : ""))" }.joined(separator: ", ")).")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a tenant's extensions.")
        @OptionGroup var options: GlobalOptions
        @Argument var tenant: String

        func run() throws {
            let extensions = try options.administer { admin throws(TenantAdministration.Failure) in try admin.extensions(tenantSlug: tenant) }
            if extensions.isEmpty { print("No extensions: see scimctl extension set --help"); return }
            for (type, schema) in extensions {
                print("\(type)  \(schema.id)  \(schema.attributes.map(\.name).joined(separator: ", "))")
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove an extension declaration.")
        @OptionGroup var options: GlobalOptions
        @Argument var tenant: String
        @Argument var urn: String

        func run() throws {
            try options.administer { admin throws(TenantAdministration.Failure) in try admin.removeExtension(tenantSlug: tenant, urn: urn) }
            print("Removed \(urn) from \(tenant).")
        }
    }
}
