/// How a tenant's provisioning is going: what the SCIM page's status panel shows.
public struct ActivitySummary: Sendable, Equatable {
    public struct LastRequest: Sendable, Equatable {
        public var at: String
        /// "Entra ID (sk_abc…)": the key's name and public prefix.
        public var key: String?
        public var status: Int

        public init(at: String, key: String?, status: Int) {
            self.at = at
            self.key = key
            self.status = status
        }
    }

    /// Requests and failures (4xx and 5xx) in one hour.
    public struct Hour: Sendable, Equatable {
        public var start: String
        public var requests: Int
        public var failures: Int

        public init(start: String, requests: Int, failures: Int) {
            self.start = start
            self.requests = requests
            self.failures = failures
        }
    }

    public var lastRequest: LastRequest?
    public var lastSuccessfulWriteAt: String?
    /// Oldest first, one per hour of the period, hours without requests included.
    public var hours: [Hour]
    public var openErrors: Int

    public init(lastRequest: LastRequest?, lastSuccessfulWriteAt: String?, hours: [Hour], openErrors: Int) {
        self.lastRequest = lastRequest
        self.lastSuccessfulWriteAt = lastSuccessfulWriteAt
        self.hours = hours
        self.openErrors = openErrors
    }

    public var requestCount: Int { hours.reduce(0) { $0 + $1.requests } }
    public var failureCount: Int { hours.reduce(0) { $0 + $1.failures } }
}
