import Crypto

/// Random secrets for invite links, session cookies and anti-forgery tokens: 32 random bytes,
/// base64url without padding. Only their SHA-256 is stored; a fast hash suits a 256-bit secret.
public struct SecretToken: Sendable, Equatable {
    public let value: String

    public init(value: String) { self.value = value }

    public static func generate() -> SecretToken {
        var rng = SystemRandomNumberGenerator()
        return SecretToken(value: Base64URL.encode((0..<32).map { _ in UInt8.random(in: 0...255, using: &rng) }))
    }

    public var hash: [UInt8] { Self.hash(value) }

    public static func hash(_ value: String) -> [UInt8] { Array(SHA256.hash(data: Array(value.utf8))) }

    /// Compares in time independent of where the inputs differ.
    public static func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for i in 0..<a.count { difference |= a[i] ^ b[i] }
        return difference == 0
    }
}

/// RFC 4648 §5 base64url without padding: safe in URLs and cookies as it is.
public enum Base64URL {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    public static func encode(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 4 + 2) / 3)
        var i = 0
        while i < bytes.count {
            let b0 = UInt32(bytes[i]), b1 = i + 1 < bytes.count ? UInt32(bytes[i + 1]) : 0, b2 = i + 2 < bytes.count ? UInt32(bytes[i + 2]) : 0
            let triple = b0 << 16 | b1 << 8 | b2
            let available = min(3, bytes.count - i)
            for j in 0...available { out.append(alphabet[Int((triple >> (18 - 6 * UInt32(j))) & 0x3F)]) }
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func decode(_ text: String) -> [UInt8]? {
        var values: [UInt32] = []
        for byte in text.utf8 {
            guard let index = alphabet.firstIndex(of: byte) else { return nil }
            values.append(UInt32(index))
        }
        guard values.count % 4 != 1 else { return nil }
        var out: [UInt8] = []
        var i = 0
        while i < values.count {
            let chunk = Array(values[i..<min(i + 4, values.count)])
            var triple: UInt32 = 0
            for (j, value) in chunk.enumerated() { triple |= value << (18 - 6 * UInt32(j)) }
            for j in 0..<(chunk.count - 1) { out.append(UInt8((triple >> (16 - 8 * UInt32(j))) & 0xFF)) }
            i += 4
        }
        return out
    }
}
