import SCIMCore
import SCIMAdmin

/// API key tokens: `sk_<prefix>_<secret>`. The prefix finds the key row and is safe to show; the
/// secret (40 base62 characters, about 238 bits) exists only in the token the admin copies once.
/// We store SHA-256 of the whole token (`SecretToken.hash`); a fast hash is right for a high-entropy secret.
public struct APIKeyToken: Sendable {
    public let prefix: String
    public let token: String

    static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)
    static let prefixAlphabet = Array("0123456789abcdefghijklmnopqrstuvwxyz".utf8)

    public static func generate() -> APIKeyToken {
        var rng = SystemRandomNumberGenerator()
        let prefix = String(decoding: (0..<10).map { _ in prefixAlphabet.randomElement(using: &rng)! }, as: UTF8.self)
        let secret = String(decoding: (0..<40).map { _ in alphabet.randomElement(using: &rng)! }, as: UTF8.self)
        return APIKeyToken(prefix: prefix, token: "sk_\(prefix)_\(secret)")
    }

    /// The prefix of a presented token, or nil when it is not shaped like one of ours.
    public static func prefix(of token: String) -> String? {
        let parts = token.split(separator: "_", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "sk", parts[1].utf8.count == 10, parts[2].utf8.count == 40 else { return nil }
        return String(parts[1])
    }

    /// `\x…` hex text, the form bytea takes as a text bind.
    static func byteaHex(_ bytes: [UInt8]) -> String { "\\x" + Hex.encode(bytes) }
}

/// The statements that store and find keys (the admin layer's key operations).
extension APIKeyToken {
    /// Stores this token's key: its prefix and hash, never the token.
    func insertStatement(tenantId: String, name: String, scopes: [String], expiresAt: String?, returning: SQL) -> SQL {
        """
        insert into scim.api_keys (tenant_id, name, prefix, secret_hash, scopes, expires_at)
        values (\(tenantId)::uuid, \(name), \(prefix), \(Self.byteaHex(SecretToken.hash(token)))::bytea,
                string_to_array(\(scopes.joined(separator: ",")), ','), \(expiresAt)::timestamptz)
        returning \(returning)
        """
    }

    /// The condition naming one key by its id or its public prefix (`abc123defg` or `sk_abc123defg`).
    /// Never by a whole token: that would put the secret in URLs and access logs.
    static func keyCondition(_ identifier: String) -> SQL {
        let prefix = identifier.hasPrefix("sk_") ? String(identifier.dropFirst(3)) : identifier
        return "(id::text = \(identifier.lowercased()) or prefix = \(prefix))"
    }
}
