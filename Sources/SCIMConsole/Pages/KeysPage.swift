import SCIMAdmin
import SCIMCore

/// Data Access > API Keys: the tenant's keys, **+ API Key**, revoke and rotate.
struct KeysPage {
    struct Row {
        let id: String
        let name: String
        let prefix: String
        let scope: String
        let created: String
        let lastUsed: String
        let expires: String
        let status: String
        let live: Bool
        /// Expires within 14 days: the page warns so the identity provider's token can be replaced in time.
        let expiresSoon: Bool
        let revokeHref: String
        let rotateAction: String
    }

    /// What the **+ API Key** form holds, and what was wrong with it.
    struct Form {
        var name = ""
        var scopeAdmin = false
        var expires = ""
        var nameError: String?
        var expiresError: String?
        var error: String?
    }

    /// A key just made: its token, shown this once.
    struct CreatedKey {
        let name: String
        let prefix: String
        let token: String
        let scope: String
    }

    let layout: Layout
    let keys: [Row]
    let hasKeys: Bool
    let form: Form
    let created: CreatedKey?
    let createAction: String
    let message: String?

    init(user: ConsoleUser, keys: JSONObject, nowEpoch: Double, form: Form = Form(), created: CreatedKey? = nil, message: String? = nil) {
        layout = Layout(title: "API Keys", section: "keys", user: user)
        self.keys = keys.listItems.map { key in
            func text(_ name: String) -> String? { key[name]?.stringValue }
            let id = text("id") ?? ""
            let revoked = text("revokedAt") != nil
            let expiresEpoch = text("expiresAt").flatMap(KeysPage.epoch)
            let expired = expiresEpoch.map { $0 <= nowEpoch } ?? false
            let status = revoked ? "Revoked" : (expired ? "Expired" : "Active")
            let scopes = key["scopes"]?.arrayValue?.compactMap(\.stringValue) ?? []
            return Row(id: id, name: text("name") ?? "", prefix: "sk_" + (text("prefix") ?? ""),
                       scope: scopes.map { $0 == "scim" ? "SCIM" : "Admin" }.joined(separator: ", "),
                       created: ConsoleFormat.time(text("createdAt")), lastUsed: text("lastUsedAt").map { ConsoleFormat.time($0) } ?? "Never",
                       expires: text("expiresAt").map { ConsoleFormat.time($0) } ?? "Never", status: status,
                       live: !revoked && !expired,
                       expiresSoon: !revoked && !expired && expiresEpoch.map { $0 - nowEpoch < 14 * 86_400 } == true,
                       revokeHref: "/console/\(user.tenantSlug)/keys/\(id)/revoke",
                       rotateAction: "/console/\(user.tenantSlug)/keys/\(id)/rotate")
        }
        hasKeys = !self.keys.isEmpty
        self.form = form
        self.created = created
        createAction = "/console/\(user.tenantSlug)/keys"
        self.message = message
    }

    /// Seconds since 1970 of a PostgreSQL/ISO timestamp (`2026-12-01T10:00:00.123+00:00`).
    static func epoch(_ text: String) -> Double? {
        let digits = text.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        guard digits.count >= 6 else { return nil }
        var (year, month, day) = (digits[0], digits[1], digits[2])
        // Days from civil (Howard Hinnant's algorithm).
        year -= month <= 2 ? 1 : 0
        let era = (year >= 0 ? year : year - 399) / 400
        let yearOfEra = year - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        var seconds = Double(days * 86_400 + digits[3] * 3600 + digits[4] * 60 + digits[5])
        // A trailing +HH:MM / -HH offset.
        if let sign = text.dropFirst(19).firstIndex(where: { $0 == "+" || $0 == "-" }) {
            let offset = text[sign...].split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
            let offsetSeconds = Double((offset.first ?? 0) * 3600 + (offset.count > 1 ? offset[1] * 60 : 0))
            seconds += text[sign] == "+" ? -offsetSeconds : offsetSeconds
        }
        return seconds
    }
}

/// The confirmation before a key is revoked.
struct RevokeKeyPage {
    let layout: Layout
    let name: String
    let prefix: String
    let action: String
    let cancelHref: String
}
