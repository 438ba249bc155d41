import ArgumentParser
import Foundation
import SCIMCore
import SCIMPostgres
import SCIMSettings

/// The administrator's command line: schema migrations, tenants, the Enable SCIM switch, API keys.
struct SCIMControl: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scimctl",
        abstract: "Administer the SCIM provisioning server.",
        version: SCIMControl.version,
        subcommands: [Migrate.self, TenantCommand.self, SCIMSwitch.self, KeyCommand.self, ExtensionCommand.self, LogCommand.self,
                      AdminCommand.self, ReapplyCommand.self, ConsoleCommand.self, Doctor.self])
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

    @Option(help: "The environment file to read [SCIM_CONFIG_FILE] (default /etc/scim/scim.env when it exists).")
    var config: String?

    /// The environment file, the environment, then the flags; a bad file stops the command.
    func settings() throws -> Settings {
        do {
            var settings = try Settings.load(environment: ProcessInfo.processInfo.environment, file: config)
            settings.set("SCIM_ADMIN_DATABASE_URL", databaseURL, origin: "--database-url")
            settings.set("SCIM_PUBLIC_URL", publicURL, origin: "--public-url")
            return settings
        } catch {
            throw ValidationError(error.description)
        }
    }

    func connection() throws -> PostgresConnection {
        guard let url = DatabaseLocation.resolve(environment: try settings().environment, admin: true) else {
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

    /// Connects and runs one piece of tenant administration, its failure a message and exit status 1.
    func administer<T>(_ body: (TenantAdministration) throws(TenantAdministration.Failure) -> T) throws -> T {
        let admin = TenantAdministration(connection: try connection())
        return try perform { () throws(TenantAdministration.Failure) in try body(admin) }
    }

    var origin: String {
        get throws {
            do {
                return try settings().origin("SCIM_PUBLIC_URL") ?? DatabaseLocation.localFile(".local/public_url") ?? "https://localhost"
            } catch let error as SettingsError {
                throw ValidationError(error.description)
            }
        }
    }

    func endpoint(_ slug: String) throws -> String { "\(try origin)/scim/v2/\(slug)" }
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

SCIMControl.main()
