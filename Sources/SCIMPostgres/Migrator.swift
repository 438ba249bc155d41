import Crypto
import Logging
import SCIMCore

/// Applies the ordered SQL files of `deploy/sql/` forward-only. Each file runs in its own
/// transaction together with its row in `scim.schema_migrations`; an advisory lock keeps two
/// concurrent `migrate` runs from interleaving. Files are idempotent on their own as well, so a
/// DBA may also run them by hand with psql.
public struct Migrator {
    public struct Migration: Sendable {
        public let version: String
        public let name: String
        public let sql: String

        /// `YYYYMMDDHHMMSS_verb_object.sql` -> version and name.
        public init?(fileName: String, sql: String) {
            guard fileName.hasSuffix(".sql"), let underscore = fileName.firstIndex(of: "_") else { return nil }
            let version = String(fileName[..<underscore])
            guard version.count == 14, version.allSatisfy(\.isNumber) else { return nil }
            self.version = version
            self.name = String(fileName.dropLast(4))
            self.sql = sql
        }

        var checksum: String {
            Hex.encode(SHA256.hash(data: Array(sql.utf8)))
        }
    }

    /// A migration file whose text differs from what was applied: migrations are append-only,
    /// so this is refused rather than run past.
    public struct ChangedMigration: Error, CustomStringConvertible {
        public var name: String
        public var description: String {
            "\(name) has changed since it was applied; migrations are append-only: restore the file and put the change in a new one."
        }
    }

    /// The earlier texts of the two files edited after they had been applied (their additions are
    /// carried forward by 20261129002300): applied with these checksums, they are accepted.
    static let earlierTexts: [String: Set<String>] = [
        "20261129001400": ["27eaff829785e5b077c83fbd4bbcf43985b6ed3cfadaf63a00bd2ccbd2422f2a"],
        "20261129001600": ["d6b12f64ccb82a149cacd33050bad271ed5ccb8dc0269c791795e3128fbe6255"],
    ]

    let connection: PostgresConnection
    let logger: Logger
    static let lockKey = 7_243_001

    public init(connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    /// Migrations not applied yet, and applied ones whose file has changed since (nothing is run).
    public func unapplied(_ migrations: [Migration]) throws(PostgresError) -> (missing: [String], changed: [String]) {
        let exists = try connection.execute("select to_regclass('scim.schema_migrations') is not null as present").bool(0, "present") ?? false
        guard exists else { return (migrations.map(\.name), []) }
        let rows = try connection.execute("select version, checksum from scim.schema_migrations")
        var applied: [String: String] = [:]
        for row in rows.rows { if let v = row[0], let c = row[1] { applied[v] = c } }
        var missing: [String] = []
        var changed: [String] = []
        for migration in migrations.sorted(by: { $0.version < $1.version }) {
            guard let checksum = applied[migration.version] else { missing.append(migration.name); continue }
            if checksum != migration.checksum && Self.earlierTexts[migration.version]?.contains(checksum) != true { changed.append(migration.name) }
        }
        return (missing, changed)
    }

    /// Applies what is missing; returns the versions applied now.
    @discardableResult
    public func migrate(_ migrations: [Migration]) throws -> [String] {
        try connection.executeScript("select pg_advisory_lock(\(Self.lockKey))")
        defer { _ = try? connection.executeScript("select pg_advisory_unlock(\(Self.lockKey))") }
        try connection.executeScript("""
            set client_min_messages = warning;
            create schema if not exists scim;
            create table if not exists scim.schema_migrations (
                version    text        not null,
                name       text        not null,
                checksum   text        not null,
                applied_at timestamptz not null default now(),
                constraint schema_migrations_pkey primary key (version)
            );
            comment on table scim.schema_migrations is 'Which files of deploy/sql have been applied, by scimctl migrate.';
            """)
        let rows = try connection.execute("select version, checksum from scim.schema_migrations")
        var applied: [String: String] = [:]
        for row in rows.rows { if let v = row[0], let c = row[1] { applied[v] = c } }
        var done: [String] = []
        for migration in migrations.sorted(by: { $0.version < $1.version }) {
            if let checksum = applied[migration.version] {
                if checksum != migration.checksum && Self.earlierTexts[migration.version]?.contains(checksum) != true {
                    throw ChangedMigration(name: migration.name)
                }
                continue
            }
            do {
                try connection.executeScript("begin")
                try connection.executeScript(migration.sql)
                try connection.execute("""
                    insert into scim.schema_migrations (version, name, checksum)
                    values (\(migration.version), \(migration.name), \(migration.checksum))
                    """)
                try connection.executeScript("commit")
            } catch {
                _ = try? connection.executeScript("rollback")
                throw PostgresError(kind: error.kind, message: "\(migration.name): \(error.message)", sqlState: error.sqlState,
                                    constraint: error.constraint, detail: error.detail)
            }
            logger.info("applied migration", metadata: ["migration": "\(migration.name)"])
            done.append(migration.version)
        }
        return done
    }
}

