import SCIMCore

/// A console user of a tenant, as administrators list them.
public struct ConsoleUserRecord: Sendable, Equatable {
    public var id: String
    public var email: String
    /// False until the invite is accepted and a password chosen.
    public var active: Bool
    public var createdAt: String
    public var createdBy: String
    public var lastSignedInAt: String?

    public init(id: String, email: String, active: Bool, createdAt: String, createdBy: String, lastSignedInAt: String?) {
        self.id = id
        self.email = email
        self.active = active
        self.createdAt = createdAt
        self.createdBy = createdBy
        self.lastSignedInAt = lastSignedInAt
    }
}

/// An invite to record: the link's secret is made by the caller (`SecretToken`) and only its
/// hash reaches the store.
public struct ConsoleInvite: Sendable, Equatable {
    public let email: String
    public let tokenHash: [UInt8]
    public let validHours: Int

    public init(email: String, tokenHash: [UInt8], validHours: Int = 24) throws(SCIMError) {
        let address = String(Substring(email).trimmingSpaces)
        let parts = address.split(separator: "@", omittingEmptySubsequences: false)
        guard address.utf8.count <= 254, parts.count == 2, !parts[0].isEmpty, parts[1].contains("."),
              !address.contains(where: { $0 == " " || $0.isNewline }) else {
            throw .invalidField("email", "Enter an e-mail address such as name@example.com.")
        }
        self.email = address
        self.tokenHash = tokenHash
        self.validHours = validHours
    }
}
