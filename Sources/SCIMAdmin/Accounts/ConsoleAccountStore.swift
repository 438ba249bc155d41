import SCIMCore

/// A console session to start: the cookie's secret is made by the caller and only its hash
/// reaches the store, with the session's anti-forgery token.
public struct NewConsoleSession: Sendable {
    public let cookie: SecretToken
    public let csrfToken: SecretToken

    public init(cookie: SecretToken = .generate(), csrfToken: SecretToken = .generate()) {
        self.cookie = cookie
        self.csrfToken = csrfToken
    }
}

/// An invite as its link finds it.
public struct ConsoleInvitation: Sendable, Equatable {
    public var tenantSlug: String
    public var email: String
    /// False once accepted or 24 hours after it was made.
    public var usable: Bool

    public init(tenantSlug: String, email: String, usable: Bool) {
        self.tenantSlug = tenantSlug
        self.email = email
        self.usable = usable
    }
}

/// What signing in needs to know of an account before the password is checked.
public struct ConsoleAccount: Sendable, Equatable {
    public var userId: String
    public var passwordHash: String?
    public var failedSignIns: Int
    /// Seconds since the last failed sign-in, nil if none since the last success.
    public var secondsSinceLastFailure: Double?

    public init(userId: String, passwordHash: String?, failedSignIns: Int, secondsSinceLastFailure: Double?) {
        self.userId = userId
        self.passwordHash = passwordHash
        self.failedSignIns = failedSignIns
        self.secondsSinceLastFailure = secondsSinceLastFailure
    }
}

/// The console's sign-in bookkeeping, done before a request is tied to an administrator: invites,
/// accounts, sessions. Each call is one transaction.
public protocol ConsoleAccountStore {
    func invitation(tokenHash: [UInt8]) throws(SCIMError) -> ConsoleInvitation?
    /// Uses up the invite, creates its console user (or sets the password of the one it names)
    /// and starts a session, all or nothing. Nil when the invite is no longer usable.
    func acceptInvitation(tokenHash: [UInt8], passwordHash: String, session: NewConsoleSession) throws(SCIMError) -> ConsoleUser?
    func account(tenantSlug: String, email: String) throws(SCIMError) -> ConsoleAccount?
    func recordFailedSignIn(userId: String) throws(SCIMError)
    /// Starts a session for a user whose password was just verified, and clears their failures.
    func startSession(userId: String, _ session: NewConsoleSession) throws(SCIMError) -> ConsoleUser
    func endSession(tokenHash: [UInt8]) throws(SCIMError)
}

/// How long a console user waits after failed sign-ins: nothing for the first five, then
/// doubling from 2 seconds up to 5 minutes. A success clears it; an account is never locked for good.
public enum SignInThrottle {
    public static func delaySeconds(afterFailures failures: Int) -> Double {
        guard failures >= 5 else { return 0 }
        return min(300, Double(1 << min(failures - 4, 9)))
    }

    public static func mustWait(_ account: ConsoleAccount) -> Bool {
        guard let since = account.secondsSinceLastFailure else { return false }
        return since < delaySeconds(afterFailures: account.failedSignIns)
    }
}
