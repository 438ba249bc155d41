import ArgumentParser
import SCIMAdmin
import SCIMCore
import SCIMPostgres

struct TenantCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tenant", abstract: "Create, list and show tenants.",
                                                    subcommands: [Create.self, List.self, Show.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a tenant (SCIM starts disabled unless --enable-scim).")
        @OptionGroup var options: GlobalOptions
        @Argument(help: "URL slug: lower-case letters, digits and dashes.") var slug: String
        @Option(help: "Display name (default: the slug).") var name: String?
        @Flag(help: "Turn Enable SCIM on right away.") var enableScim = false

        func run() throws {
            let tenant = try options.administer { admin throws(TenantAdministration.Failure) in
                try admin.createTenant(slug: slug, name: name ?? slug, scimEnabled: enableScim)
            }
            print("Created tenant \(tenant.slug) (\(tenant.name)), SCIM \(tenant.scimEnabled ? "enabled" : "disabled").")
            print("SCIM_URL=\(try options.endpoint(tenant.slug))")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tenants.")
        @OptionGroup var options: GlobalOptions
        @Flag(help: "Print a JSON array instead of a table.") var json = false

        func run() throws {
            let tenants = try options.administer { admin throws(TenantAdministration.Failure) in try admin.tenants() }
            if json {
                printJSON(.array(try tenants.map { tenant in
                    .object(JSONObject([("slug", .string(tenant.slug)), ("name", .string(tenant.name)),
                                        ("scimEnabled", .bool(tenant.scimEnabled)), ("createdAt", .string(tenant.createdAt)),
                                        ("endpointUrl", .string(try options.endpoint(tenant.slug)))]))
                }))
                return
            }
            if tenants.isEmpty { print("No tenants yet: scimctl tenant create SLUG"); return }
            print("SLUG".padding(toLength: 24, withPad: " ", startingAt: 0) + "SCIM      NAME")
            for tenant in tenants {
                print(tenant.slug.padding(toLength: 24, withPad: " ", startingAt: 0)
                      + (tenant.scimEnabled ? "enabled   " : "disabled  ") + tenant.name)
            }
        }
    }

    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a tenant and its SCIM endpoint URL.")
        @OptionGroup var options: GlobalOptions
        @Argument var slug: String

        func run() throws {
            let tenant = try options.administer { admin throws(TenantAdministration.Failure) in try admin.tenant(slug: slug) }
            print("Tenant:       \(tenant.slug) (\(tenant.name))")
            print("Enable SCIM:  \(tenant.scimEnabled ? "on" : "off")")
            print("Created:      \(tenant.createdAt)")
            print("Endpoint URL: \(try options.endpoint(tenant.slug))")
            print("SCIM_URL=\(try options.endpoint(tenant.slug))")
        }
    }
}

struct SCIMSwitch: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "scim", abstract: "Turn Enable SCIM on or off for a tenant.",
                                                    subcommands: [Enable.self, Disable.self])

    struct Enable: ParsableCommand {
        @OptionGroup var options: GlobalOptions
        @Argument var tenant: String
        func run() throws { try SCIMSwitch.set(options, tenant, true) }
    }

    struct Disable: ParsableCommand {
        @OptionGroup var options: GlobalOptions
        @Argument var tenant: String
        func run() throws { try SCIMSwitch.set(options, tenant, false) }
    }

    static func set(_ options: GlobalOptions, _ slug: String, _ enabled: Bool) throws {
        let endpointBase = try options.endpointBase
        let settings = try options.administer(slug) { (admin) throws(SCIMError) in
            try admin.updateSettings(SettingsChange(scimEnabled: enabled), endpointBase: endpointBase)
        }
        print("SCIM is now \(settings["scimEnabled"]?.boolValue == true ? "enabled" : "disabled") for \(slug).")
    }
}
