import SCIMCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The responder's counters in memory shared by all prefork workers (mapped by the supervisor
/// before the first fork, like `WorkerBoard`), so whichever worker answers `GET /metrics` reports
/// the sum over every worker, and counts survive a worker's replacement. Everything is a 64-bit
/// atomic word: lock-free, and a worker killed mid-update leaves no lock behind.
///
/// Requests are counted by tenant, endpoint, method and status class in an open-addressing table
/// of `series` slots; once it is full, further combinations count under tenant `_other`. Latency
/// is a histogram per endpoint (not per tenant, to keep the series few).
public final class MetricsBoard: OperationalCounters, @unchecked Sendable {
    public static let seriesCapacity = 4_096
    /// Upper bounds of the latency buckets, in seconds (the last bucket is +Inf).
    public static let latencyBounds: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]
    static let tenantBytes = 48
    // A series slot: state, key hash, packed (endpoint, method, class, name length), name (6 words), count, microseconds.
    static let slotWords = 3 + tenantBytes / 8 + 2

    public let workerCapacity: Int
    private let words: UnsafeMutablePointer<Atomic<UInt64>>
    private let seriesBase = 0
    private let histogramBase: Int
    private let eventBase: Int
    private let busyBase: Int
    private let startedAt: UInt64
    /// This process's memory of where each series lives, to skip the probing.
    private var slotCache: [SeriesKey: Int] = [:]

    /// Room for `workerCapacity` workers' busy flags; nil when the shared mapping cannot be made.
    public init?(workerCapacity: Int) {
        self.workerCapacity = max(1, workerCapacity)
        histogramBase = Self.seriesCapacity * Self.slotWords
        eventBase = histogramBase + Endpoint.allCases.count * (Self.latencyBounds.count + 3)
        busyBase = eventBase + OperationalEvent.allCases.count
        let count = busyBase + self.workerCapacity
        let bytes = MemoryLayout<Atomic<UInt64>>.stride * count
        guard let mapped = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0), mapped != MAP_FAILED else { return nil }
        words = mapped.bindMemory(to: Atomic<UInt64>.self, capacity: count)
        for index in 0..<count { (words + index).initialize(to: Atomic(0)) }
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        startedAt = UInt64(now.tv_sec)
    }

    // MARK: - Recording

    /// What a request is counted under, from its path alone.
    public enum Endpoint: Int, CaseIterable, Sendable {
        case users, user, groups, group, search, bulk, discovery, admin, console, health, metrics, other

        var label: String {
            switch self {
            case .users: return "Users"
            case .user: return "Users/{id}"
            case .groups: return "Groups"
            case .group: return "Groups/{id}"
            case .search: return ".search"
            case .bulk: return "Bulk"
            case .discovery: return "discovery"
            case .admin: return "admin"
            case .console: return "console"
            case .health: return "health"
            case .metrics: return "metrics"
            case .other: return "other"
            }
        }

        public init(path: String) {
            if path == "/healthz" || path == "/readyz" { self = .health; return }
            if path == "/metrics" { self = .metrics; return }
            if path.hasPrefix("/admin/") { self = .admin; return }
            if path == "/console" || path.hasPrefix("/console/") { self = .console; return }
            // /scim/v2/{tenant}/{resource}[/{id}]
            let parts = path.split(separator: "/", omittingEmptySubsequences: true)
            guard parts.count >= 4, parts[0] == "scim", parts[1] == "v2" else { self = .other; return }
            let rest = parts.dropFirst(3)
            if rest.last?.hasPrefix(".search") == true { self = .search; return }
            switch rest.first {
            case "Users": self = rest.count == 1 ? .users : .user
            case "Groups": self = rest.count == 1 ? .groups : .group
            case "Bulk": self = .bulk
            case "ServiceProviderConfig", "ResourceTypes", "Schemas": self = .discovery
            default: self = .other
            }
        }
    }

    static let methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "other"]

    struct SeriesKey: Hashable {
        var tenant: String
        var endpoint: Int
        var method: Int
        var statusClass: Int
    }

    /// Counts one answered request; `tenant` is the tenant its key or session proved (nil for
    /// requests that proved none: their URL's tenant is a stranger's claim, not a label).
    public func recordRequest(tenant: String?, path: String, method: String, status: Int, seconds: Double) {
        let endpoint = Endpoint(path: path)
        let methodIndex = Self.methods.firstIndex(of: method.uppercased()) ?? Self.methods.count - 1
        let key = SeriesKey(tenant: String((tenant ?? "").utf8.prefix(Self.tenantBytes)) ?? "", endpoint: endpoint.rawValue,
                            method: methodIndex, statusClass: max(1, min(5, status / 100)))
        if let slot = slot(for: key) {
            let base = seriesBase + slot * Self.slotWords
            words[base + Self.slotWords - 2].add(1, ordering: .relaxed)
            words[base + Self.slotWords - 1].add(UInt64(max(0, seconds) * 1_000_000), ordering: .relaxed)
        }
        let histogram = histogramBase + endpoint.rawValue * (Self.latencyBounds.count + 3)
        let bucket = Self.latencyBounds.firstIndex { seconds <= $0 } ?? Self.latencyBounds.count
        words[histogram + bucket].add(1, ordering: .relaxed)
        words[histogram + Self.latencyBounds.count + 1].add(UInt64(max(0, seconds) * 1_000_000), ordering: .relaxed)
        words[histogram + Self.latencyBounds.count + 2].add(1, ordering: .relaxed)
        if status == 401 { count(.authenticationFailure) }
        if status == 429 { count(.fairShareRefusal) }
    }

    public func count(_ event: OperationalEvent) {
        words[eventBase + event.rawValue].add(1, ordering: .relaxed)
    }

    /// Marks worker `position` busy (serving a request) or idle.
    public func setBusy(_ position: Int, _ busy: Bool) {
        guard position >= 0 && position < workerCapacity else { return }
        words[busyBase + position].store(busy ? 1 : 0, ordering: .relaxed)
    }

    /// The slot of a series, claimed when new: a slot goes empty (0) -> claimed (1) -> ready (2),
    /// its key written between, so a reader never sees half a key.
    private func slot(for key: SeriesKey) -> Int? {
        if let cached = slotCache[key] { return cached }
        let name = Array(key.tenant.utf8)
        let packed = UInt64(key.endpoint) | UInt64(key.method) << 8 | UInt64(key.statusClass) << 16 | UInt64(name.count) << 24
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in name + [UInt8(key.endpoint), UInt8(key.method), UInt8(key.statusClass)] {
            hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3
        }
        let start = Int(hash % UInt64(Self.seriesCapacity))
        for probe in 0..<Self.seriesCapacity {
            let slot = (start + probe) % Self.seriesCapacity
            let base = seriesBase + slot * Self.slotWords
            while true {
                let state = words[base].load(ordering: .acquiring)
                if state == 2 {
                    if words[base + 1].load(ordering: .relaxed) == hash && words[base + 2].load(ordering: .relaxed) == packed
                        && storedName(base) == name {
                        slotCache[key] = slot
                        return slot
                    }
                    break
                }
                if state == 0 {
                    if words[base].compareExchange(expected: 0, desired: 1, ordering: .acquiringAndReleasing).exchanged {
                        words[base + 1].store(hash, ordering: .relaxed)
                        words[base + 2].store(packed, ordering: .relaxed)
                        for index in 0..<(Self.tenantBytes / 8) {
                            var word: UInt64 = 0
                            for byte in 0..<8 where index * 8 + byte < name.count { word |= UInt64(name[index * 8 + byte]) << (8 * byte) }
                            words[base + 3 + index].store(word, ordering: .relaxed)
                        }
                        words[base].store(2, ordering: .releasing)
                        slotCache[key] = slot
                        return slot
                    }
                    continue
                }
                // Another worker is writing this slot's key: it takes a few instructions.
                sched_yield()
            }
        }
        // Full: count under a tenant of its own rather than lose the request.
        return key.tenant == "_other" ? nil : slot(for: SeriesKey(tenant: "_other", endpoint: key.endpoint, method: key.method,
                                                                  statusClass: key.statusClass))
    }

    private func storedName(_ base: Int) -> [UInt8] {
        let length = Int(words[base + 2].load(ordering: .relaxed) >> 24 & 0xff)
        var bytes: [UInt8] = []
        for index in 0..<(Self.tenantBytes / 8) {
            let word = words[base + 3 + index].load(ordering: .relaxed)
            for byte in 0..<8 { bytes.append(UInt8(word >> (8 * byte) & 0xff)) }
        }
        return Array(bytes.prefix(length))
    }

    // MARK: - Reading

    /// The Prometheus text exposition (format 0.0.4) of everything, summed over the workers.
    public func render() -> String {
        var out = ""
        out += "# HELP scim_requests_total Requests answered, by the tenant its key proved, endpoint, method and status class.\n"
        out += "# TYPE scim_requests_total counter\n"
        var durations = ""
        for slot in 0..<Self.seriesCapacity {
            let base = seriesBase + slot * Self.slotWords
            guard words[base].load(ordering: .acquiring) == 2 else { continue }
            let packed = words[base + 2].load(ordering: .relaxed)
            let endpoint = Endpoint(rawValue: Int(packed & 0xff)) ?? .other
            let method = Self.methods[min(Int(packed >> 8 & 0xff), Self.methods.count - 1)]
            let labels = "tenant=\"\(Self.escaped(String(decoding: storedName(base), as: UTF8.self)))\",endpoint=\"\(endpoint.label)\","
                + "method=\"\(method)\",status=\"\(packed >> 16 & 0xff)xx\""
            out += "scim_requests_total{\(labels)} \(words[base + Self.slotWords - 2].load(ordering: .relaxed))\n"
            durations += "scim_request_seconds_total{\(labels)} "
                + Self.seconds(words[base + Self.slotWords - 1].load(ordering: .relaxed)) + "\n"
        }
        out += "# HELP scim_request_seconds_total Time spent answering those requests.\n# TYPE scim_request_seconds_total counter\n" + durations
        out += "# HELP scim_request_duration_seconds Latency of answered requests, by endpoint.\n"
        out += "# TYPE scim_request_duration_seconds histogram\n"
        for endpoint in Endpoint.allCases {
            let base = histogramBase + endpoint.rawValue * (Self.latencyBounds.count + 3)
            let total = words[base + Self.latencyBounds.count + 2].load(ordering: .relaxed)
            guard total > 0 else { continue }
            var cumulative: UInt64 = 0
            for (index, bound) in Self.latencyBounds.enumerated() {
                cumulative += words[base + index].load(ordering: .relaxed)
                out += "scim_request_duration_seconds_bucket{endpoint=\"\(endpoint.label)\",le=\"\(bound)\"} \(cumulative)\n"
            }
            cumulative += words[base + Self.latencyBounds.count].load(ordering: .relaxed)
            out += "scim_request_duration_seconds_bucket{endpoint=\"\(endpoint.label)\",le=\"+Inf\"} \(cumulative)\n"
            out += "scim_request_duration_seconds_sum{endpoint=\"\(endpoint.label)\"} "
                + Self.seconds(words[base + Self.latencyBounds.count + 1].load(ordering: .relaxed)) + "\n"
            out += "scim_request_duration_seconds_count{endpoint=\"\(endpoint.label)\"} \(cumulative)\n"
        }
        func counter(_ name: String, _ help: String, _ events: [(String, OperationalEvent)]) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) counter\n"
            for (labels, event) in events {
                out += "\(name)\(labels.isEmpty ? "" : "{\(labels)}") \(words[eventBase + event.rawValue].load(ordering: .relaxed))\n"
            }
        }
        counter("scim_database_errors_total", "Database errors met by requests and background work, by kind.",
                [("kind=\"connection\"", .databaseConnectionError), ("kind=\"timeout\"", .databaseTimeout),
                 ("kind=\"conflict\"", .databaseConflict), ("kind=\"other\"", .databaseOtherError)])
        counter("scim_transaction_retries_total", "Transactions run again, by cause.",
                [("cause=\"conflict\"", .transactionRetry), ("cause=\"reconnect\"", .reconnect)])
        counter("scim_authentication_failures_total", "Requests refused for want of a valid key (401).", [("", .authenticationFailure)])
        counter("scim_fair_share_refusals_total", "Requests refused because their tenant held its share of the workers (429).",
                [("", .fairShareRefusal)])
        counter("scim_reapply_batches_total", "Batches of mapping re-apply jobs done by the housekeeper.", [("", .reapplyBatch)])
        counter("scim_log_maintenance_runs_total", "Runs of the provisioning log's maintenance done by these workers.", [("", .logMaintenance)])
        counter("scim_growing_tables_analyzed_total", "Times these workers had directory tables analyzed that grew faster than autovacuum looks.",
                [("", .tablesAnalyzed)])
        var busy = 0
        for position in 0..<workerCapacity where words[busyBase + position].load(ordering: .relaxed) != 0 { busy += 1 }
        out += "# HELP scim_workers_busy Workers serving a request now (this one included).\n# TYPE scim_workers_busy gauge\n"
        out += "scim_workers_busy \(busy)\n"
        out += "# HELP scim_responder_start_time_seconds When the supervisor started, in seconds since the epoch.\n"
        out += "# TYPE scim_responder_start_time_seconds gauge\nscim_responder_start_time_seconds \(startedAt)\n"
        return out
    }

    static func seconds(_ micros: UInt64) -> String {
        let whole = micros / 1_000_000
        let fraction = String(micros % 1_000_000)
        return "\(whole)." + String(repeating: "0", count: 6 - fraction.count) + fraction
    }

    static func escaped(_ value: String) -> String {
        var out = ""
        for character in value {
            switch character {
            case "\\": out += "\\\\"
            case "\"": out += "\\\""
            case "\n": out += "\\n"
            default: out.append(character)
            }
        }
        return out
    }
}
