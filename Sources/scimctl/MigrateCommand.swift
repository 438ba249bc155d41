import ArgumentParser
import Foundation
import Logging
import SCIMPostgres
import SCIMSettings

struct Migrate: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply the SQL migrations of deploy/sql that are not applied yet.")

    @OptionGroup var options: GlobalOptions

    @Option(help: "Folder of migration files (default: deploy/sql of this project).")
    var dir: String?

    @Flag(help: "Succeed even when row-level security could not be switched on (the migrations were not run by a superuser).")
    var allowWithoutRowLevelSecurity = false

    func run() throws {
        let migrations = try Self.load(from: dir)
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

    /// The migration files of `folder` (or of the folder found as below), in order.
    static func load(from folder: String?) throws -> [Migrator.Migration] {
        guard let folder = folder ?? findMigrationsFolder() else {
            throw ValidationError("Cannot find deploy/sql; pass --dir.")
        }
        let names = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".sql") }.sorted()
        return try names.map { name in
            let sql = try String(contentsOfFile: "\(folder)/\(name)", encoding: .utf8)
            guard let migration = Migrator.Migration(fileName: name, sql: sql) else {
                throw ValidationError("\(name) is not named YYYYMMDDHHMMSS_verb_object.sql")
            }
            return migration
        }
    }

    /// Where the package installs them.
    static let installedMigrationsFolder = "/usr/share/scim-server/sql"

    /// `deploy/sql` of the project folder (found upward from here or from the binary), else the
    /// installed package's folder.
    static func findMigrationsFolder() -> String? {
        func isFolder(_ path: String) -> Bool {
            var isDirectory: ObjCBool = false
            return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
        }
        return DatabaseLocation.firstUpward { directory in isFolder(directory + "/deploy/sql") ? directory + "/deploy/sql" : nil }
            ?? (isFolder(installedMigrationsFolder) ? installedMigrationsFolder : nil)
    }
}
