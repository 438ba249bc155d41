import SCIMAdmin
import SCIMCore

/// Errors: open problems grouped by cause, each with what to do, and the list to resolve them.
struct ErrorsPage {
    struct Group {
        let kind: String
        let cause: String
        let resources: Int
        let occurrences: Int
        let suggestion: String
        let examples: String
    }

    struct Row {
        let id: String
        let kind: String
        let cause: String
        let subject: String
        let resourceType: String
        let detail: String
        let suggestion: String
        let occurrences: Int
        /// "once", "3 times".
        let seen: String
        let lastSeen: String
        let resolved: Bool
        let resolvedText: String
        let resolveAction: String
        let logsHref: String
    }

    let layout: Layout
    let groups: [Group]
    let hasGroups: Bool
    let errors: [Row]
    let hasErrors: Bool
    let showingResolved: Bool
    let toggleHref: String
    let toggleLabel: String
    let paging: Paging
    let message: String?

    init(user: ConsoleUser, summary: JSONObject, list: JSONObject, showingResolved: Bool, message: String? = nil) {
        layout = Layout(title: "Errors", section: "errors", user: user)
        groups = summary.listItems.map { group in
            Group(kind: ErrorsPage.kindLabel(group["kind"]?.stringValue), cause: group["cause"]?.stringValue ?? "",
                         resources: group["resources"]?.intValue ?? 0, occurrences: group["occurrences"]?.intValue ?? 0,
                         suggestion: group["suggestion"]?.stringValue ?? "",
                         examples: (group["examples"]?.arrayValue ?? []).compactMap(\.stringValue).joined(separator: ", "))
        }
        hasGroups = !groups.isEmpty
        let tenant = user.tenantSlug
        errors = list.listItems.map { error in
            func text(_ name: String) -> String { error[name]?.stringValue ?? "" }
            let resolvedBy = error["resolvedBy"]?.stringValue
            let occurrences = error["occurrences"]?.intValue ?? 1
            return Row(id: text("id"), kind: ErrorsPage.kindLabel(error["kind"]?.stringValue), cause: text("cause"),
                       subject: text("subject"), resourceType: text("resourceType"), detail: text("detail"),
                       suggestion: text("suggestion"), occurrences: occurrences,
                       seen: occurrences == 1 ? "once" : ConsoleFormat.count(occurrences, "time"),
                       lastSeen: ConsoleFormat.time(text("lastSeenAt")), resolved: resolvedBy != nil,
                       resolvedText: resolvedBy.map { "Resolved \(ConsoleFormat.time(text("resolvedAt"))) by \($0)" } ?? "",
                       resolveAction: "/console/\(tenant)/errors/\(text("id"))/resolve",
                       logsHref: "/console/\(tenant)/logs?text=\(Paging.escaped(text("subject")))")
        }
        hasErrors = !errors.isEmpty
        self.showingResolved = showingResolved
        toggleHref = "/console/\(tenant)/errors" + (showingResolved ? "" : "?resolved=true")
        toggleLabel = showingResolved ? "Show open errors" : "Show resolved errors"
        paging = Paging(list, basePath: "/console/\(tenant)/errors", query: showingResolved ? [("resolved", "true")] : [])
        self.message = message
    }

    static func kindLabel(_ kind: String?) -> String {
        switch kind {
        case "rejected_request": return "Refused request"
        case "unmapped_department": return "Unmapped department"
        case "mapped_group_missing": return "Mapped group missing"
        case "invalid_field_value": return "Invalid field value"
        default: return kind ?? ""
        }
    }
}

/// Logs: every SCIM request of the tenant, filtered and paged; each entry opens to its details.
struct LogsPage {
    struct Entry {
        let time: String
        let method: String
        let path: String
        let status: Int
        let failed: Bool
        let subject: String
        let resourceType: String
        let key: String
        let duration: String
        let requestId: String
        let scimType: String
        let detail: String
        let requestBody: String
        let hasBody: Bool
    }

    struct Filter {
        var since = ""
        var until = ""
        var status = ""
        var resourceType = ""
        var text = ""
        var error: String?
    }

    let layout: Layout
    let filter: Filter
    let statusChoices: [Option]
    let resourceChoices: [Option]
    let entries: [Entry]
    let hasEntries: Bool
    let paging: Paging

