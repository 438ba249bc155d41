import ArgumentParser
import Foundation
import SCIMPostgres
import SCIMSettings

/// `scimctl doctor`: checks a deployment from end to end and says what is wrong, one line a check.
struct Doctor: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Check the deployment: settings, database, migrations, roles and grants, row-level security, log partitions, socket, nginx.",
        discussion: "Prints one line a check (ok, FAIL or warn) and exits 1 when any check fails.")

    @OptionGroup var options: GlobalOptions

    @Option(help: "Folder of migration files (default: deploy/sql of this project, or the installed package's).")
    var dir: String?

    @Option(help: "The responder's FastCGI socket (default: SCIM_LISTEN when it is a path, else /run/scim/scim.sock).")
    var socket: String?

    @Option(help: "Where nginx serves the responder (default: SCIM_PUBLIC_URL); its /readyz is asked.")
    var url: String?

    @Flag(help: "Skip the nginx check (no nginx in front of this responder yet).")
    var skipNginx = false

    enum Outcome: String { case ok = "ok  ", fail = "FAIL", warn = "warn" }

    final class Report {
        var failures = 0
        var checks = 0
        func line(_ outcome: Outcome, _ name: String, _ text: String) {
            checks += 1
            if outcome == .fail { failures += 1 }
            print("\(outcome.rawValue)  \(name.padding(toLength: 20, withPad: " ", startingAt: 0)) \(text)")
        }
    }

    func run() throws {
        let report = Report()
        let settings: Settings
        do {
            settings = try options.settings()
            let file = settings.values.values.map(\.origin).first { $0.contains(":") && !$0.hasPrefix("--") }?.split(separator: ":").first
            report.line(.ok, "settings", file.map { "read \($0), and the environment" } ?? "the environment only (no settings file)")
        } catch {
            report.line(.fail, "settings", "\(error)")
            throw ExitCode.failure
        }

        let owner = checkDatabase(report, settings)
        if let owner {
            checkMigrations(report, owner)
            checkRowLevelSecurity(report, owner)
            checkGrants(report, owner)
            checkLogPartitions(report, owner)
        }
        checkResponderRole(report, settings)
        checkSocket(report, settings)
        if !skipNginx { checkNginx(report, settings) }

        print(report.failures == 0 ? "doctor: all \(report.checks) checks passed"
                                   : "doctor: \(report.failures) of \(report.checks) checks failed")
        if report.failures > 0 { throw ExitCode.failure }
    }

    func checkDatabase(_ report: Report, _ settings: Settings) -> PostgresConnection? {
        guard let url = DatabaseLocation.resolve(environment: settings.environment, admin: true) else {
            report.line(.fail, "database", DatabaseLocation.missingMessage)
            return nil
        }
        let connection = PostgresConnection(conninfo: url, usePreparedStatements: false)
        do {
            try connection.connect()
            let version = try connection.execute("select current_setting('server_version') as v, current_user as u")
            report.line(.ok, "database", "PostgreSQL \(version[0, "v"] ?? "?") reached as \(version[0, "u"] ?? "?") (\(DatabaseLocation.redacted(url)))")
            return connection
        } catch {
            report.line(.fail, "database", "cannot connect as the owner (\(DatabaseLocation.redacted(url))): \(error)")
            return nil
        }
    }

    func checkMigrations(_ report: Report, _ owner: PostgresConnection) {
        do {
            let migrations = try Migrate.load(from: dir)
            let (missing, changed) = try Migrator(connection: owner, logger: .init(label: "doctor")).unapplied(migrations)
            if !changed.isEmpty {
                report.line(.fail, "migrations", "changed since applied: \(changed.joined(separator: ", ")) (migrations are append-only)")
            } else if !missing.isEmpty {
                report.line(.fail, "migrations", "\(missing.count) not applied: \(missing.prefix(3).joined(separator: ", ")); run scimctl migrate")
            } else {
                report.line(.ok, "migrations", "all \(migrations.count) applied")
            }
        } catch {
            report.line(.fail, "migrations", "\(error)")
        }
    }

    func checkRowLevelSecurity(_ report: Report, _ owner: PostgresConnection) {
        do {
            let unprotected = try RowLevelSecurityCheck.tablesWithoutRowLevelSecurity(owner)
            if unprotected.isEmpty {
                report.line(.ok, "row-level security", "on (\(RowLevelSecurityCheck.protectedTables.count) tables)")
            } else {
                report.line(.fail, "row-level security", "OFF on \(unprotected.joined(separator: ", ")); a superuser must run migration 20261129001900")
            }
        } catch {
            report.line(.fail, "row-level security", "\(error)")
        }
    }

    /// What the responder's group role must be allowed, a sample of each kind of right it needs.
    static let requiredRights: [(object: String, kind: String, privilege: String)] = [
        ("scim.tenants", "table", "select"), ("scim.api_keys", "table", "select"),
        ("scim.users", "table", "select, insert, update, delete"), ("scim.groups", "table", "select, insert, update, delete"),
        ("scim.group_members", "table", "select, insert, delete"), ("app.users", "table", "select, insert, update"),
        ("scim.record_request(text, text, text, text, text, text, text, text, integer, text, text, numeric, jsonb, text, text, boolean)",
         "function", "execute"),
        ("scim.maintain_provisioning_log()", "function", "execute"),
    ]

    func checkGrants(_ report: Report, _ owner: PostgresConnection) {
        do {
            let role = try owner.execute("select count(*) as n from pg_roles where rolname = 'scim_responder'")
            guard role.int(0, "n") == 1 else {
                report.line(.fail, "grants", "the group role scim_responder does not exist; run scimctl migrate")
                return
            }
            var missing: [String] = []
            for right in Self.requiredRights {
                for privilege in right.privilege.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
                    let check: SQL = right.kind == "table"
                        ? "select has_table_privilege('scim_responder', \(right.object), \(privilege)) as granted"
                        : "select has_function_privilege('scim_responder', \(right.object), \(privilege)) as granted"
                    if try owner.execute(check).bool(0, "granted") != true { missing.append("\(privilege) on \(right.object.prefix(40))") }
                }
            }
            let members = try owner.execute("""
                select string_agg(m.rolname, ', ' order by m.rolname) as names from pg_auth_members a
                join pg_roles g on g.oid = a.roleid join pg_roles m on m.oid = a.member
                where g.rolname = 'scim_responder' and m.rolcanlogin
                """)[0, "names"]
            if !missing.isEmpty {
                report.line(.fail, "grants", "scim_responder lacks \(missing.joined(separator: "; ")); run scimctl migrate")
            } else if members == nil {
                report.line(.fail, "grants", "no login role is in scim_responder: create role scim login in role scim_responder")
            } else {
                report.line(.ok, "grants", "scim_responder has what the responder needs; login roles in it: \(members ?? "")")
            }
        } catch {
            report.line(.fail, "grants", "\(error)")
        }
    }

    func checkLogPartitions(_ report: Report, _ owner: PostgresConnection) {
        do {
            let rows = try owner.execute("""
                select (select count(*) from generate_series(0, 3) as i
                        where to_regclass('scim.provisioning_log_' || to_char(now() + make_interval(months => i), 'YYYYMM')) is not null) as ahead,
                       (select round(extract(epoch from now() - last_run_at) / 60)::int from scim.log_retention) as minutes,
                       (select retention_days from scim.log_retention) as days
                """)
            let ahead = rows.int(0, "ahead") ?? 0
            let minutes = rows.int(0, "minutes")
            if ahead < 2 {
                report.line(.fail, "log partitions", "only \(ahead) of this month and the next three have partitions; is the responder running?")
            } else if minutes.map({ $0 > 180 }) ?? true {
                report.line(.warn, "log partitions", "\(ahead) months ahead, but the last maintenance was \(minutes.map { "\($0) minutes ago" } ?? "never"); is the responder running?")
            } else {
                report.line(.ok, "log partitions", "this month and \(ahead - 1) ahead; maintained \(minutes ?? 0) minutes ago; retention \(rows.int(0, "days") ?? 0) days")
            }
        } catch {
            report.line(.fail, "log partitions", "\(error)")
        }
    }

    func checkResponderRole(_ report: Report, _ settings: Settings) {
        guard let url = DatabaseLocation.resolve(environment: settings.environment) else {
            report.line(.fail, "responder role", "no DATABASE_URL for the responder")
            return
        }
        let connection = PostgresConnection(conninfo: url, usePreparedStatements: false)
        do {
            try connection.connect()
            let user = try connection.execute("select current_user as u")[0, "u"] ?? "?"
            if let problem = try RowLevelSecurityCheck.problem(connection) {
                report.line(.fail, "responder role", "\(user): \(problem)")
            } else {
                report.line(.ok, "responder role", "\(user) is confined by row-level security (\(DatabaseLocation.redacted(url)))")
            }
        } catch {
            report.line(.fail, "responder role", "cannot connect as the responder (\(DatabaseLocation.redacted(url))): \(error)")
        }
    }

    func checkSocket(_ report: Report, _ settings: Settings) {
        let listen = settings.text("SCIM_LISTEN")
        let path = socket ?? (listen?.hasPrefix("/") == true ? listen! : "/run/scim/scim.sock")
        do {
            let status = try FastCGIProbe.status(socketPath: path, path: "/readyz")
            report.line(status == 200 ? .ok : .fail, "responder socket", "\(path): /readyz answered \(status)"
                        + (status == 200 ? "" : " (the responder cannot reach the database, or refuses to serve: see its log)"))
        } catch {
            report.line(.fail, "responder socket", "\(path): \(error); is scim-fcgi (or scim-fcgi.socket) running?")
        }
    }

    func checkNginx(_ report: Report, _ settings: Settings) {
        guard let base = url ?? (try? settings.origin("SCIM_PUBLIC_URL")) ?? nil else {
            report.line(.warn, "nginx", "no SCIM_PUBLIC_URL or --url to ask")
            return
        }
        let target = (base.hasSuffix("/") ? String(base.dropLast()) : base) + "/readyz"
        // popen rather than Foundation's Process, whose wait can miss a child's exit on Linux.
        let quoted = "'" + target.replacingOccurrences(of: "'", with: "'\\''") + "'"
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/curl"), let pipe = popen("/usr/bin/curl -sS -o /dev/null -w '%{http_code}' --max-time 10 \(quoted) 2>/dev/null", "r") else {
            report.line(.warn, "nginx", "curl is not installed; cannot ask \(target)")
            return
        }
        var buffer = [CChar](repeating: 0, count: 16)
        let code = fgets(&buffer, Int32(buffer.count), pipe) != nil ? String(cString: buffer) : ""
        pclose(pipe)
        report.line(code == "200" ? .ok : .fail, "nginx", "\(target) answered \(code == "000" || code.isEmpty ? "nothing (cannot connect, or TLS failed)" : code)")
    }
}
