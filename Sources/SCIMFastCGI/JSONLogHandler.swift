import Logging
import Synchronization
import SCIMCore
#if canImport(Glibc)
import Glibc
#endif

/// swift-log handler writing one JSON object per line to stderr with a single write(2), so lines
/// from several worker processes sharing stderr never interleave.
public struct JSONLogHandler: LogHandler {
    /// The request this worker is serving, set by the worker loop: every line logged meanwhile,
    /// from any module (database errors included), carries its id.
    public static let currentRequestId = Mutex<String?>(nil)

    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    let label: String

    public init(label: String, level: Logger.Level) {
        self.label = label
        self.logLevel = level
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    /// The fields every line begins with; metadata of the same name is left out, so no line holds
    /// a key twice.
    static let fixedFields: Set<String> = ["time", "level", "pid", "msg"]

    public func log(event: LogEvent) {
        var line: [UInt8] = []
        line.reserveCapacity(320)
        line.append(contentsOf: #"{"time":""#.utf8)
        Self.writeTimestamp(into: &line)
        line.append(contentsOf: #"","level":""#.utf8)
        line.append(contentsOf: event.level.rawValue.utf8)
        line.append(contentsOf: #"","pid":"#.utf8)
        line.append(contentsOf: String(getpid()).utf8)
        line.append(contentsOf: #","msg":"#.utf8)
        JSONValue.string(event.message.description).write(into: &line)
        var merged = metadata.isEmpty ? event.metadata ?? [:] : metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 })
        if merged["request_id"] == nil, let requestId = Self.currentRequestId.withLock({ $0 }) {
            merged["request_id"] = .string(requestId)
        }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) where !Self.fixedFields.contains(key) {
            line.append(UInt8(ascii: ","))
            JSONValue.string(key).write(into: &line)
            line.append(UInt8(ascii: ":"))
            JSONValue.string(value.description).write(into: &line)
        }
        line.append(contentsOf: "}\n".utf8)
        line.withUnsafeBytes { _ = write(2, $0.baseAddress, $0.count) }
    }

    /// UTC to the millisecond, as 2026-12-01T05:49:13.032Z.
    static func writeTimestamp(into out: inout [UInt8]) {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var seconds = ts.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func digits(_ value: Int, _ width: Int) {
            var divisor = 1
            for _ in 1..<width { divisor *= 10 }
            while divisor > 0 {
                out.append(UInt8(ascii: "0") + UInt8(value / divisor % 10))
                divisor /= 10
            }
        }
        digits(Int(parts.tm_year) + 1900, 4); out.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mon) + 1, 2); out.append(UInt8(ascii: "-"))
        digits(Int(parts.tm_mday), 2); out.append(UInt8(ascii: "T"))
        digits(Int(parts.tm_hour), 2); out.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_min), 2); out.append(UInt8(ascii: ":"))
        digits(Int(parts.tm_sec), 2); out.append(UInt8(ascii: "."))
        digits(ts.tv_nsec / 1_000_000, 3); out.append(UInt8(ascii: "Z"))
    }
}
