import ArgumentParser
import SCIMAdmin
import SCIMCore
import SCIMPostgres

struct LogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "log", abstract: "Read and purge the provisioning log.",
                                                    subcommands: [List.self, Retention.self, Purge.self])

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

    struct Retention: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show or set how long the log keeps rows.",
            discussion: "The responder keeps the log by itself: about once an hour it makes monthly partitions ahead and drops "
                + "months wholly older than the retention, so a row is kept at least that many days and at most a month longer.")
        @OptionGroup var options: GlobalOptions
        @Option(help: "Keep this many days (1 to 3650).") var days: Int?

        func run() throws {
            if let days {
                try options.administer { admin throws(TenantAdministration.Failure) in try admin.setLogRetention(days: days) }
                print("The log keeps \(days) days; the responder applies it within the hour.")
            }
            let retention = try options.administer { admin throws(TenantAdministration.Failure) in try admin.logRetention() }
            print("Retention:     \(retention.days) days (whole months are dropped once wholly older)")
            print("Ahead:         \(retention.monthsAhead) months of partitions")
            print("Last run:      \(retention.lastRunAt.map { "\($0), \(retention.lastRunDropped ?? 0) partition(s) dropped" } ?? "not yet")")
            print("Partitions:    \(retention.partitions.joined(separator: " "))")
        }
    }

    struct Purge: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete log rows older than the retention; drops whole months.")
        @OptionGroup var options: GlobalOptions
        @Option(help: "Keep this many days.") var olderThanDays = 90

        func run() throws {
            let dropped = try options.administer { admin throws(TenantAdministration.Failure) in try admin.purgeLog(olderThanDays: olderThanDays) }
            print("Purged log rows older than \(olderThanDays) days (\(dropped) monthly partition(s) dropped).")
        }
    }
}
