import Testing
@testable import SCIMAdmin

@Suite struct PasswordHasherTests {
    // Small parameters keep the unit test fast; the format and the check are the same.
    let hasher = PasswordHasher(logN: 10, r: 8, p: 1)

    @Test("a hash verifies its own password and no other, and says how it was made")
    func verify() throws {
        let stored = try hasher.hash("correct horse battery")
        #expect(stored.hasPrefix("scrypt$10$8$1$"))
        #expect(hasher.verify("correct horse battery", against: stored))
        #expect(!hasher.verify("correct horse batterY", against: stored))
        #expect(!hasher.verify("", against: stored))
    }

    @Test("two hashes of one password differ (random salt) and both verify")
    func salted() throws {
        let a = try hasher.hash("same password here")
        let b = try hasher.hash("same password here")
        #expect(a != b)
        #expect(hasher.verify("same password here", against: a) && hasher.verify("same password here", against: b))
    }

    @Test("hashes made with other parameters still verify (they are read from the hash)")
    func parametersTravel() throws {
        let stored = try PasswordHasher(logN: 11, r: 4, p: 2).hash("parameters travel")
        #expect(hasher.verify("parameters travel", against: stored))
    }

    @Test("unreadable or out-of-range hashes never verify", arguments: [
        "", "scrypt", "bcrypt$10$8$1$AAAA$AAAA", "scrypt$30$8$1$AAAAAAAAAAAAAAAAAAAAAA$AAAA", "scrypt$10$8$1$!!$AAAA",
        "scrypt$10$8$1$AAAAAAAAAAAAAAAAAAAAAA$",
    ])
    func unreadable(_ stored: String) {
        #expect(!hasher.verify("anything", against: stored))
    }

    @Test("the decoy hash is well-formed and matches nothing a person types")
    func decoy() {
        #expect(!PasswordHasher().verify("", against: PasswordHasher.decoy))
        #expect(PasswordHasher.decoy.split(separator: "$").count == 6)
    }

    @Test("passwords shorter than 12 characters are refused with a reason")
    func weakness() {
        #expect(PasswordHasher.weakness(of: "short") != nil)
        #expect(PasswordHasher.weakness(of: String(repeating: "x", count: 201)) != nil)
        #expect(PasswordHasher.weakness(of: "twelve chars") == nil)
    }
}

@Suite struct SecretTokenTests {
    @Test("base64url round-trips every length", arguments: 0..<40)
    func base64(_ length: Int) {
        let bytes = (0..<length).map { UInt8(($0 * 37 + 11) % 256) }
        let text = Base64URL.encode(bytes)
        #expect(!text.contains("=") && !text.contains("+") && !text.contains("/"))
        #expect(Base64URL.decode(text) == bytes)
    }

    @Test("RFC 4648 test vectors, url-safe and unpadded")
    func vectors() {
        #expect(Base64URL.encode(Array("foobar".utf8)) == "Zm9vYmFy")
        #expect(Base64URL.encode(Array("fo".utf8)) == "Zm8")
        #expect(Base64URL.encode([0xFB, 0xFF]) == "-_8")
        #expect(Base64URL.decode("a") == nil)
        #expect(Base64URL.decode("a=b") == nil)
    }

    @Test("tokens are 256-bit, distinct, and stored only as a 32-byte hash")
    func tokens() {
        let a = SecretToken.generate(), b = SecretToken.generate()
        #expect(a != b)
        #expect(Base64URL.decode(a.value)?.count == 32)
        #expect(a.hash.count == 32 && a.hash == SecretToken.hash(a.value))
    }
}

@Suite struct SignInThrottleTests {
    @Test("no wait for the first five failures, then doubling up to five minutes")
    func delays() {
        #expect((0...5).map(SignInThrottle.delaySeconds) == [0, 0, 0, 0, 0, 2])
        #expect(SignInThrottle.delaySeconds(afterFailures: 6) == 4)
        #expect(SignInThrottle.delaySeconds(afterFailures: 50) == 300)
    }

    @Test("an account waits only while its delay runs, and never for good")
    func mustWait() {
        let failing = ConsoleAccount(userId: "u", passwordHash: nil, failedSignIns: 8, secondsSinceLastFailure: 3)
        #expect(SignInThrottle.mustWait(failing))
        var later = failing
        later.secondsSinceLastFailure = 301
        #expect(!SignInThrottle.mustWait(later))
        #expect(!SignInThrottle.mustWait(ConsoleAccount(userId: "u", passwordHash: nil, failedSignIns: 3, secondsSinceLastFailure: 0)))
    }
}
