import SCIMCore

/// What an API key may do.
public enum APIKeyScope: String, Sendable, CaseIterable {
    /// Provisions through /scim/v2 (what the identity provider gets).
    case scim
    /// Administers the tenant through /admin/v1.
    case admin
}

/// A key to create: validated here, whichever face asked for it.
public struct NewAPIKey: Sendable, Equatable {
    public let name: String
    public let scopes: [APIKeyScope]
    /// An ISO 8601 timestamp, or nil for a key that does not expire.
    public let expiresAt: String?

    public init(name: String, scopes: [APIKeyScope], expiresAt: String?) throws(SCIMError) {
        let trimmed = String(Substring(name).trimmingSpaces)
        guard !trimmed.isEmpty, trimmed.count <= 200 else {
            throw .invalidField("name", "A key needs \"name\": a non-empty string of at most 200 characters.")
        }
        guard !scopes.isEmpty else {
            throw .invalidField("scopes", "\"scopes\" is a list of \"scim\" (provisioning) and \"admin\" (this API).")
        }
        self.name = trimmed
        self.scopes = scopes
        self.expiresAt = try AdminTimestamp.validated(expiresAt.flatMap { $0.isEmpty ? nil : $0 }, name: "expiresAt")
    }

    /// Scope names as sent ("scim", "admin"); an unknown one is refused.
    public static func scopes(_ names: [String]) throws(SCIMError) -> [APIKeyScope] {
        var scopes: [APIKeyScope] = []
        for name in names {
            guard let scope = APIKeyScope(rawValue: name) else {
                throw .invalidField("scopes", "\"scopes\" is a list of \"scim\" (provisioning) and \"admin\" (this API).")
            }
            if !scopes.contains(scope) { scopes.append(scope) }
        }
        return scopes
    }
}

/// How long a rotated key keeps working beside its successor.
public enum KeyRotation {
    public static let defaultOverlapHours = 24

    /// 0 to 720 hours (30 days); nil means the default.
    public static func overlapHours(_ hours: Int?) throws(SCIMError) -> Int {
        let overlap = hours ?? defaultOverlapHours
        guard (0...720).contains(overlap) else { throw .invalidField("overlapHours", "\"overlapHours\" must be 0 to 720.") }
        return overlap
    }
}

/// Timestamps given by an administrator (since/until, key expiry).
public enum AdminTimestamp {
    /// The value when shaped like a timestamp; PostgreSQL checks it fully, so only the shape is
    /// checked here, and the error names the parameter.
    public static func validated(_ text: String?, name: String) throws(SCIMError) -> String? {
        guard let text else { return nil }
        guard text.count <= 40, text.first?.isNumber == true else {
            throw .invalidField(name, "\(name) must be a timestamp such as 2026-11-29T10:00:00Z.")
        }
        return text
    }
}
