import ArgumentParser
import Foundation
import Logging
import SCIMAdmin
import SCIMCore
import SCIMPostgres

/// The administrator's command line: schema migrations, tenants, the Enable SCIM switch, API keys.
struct SCIMControl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scimctl",
        abstract: "Administer the SCIM provisioning server.",
        version: SCIMControl.version,
        subcommands: [Migrate.self, TenantCommand.self, SCIMSwitch.self, KeyCommand.self, ExtensionCommand.self, LogCommand.self,
                      AdminCommand.self, ReapplyCommand.self, ConsoleCommand.self])
}

extension SCIMControl {
    /// The release, and the protocol it serves.
    static let version = "0.3.0 (SCIM 2.0, RFC 7643/7644)"
}

struct GlobalOptions: ParsableArguments {
    @Option(help: "PostgreSQL connection URL of the schema owner [SCIM_ADMIN_DATABASE_URL, else DATABASE_URL]; defaults to the quickstart's local cluster.")
    var databaseURL: String?

    @Option(help: "Public origin of the SCIM endpoint, e.g. https://scim.example.com [SCIM_PUBLIC_URL]; the quickstart records its own.")
    var publicURL: String?

    func connection() throws -> PostgresConnection {
        var environment = ProcessInfo.processInfo.environment
        if let databaseURL { environment["SCIM_ADMIN_DATABASE_URL"] = databaseURL }
        guard let url = DatabaseLocation.resolve(environment: environment, admin: true) else {
            throw ValidationError(DatabaseLocation.missingMessage)
        }
        let connection = PostgresConnection(conninfo: url, usePreparedStatements: false)
        do {
            try connection.connect()
        } catch {
            FileHandle.standardError.write(Data("error: cannot connect to the database: \(error)\n".utf8))
            throw ExitCode.failure
        }
        return connection
    }

    func administration() throws -> TenantAdministration {
        TenantAdministration(connection: try connection())
    }

    var origin: String {
        let configured = publicURL ?? ProcessInfo.processInfo.environment["SCIM_PUBLIC_URL"]
            ?? DatabaseLocation.localFile(".local/public_url") ?? "https://localhost"
        return configured.hasSuffix("/") ? String(configured.dropLast()) : configured
    }

    func endpoint(_ slug: String) -> String { "\(origin)/scim/v2/\(slug)" }
}

/// Prints one JSON document (for scripts: `--json` on list commands).
func printJSON(_ value: JSONValue) {
    print(value.serialized())
}

/// Runs `body`, turning the library's failures into a message and exit status 1.
func perform<T>(_ body: () throws(TenantAdministration.Failure) -> T) throws -> T {
    do {
        return try body()
    } catch {
        FileHandle.standardError.write(Data("error: \(error.description)\n".utf8))
        throw ExitCode.failure
    }
}

struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply the SQL migrations of deploy/sql that are not applied yet.")

    @OptionGroup var options: GlobalOptions

    @Option(help: "Folder of migration files (default: deploy/sql of this project).")
    var dir: String?

    @Flag(help: "Succeed even when row-level security could not be switched on (the migrations were not run by a superuser).")
    var allowWithoutRowLevelSecurity = false

    func run() throws {
        guard let folder = dir ?? Self.findMigrationsFolder() else {
            throw ValidationError("Cannot find deploy/sql; pass --dir.")
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".sql") }.sorted()
        var migrations: [Migrator.Migration] = []
        for name in names {
            let sql = try String(contentsOfFile: "\(folder)/\(name)", encoding: .utf8)
            guard let migration = Migrator.Migration(fileName: name, sql: sql) else {
                throw ValidationError("\(name) is not named YYYYMMDDHHMMSS_verb_object.sql")
            }
            migrations.append(migration)
        }
        var logger = Logger(label: "scimctl")
        logger.logLevel = .warning
        do {
            let connection = try options.connection()
            let applied = try Migrator(connection: connection, logger: logger).migrate(migrations)
            print(applied.isEmpty ? "Database schema is up to date (\(migrations.count) migrations)."
                                  : "Applied \(applied.count) migration(s): \(applied.joined(separator: ", ")).")
            // Never silently off: the tenant isolation of the responder's role depends on it.
            let unprotected = try RowLevelSecurityCheck.tablesWithoutRowLevelSecurity(connection)
            if unprotected.isEmpty {
                print("Row-level security: on (\(RowLevelSecurityCheck.protectedTables.count) tables).")
            } else {
                let message = "row-level security is OFF on \(unprotected.joined(separator: ", ")): migration 20261129001900 "
                    + "needs a superuser to mark four functions LEAKPROOF (see the README, \"For DBAs\"); "
                    + "the responder refuses to serve until it is on."
                FileHandle.standardError.write(Data("\(allowWithoutRowLevelSecurity ? "warning" : "error"): \(message)\n".utf8))
                if !allowWithoutRowLevelSecurity { throw ExitCode.failure }
            }
        } catch let error as PostgresError {
            FileHandle.standardError.write(Data("error: migration failed: \(error)\n".utf8))
            throw ExitCode.failure
        } catch let error as Migrator.ChangedMigration {
            FileHandle.standardError.write(Data("error: \(error)\n".utf8))
            throw ExitCode.failure
        }
    }

    static func findMigrationsFolder() -> String? {
        DatabaseLocation.firstUpward { directory in
            var isDirectory: ObjCBool = false
            let candidate = directory + "/deploy/sql"
            return FileManager.default.fileExists(atPath: candidate, isDirectory: &isDirectory) && isDirectory.boolValue ? candidate : nil
        }
    }
}

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
            let admin = try options.administration()
            let tenant = try perform { () throws(TenantAdministration.Failure) in
                try admin.createTenant(slug: slug, name: name ?? slug, scimEnabled: enableScim)
            }
            print("Created tenant \(tenant.slug) (\(tenant.name)), SCIM \(tenant.scimEnabled ? "enabled" : "disabled").")
            print("SCIM_URL=\(options.endpoint(tenant.slug))")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tenants.")
        @OptionGroup var options: GlobalOptions
        @Flag(help: "Print a JSON array instead of a table.") var json = false

        func run() throws {
            let admin = try options.administration()
            let tenants = try perform { () throws(TenantAdministration.Failure) in try admin.tenants() }
            if json {
                printJSON(.array(tenants.map { tenant in
                    .object(JSONObject([("slug", .string(tenant.slug)), ("name", .string(tenant.name)),
                                        ("scimEnabled", .bool(tenant.scimEnabled)), ("createdAt", .string(tenant.createdAt)),
                                        ("endpointUrl", .string(options.endpoint(tenant.slug)))]))
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
            let admin = try options.administration()
            let tenant = try perform { () throws(TenantAdministration.Failure) in try admin.tenant(slug: slug) }
            print("Tenant:       \(tenant.slug) (\(tenant.name))")
            print("Enable SCIM:  \(tenant.scimEnabled ? "on" : "off")")
            print("Created:      \(tenant.createdAt)")
            print("Endpoint URL: \(options.endpoint(tenant.slug))")
            print("SCIM_URL=\(options.endpoint(tenant.slug))")
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
        let settings = try options.administer(slug) { (admin) throws(SCIMError) in
            try admin.updateSettings(SettingsChange(scimEnabled: enabled), endpointBase: options.endpointBase)
        }
        print("SCIM is now \(settings["scimEnabled"]?.boolValue == true ? "enabled" : "disabled") for \(slug).")
    }
}

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
            let admin = try options.administration()
            let schema = try perform { () throws(TenantAdministration.Failure) in
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
            let admin = try options.administration()
            let extensions = try perform { () throws(TenantAdministration.Failure) in try admin.extensions(tenantSlug: tenant) }
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
            let admin = try options.administration()
            try perform { () throws(TenantAdministration.Failure) in try admin.removeExtension(tenantSlug: tenant, urn: urn) }
            print("Removed \(urn) from \(tenant).")
        }
    }
}

struct LogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "log", abstract: "Read and purge the provisioning log.",
                                                    subcommands: [List.self, Purge.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "A tenant's most recent SCIM requests, newest first.")
        @OptionGroup var options: GlobalOptions
        @Argument var tenant: String
        @Flag(help: "Only failed requests (status 400 and above), with their redacted bodies.") var failures = false
        @Option(help: "How many rows (at most 500).") var limit = 50
        @Flag(help: "Print the admin API's JSON page instead of lines.") var json = false

        func run() throws {
            let filter = try ActivityFilter(since: nil, until: nil, status: failures ? "failed" : nil, resourceType: nil, text: nil,
                                            count: min(max(limit, 1), 500))
            let page = try options.administer(tenant) { (admin) throws(SCIMError) in try admin.log(filter) }
            if json { printJSON(.object(page)); return }
            let rows = (page["items"]?.arrayValue ?? []).compactMap(\.objectValue)
            if rows.isEmpty { print("No requests logged for \(tenant)."); return }
            for row in rows {
                func text(_ name: String) -> String? { row[name].flatMap { $0.stringValue ?? ($0 == .null ? nil : $0.serialized()) } }
                var line = "\(text("time") ?? "")  \(text("status") ?? "")  \(text("method") ?? "") \(text("path") ?? "")  \(text("durationMs") ?? "") ms"
                if let subject = text("subject") { line += "  \(subject)" }
                line += "  key \(text("key") ?? "-")  request \(text("requestId") ?? "")"
                print(line)
                if let detail = text("detail") { print("    \(text("scimType").map { "\($0): " } ?? "")\(detail)") }
                if failures, let body = text("requestBody") { print("    body: \(body)") }
            }
        }
    }

    struct Purge: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete log rows older than the retention; drops whole months.")
        @OptionGroup var options: GlobalOptions
        @Option(help: "Keep this many days.") var olderThanDays = 90

        func run() throws {
            let admin = try options.administration()
            let dropped = try perform { () throws(TenantAdministration.Failure) in try admin.purgeLog(olderThanDays: olderThanDays) }
            print("Purged log rows older than \(olderThanDays) days (\(dropped) monthly partition(s) dropped).")
        }
    }
}

SCIMControl.main()
