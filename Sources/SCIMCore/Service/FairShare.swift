/// Claims a worker for a tenant whose key (or console session) has just been checked, and gives
/// it back when the request ends. Implemented over the workers' shared board (SCIMFastCGI).
public protocol WorkerAdmission: AnyObject {
    /// True when this worker may serve the tenant now; the claim lasts until `leave()`.
    func enter(tenant: String) -> Bool
    func leave()
    /// The answer to a request `enter` refused.
    var refusal: SCIMError { get }
}

/// How many of the machine's workers one tenant may hold at once. A tenant alone may use every
/// worker (an identity provider's burst is not refused for want of competition); while other
/// tenants are being served, a tenant holding `cap` workers gets 429 for more, so Bulk requests,
/// dry runs or filters no index serves from one tenant never hold up every other tenant.
public struct FairShare: Sendable {
    public let cap: Int

    public init(cap: Int) {
        self.cap = max(1, cap)
    }

    /// `tenantWorkers` counts the worker asking.
    public func admits(tenantWorkers: Int, otherTenantsWorkers: Int) -> Bool {
        tenantWorkers <= cap || otherTenantsWorkers == 0
    }

    public var refusal: SCIMError {
        SCIMError(status: 429, detail: "This tenant already has \(cap) requests in progress while other tenants are being served; "
                  + "retry after the time in Retry-After.", headers: [("Retry-After", "1")])
    }
}

/// When a request's work must stop: set by the worker when a request starts, read by the store
/// before each statement and each retry, so a request whose statements are each quick but many
/// (a large Bulk, a dry run over a whole tenant) still ends in time, answered with a 503.
public struct RequestDeadline: Sendable {
    let clock: MonotonicClock
    public let seconds: Int
    let endsAt: Int64

    public init(seconds: Int, clock: MonotonicClock) {
        self.clock = clock
        self.seconds = seconds
        endsAt = clock.now() + Int64(seconds) * 1_000_000_000
    }

    public var remainingMilliseconds: Int { Int((endsAt - clock.now()) / 1_000_000) }
    public var hasPassed: Bool { clock.now() >= endsAt }

    public var exceeded: SCIMError {
        .unavailable("The request ran longer than the \(seconds)-second limit and was stopped; nothing it would have changed was saved.",
                     retryAfterSeconds: 5)
    }
}
