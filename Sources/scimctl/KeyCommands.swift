import ArgumentParser
import SCIMAdmin
import SCIMCore
import SCIMPostgres

struct KeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "key", abstract: "Create, list and revoke API keys.",
                                                    subcommands: [Create.self, List.self, Revoke.self])

    enum Scope: String, ExpressibleByArgument, CaseIterable { case scim, admin }

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key; its secret is printed once and never stored.")
        @OptionGroup var options: GlobalOptions
        @Argument var tenant: String
        @Option(help: "A name to recognise the key by (e.g. \"Entra ID provisioning\").") var name: String
        @Option(help: "scim (provision) or admin; repeat for both.") var scope: [Scope] = [.scim]
        @Option(help: "Expiry, an ISO 8601 timestamp (optional).") var expires: String?

        func run() throws {
            let key = try options.administer(tenant) { (admin) throws(SCIMError) in
                try admin.createKey(try NewAPIKey(name: name, scopes: scope.map { APIKeyScope(rawValue: $0.rawValue)! }, expiresAt: expires))
            }
            let scopes = key["scopes"]?.arrayValue?.compactMap(\.stringValue).joined(separator: ",") ?? ""
            print("Created key \(key["prefix"]?.stringValue ?? "") (\(key["name"]?.stringValue ?? "")) with scope \(scopes) for \(tenant).")
            print("Copy the token now: it is not stored and cannot be shown again.")
            print("SCIM_TOKEN=\(key["token"]?.stringValue ?? "")")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a tenant's keys (never their secrets).")
        @OptionGroup var options: GlobalOptions
        @Argument var tenant: String

        @Flag(help: "Print a JSON array instead of a table.") var json = false

        func run() throws {
            let keys = try options.administer(tenant) { (admin) throws(SCIMError) in try admin.keys() }["items"]?.arrayValue ?? []
            if json { printJSON(.array(keys)); return }
            if keys.isEmpty { print("No keys: scimctl key create \(tenant) --name NAME --scope scim"); return }
            print("PREFIX      SCOPES      STATUS    CREATED                           LAST USED                         NAME")
            for case .object(let key) in keys {
                func text(_ name: String) -> String? { key[name]?.stringValue }
                func column(_ value: String, _ width: Int) -> String { value.padding(toLength: width, withPad: " ", startingAt: 0) }
                let scopes: String = key["scopes"]?.arrayValue?.compactMap(\.stringValue).joined(separator: ",") ?? ""
                let status: String = text("revokedAt") != nil ? "revoked" : (text("expiresAt").map { "expires \($0)" } ?? "active")
                var line = column(text("prefix") ?? "", 12) + column(scopes, 12) + column(status, 10)
                line += column(text("createdAt") ?? "", 34) + column(text("lastUsedAt") ?? "never", 34) + (text("name") ?? "")
                print(line)
            }
        }
    }

    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key by its prefix; it is refused from the next request on.")
        @OptionGroup var options: GlobalOptions
        @Argument var tenant: String
        @Argument(help: "The key's prefix (as key list shows) or id.") var key: String

        func run() throws {
            let revoked = try options.administer(tenant) { (admin) throws(SCIMError) in try admin.revokeKey(key) }
            print("Revoked key \(revoked["prefix"]?.stringValue ?? "") (\(revoked["name"]?.stringValue ?? "")) of \(tenant).")
        }
    }
}
