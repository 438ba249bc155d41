import SCIMCore

/// Filters and paging of the log and error listings.
public struct ActivityFilter: Sendable {
    public var since: String?
    public var until: String?
    /// An exact status ("409") or a class ("4xx", "5xx").
    public var status: String?
    public var resourceType: String?
    public var text: String?
    public var kind: String?
    public var resolved: Bool?
    public var startIndex = 1
    public var count = 50

    public init() {}

    public init(since: String?, until: String?, status: String?, resourceType: String?, text: String?,
                kind: String? = nil, resolved: Bool? = nil, startIndex: Int = 1, count: Int = 50) throws(SCIMError) {
        self.since = try AdminTimestamp.validated(since, name: "since")
        self.until = try AdminTimestamp.validated(until, name: "until")
        self.resourceType = resourceType
        self.text = text
        self.kind = kind
        self.resolved = resolved
        (self.startIndex, self.count) = try Self.paging(startIndex: startIndex, count: count)
        if let status, !(Int(status) != nil || ["1xx", "2xx", "3xx", "4xx", "5xx", "failed"].contains(status.lowercased())) {
            throw .badRequest(.invalidValue, "status must be a status code (409), a class (4xx) or \"failed\" (4xx and 5xx).")
        }
        self.status = status
    }

    /// `startIndex` is 1 or more; `count` is 0 to 500.
    public static func paging(startIndex: Int, count: Int) throws(SCIMError) -> (startIndex: Int, count: Int) {
        guard startIndex >= 1 else { throw .badRequest(.invalidValue, "startIndex must be 1 or more.") }
        guard (0...500).contains(count) else { throw .badRequest(.invalidValue, "count must be 0 to 500.") }
        return (startIndex, count)
    }

    /// The inclusive status range `status` stands for, or nils for any status.
    public var statusRange: (low: Int?, high: Int?) {
        guard let status else { return (nil, nil) }
        if let exact = Int(status) { return (exact, exact) }
        if status.lowercased() == "failed" { return (400, 599) }
        let hundred = (Int(String(status.prefix(1))) ?? 0) * 100
        return (hundred, hundred + 99)
    }
}
