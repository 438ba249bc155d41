/// A worker's successful reads added up by tenant, minute, key and endpoint, until they are written
/// (`ResourceStore.addReadCounts`, every few seconds and when the worker is idle or stops): the
/// provisioning log keeps a row for every write and every failure, and counts for reads, which an
/// identity provider sends by the hundred thousand.
public final class ReadTally {
    public struct Count: Sendable, Equatable {
        public var tenantId: String
        /// Seconds since the epoch at the start of the minute.
        public var minute: Int
        public var keyPrefix: String?
        public var endpoint: String
        public var requests: Int
        public var totalMilliseconds: Double
        public var maxMilliseconds: Double
        /// Seconds since the epoch of the last of them.
        public var lastAt: Double
    }

    struct Key: Hashable {
        var tenantId: String
        var minute: Int
        var keyPrefix: String?
        var endpoint: String
    }

    /// How long sums may wait in the worker before they are written.
    public let maxAgeSeconds: Double
    private let wallClock: () -> Double
    private var counts: [Key: Count] = [:]
    private var oldest: Double?

    public init(maxAgeSeconds: Double = 5, wallClock: @escaping () -> Double) {
        self.maxAgeSeconds = maxAgeSeconds
        self.wallClock = wallClock
    }

    public var isEmpty: Bool { counts.isEmpty }

    /// Whether the sums have waited long enough to be written now.
    public var isDue: Bool { oldest.map { wallClock() - $0 >= maxAgeSeconds } ?? false }

    public func add(tenantId: String, keyPrefix: String?, endpoint: String, milliseconds: Double) {
        let now = wallClock()
        if oldest == nil { oldest = now }
        merge(Count(tenantId: tenantId, minute: Int(now) / 60 * 60, keyPrefix: keyPrefix, endpoint: endpoint, requests: 1,
                    totalMilliseconds: milliseconds, maxMilliseconds: milliseconds, lastAt: now))
    }

    /// Everything added since the last take, forgotten here; in the order of the table's key, so
    /// that workers writing their sums at the same moment lock the rows they share in one order
    /// (a dictionary's order differs from process to process).
    public func take() -> [Count] {
        let taken = counts.values.sorted {
            ($0.tenantId, $0.minute, $0.keyPrefix ?? "", $0.endpoint) < ($1.tenantId, $1.minute, $1.keyPrefix ?? "", $1.endpoint)
        }
        counts.removeAll(keepingCapacity: true)
        oldest = nil
        return taken
    }

    /// Puts sums that could not be written back, to be tried again (the next add keeps them due).
    public func putBack(_ taken: [Count]) {
        taken.forEach(merge)
        if let earliest = taken.map(\.lastAt).min() { oldest = min(oldest ?? earliest, earliest) }
    }

    /// Adds sums to those of the same tenant, minute, key and endpoint.
    private func merge(_ count: Count) {
        let key = Key(tenantId: count.tenantId, minute: count.minute, keyPrefix: count.keyPrefix, endpoint: count.endpoint)
        guard var existing = counts[key] else {
            counts[key] = count
            return
        }
        existing.requests += count.requests
        existing.totalMilliseconds += count.totalMilliseconds
        existing.maxMilliseconds = max(existing.maxMilliseconds, count.maxMilliseconds)
        existing.lastAt = max(existing.lastAt, count.lastAt)
        counts[key] = existing
    }
}
