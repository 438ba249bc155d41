import Foundation
import SCIMAdmin
import SCIMCore

/// What every signed-in page shows around its content: the tenant, the person, the navigation
/// (the guide's Administration > SCIM and Data Access > API Keys, and the rest), sign-out.
struct Layout {
    struct NavItem {
        let label: String
        let href: String
        let current: Bool
    }

    let title: String
    let tenant: String
    let userEmail: String
    let csrf: String
    let nav: [NavItem]
    let signedIn: Bool

    static let sections: [(label: String, path: String)] = [
        ("SCIM", "scim"), ("API Keys", "keys"), ("Mappings", "mappings"), ("Users and groups", "directory"),
        ("Errors", "errors"), ("Logs", "logs"), ("Audit", "audit"), ("Console users", "people"),
    ]

    init(title: String, section: String, user: ConsoleUser) {
        self.title = title
        self.tenant = user.tenantSlug
        self.userEmail = user.email
        self.csrf = user.csrfToken
        self.signedIn = true
        self.nav = Self.sections.map { NavItem(label: $0.label, href: "/console/\(user.tenantSlug)/\($0.path)", current: $0.path == section) }
    }

    /// Sign-in and invite pages: no navigation.
    init(signedOutTitle title: String, tenant: String) {
        self.title = title
        self.tenant = tenant
        self.userEmail = ""
        self.csrf = ""
        self.signedIn = false
        self.nav = []
    }
}

/// One choice of a select list or a set of checkboxes.
struct Option {
    let value: String
    let label: String
    let selected: Bool
}

extension JSONObject {
    /// The objects of an admin-layer listing (`{"items": [...]}`).
    var listItems: [JSONObject] { (self["items"]?.arrayValue ?? []).compactMap(\.objectValue) }
}

/// How the console shows values.
enum ConsoleFormat {
    /// `2026-11-29T21:40:12.123+00:00` or `2026-11-29 21:40:12+00` as `2026-11-29 21:40 UTC`.
    static func time(_ text: String?) -> String {
        guard let text, text.count >= 16 else { return text ?? "" }
        let minute = String(text.prefix(16)).replacingOccurrences(of: "T", with: " ")
        let rest = text.dropFirst(16).drop { $0 == ":" || $0.isNumber || $0 == "." }
        return rest.isEmpty || rest.hasPrefix("+00") || rest.hasPrefix("Z") ? minute + " UTC" : minute + " (UTC" + rest + ")"
    }

    /// `1 request`, `2 requests`: nouns whose plural takes an s.
    static func count(_ number: Int, _ noun: String) -> String {
        "\(number) \(noun)\(number == 1 ? "" : "s")"
    }
}