    init(user: ConsoleUser, log: JSONObject, filter: Filter) {
        layout = Layout(title: "Logs", section: "logs", user: user)
        self.filter = filter
        statusChoices = [("", "Any status"), ("2xx", "Succeeded (2xx)"), ("4xx", "Refused (4xx)"), ("5xx", "Failed (5xx)")]
            .map { Option(value: $0.0, label: $0.1, selected: $0.0 == filter.status) }
        resourceChoices = [("", "Any resource"), ("User", "Users"), ("Group", "Groups")]
            .map { Option(value: $0.0, label: $0.1, selected: $0.0 == filter.resourceType) }
        entries = log.listItems.map { entry in
            func text(_ name: String) -> String { entry[name]?.stringValue ?? "" }
            let status = entry["status"]?.intValue ?? 0
            let body = entry["requestBody"].flatMap { $0 == .null ? nil : $0.serialized() } ?? ""
            return Entry(time: ConsoleFormat.time(text("time")), method: text("method"), path: text("path"), status: status,
                         failed: status >= 400, subject: text("subject"), resourceType: text("resourceType"), key: text("key"),
                         duration: entry["durationMs"].flatMap { if case .number(let text) = $0 { return text + " ms" } else { return nil } } ?? "",
                         requestId: text("requestId"), scimType: text("scimType"), detail: text("detail"),
                         requestBody: body, hasBody: !body.isEmpty)
        }
        hasEntries = !entries.isEmpty
        var query: [(String, String)] = []
        for (name, value) in [("since", filter.since), ("until", filter.until), ("status", filter.status),
                              ("resourceType", filter.resourceType), ("text", filter.text)] where !value.isEmpty {
            query.append((name, value))
        }
        paging = Paging(log, basePath: "/console/\(user.tenantSlug)/logs", query: query)
    }
}

/// Previous/next links of a listing in the admin layer's page shape.
struct Paging {
    static let pageSize = 50

    let summary: String
    let previousHref: String?
    let nextHref: String?

    init(_ page: JSONObject, basePath: String, query: [(String, String)]) {
        let total = page["totalResults"]?.intValue ?? 0
        let start = page["startIndex"]?.intValue ?? 1
        let shown = page["itemsPerPage"]?.intValue ?? 0
        let atLeast = page["totalResultsIsLowerBound"]?.boolValue == true
        summary = total == 0 ? "Nothing to show" : "\(start)–\(start + shown - 1) of \(atLeast ? "more than " : "")\(total)"
        func link(_ index: Int) -> String {
            let parts = query + [("startIndex", String(index))]
            return basePath + "?" + parts.map { "\($0.0)=\(Paging.escaped($0.1))" }.joined(separator: "&")
        }
        previousHref = start > 1 ? link(max(1, start - Self.pageSize)) : nil
        nextHref = start + shown - 1 < total || (atLeast && shown > 0) ? link(start + Self.pageSize) : nil
    }

    /// Percent-encodes a query value (RFC 3986 unreserved characters stay).
    static func escaped(_ text: String) -> String {
        var out = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                 UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                out.append(Character(UnicodeScalar(byte)))
            default:
                out += "%" + Hex.encode([byte], uppercase: true)
            }
        }
        return out
    }
}

/// Audit: who changed what and when.
struct AuditPage {
    struct Change {
        let time: String
        let who: String
        let what: String
        let action: String
        let before: String
        let after: String
    }

    let layout: Layout
    let changes: [Change]
    let hasChanges: Bool
    let paging: Paging

    init(user: ConsoleUser, changes list: JSONObject) {
        layout = Layout(title: "Audit", section: "audit", user: user)
        changes = list.listItems.map { change in
            func json(_ name: String) -> String { change[name].flatMap { $0 == .null ? nil : $0.serialized() } ?? "" }
            return Change(time: ConsoleFormat.time(change["changedAt"]?.stringValue), who: change["changedBy"]?.stringValue ?? "",
                          what: (change["kind"]?.stringValue ?? "").replacingUnderscoresWithSpaces,
                          action: change["action"]?.stringValue ?? "", before: json("old"), after: json("new"))
        }
        hasChanges = !changes.isEmpty
        paging = Paging(list, basePath: "/console/\(user.tenantSlug)/audit", query: [])
    }
}

/// Console users: who may sign in here, and invites for more.
struct PeoplePage {
    struct Person {
        let id: String
        let email: String
        let state: String
        let lastSignIn: String
        let isYou: Bool
        let removeAction: String
    }

    let layout: Layout
    let people: [Person]
    let inviteAction: String
    let email: String
    let emailError: String?
    let inviteLink: String?
    let message: String?

    init(user: ConsoleUser, users: [ConsoleUserRecord], email: String = "", emailError: String? = nil,
         inviteLink: String? = nil, message: String? = nil) {
        layout = Layout(title: "Console users", section: "people", user: user)
        people = users.map { record in
            Person(id: record.id, email: record.email, state: record.active ? "Active" : "Invited",
                   lastSignIn: record.lastSignedInAt.map { ConsoleFormat.time($0) } ?? "Never", isYou: record.id == user.id,
                   removeAction: "/console/\(user.tenantSlug)/people/\(record.id)/remove")
        }
        inviteAction = "/console/\(user.tenantSlug)/people"
        self.email = email
        self.emailError = emailError
        self.inviteLink = inviteLink
        self.message = message
    }
}

extension String {
    var replacingUnderscoresWithSpaces: String { String(map { $0 == "_" ? " " : $0 }) }
}
