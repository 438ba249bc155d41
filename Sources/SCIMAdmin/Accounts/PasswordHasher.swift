import Crypto
import _CryptoExtras

/// Console passwords, hashed with scrypt (memory-hard). OWASP's Password Storage Cheat Sheet
/// gives N=2^17, r=8, p=1 as the minimum and N=2^15, r=8, p=3 as an equal alternative; we take
/// the latter (32 MiB per hash instead of 128 MiB in a prefork worker). Stored as
/// `scrypt$logN$r$p$salt$hash`, so the parameters can be raised later and old hashes still verify.
public struct PasswordHasher: Sendable {
    public var logN: Int
    public var r: Int
    public var p: Int

    public init(logN: Int = 15, r: Int = 8, p: Int = 3) {
        self.logN = logN
        self.r = r
        self.p = p
    }

    public static let minimumLength = 12
    public static let maximumLength = 200

    /// Why a chosen password is refused, or nil when it is acceptable.
    public static func weakness(of password: String) -> String? {
        if password.count < minimumLength { return "Choose a password of at least \(minimumLength) characters." }
        if password.count > maximumLength { return "Choose a password of at most \(maximumLength) characters." }
        return nil
    }

    public func hash(_ password: String) throws -> String {
        var rng = SystemRandomNumberGenerator()
        let salt = (0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let derived = try Self.derive(password, salt: salt, logN: logN, r: r, p: p)
        return "scrypt$\(logN)$\(r)$\(p)$\(Base64URL.encode(salt))$\(Base64URL.encode(derived))"
    }

    /// True when `password` matches `stored`; false for a mismatch or a hash we cannot read.
    public func verify(_ password: String, against stored: String) -> Bool {
        let parts = stored.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 6, parts[0] == "scrypt", let logN = Int(parts[1]), let r = Int(parts[2]), let p = Int(parts[3]),
              (10...20).contains(logN), (1...32).contains(r), (1...16).contains(p),
              let salt = Base64URL.decode(String(parts[4])), let expected = Base64URL.decode(String(parts[5])),
              let derived = try? Self.derive(password, salt: salt, logN: logN, r: r, p: p)
        else { return false }
        return SecretToken.constantTimeEquals(derived, expected)
    }

    /// A hash of a password nobody knows, verified against when the account does not exist, so
    /// an unknown address costs the same time as a wrong password.
    public static let decoy = "scrypt$15$8$3$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

    static func derive(_ password: String, salt: [UInt8], logN: Int, r: Int, p: Int) throws -> [UInt8] {
        let key = try KDF.Scrypt.deriveKey(from: Array(password.utf8), salt: salt, outputByteCount: 32,
                                           rounds: 1 << logN, blockSize: r, parallelism: p)
        return key.withUnsafeBytes { Array($0) }
    }
}
