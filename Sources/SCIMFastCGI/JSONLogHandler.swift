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

    public func log(event: LogEvent) {
        var object = JSONObject()
        object.append("time", .string(Self.timestamp()))
        object.append("level", .string(event.level.rawValue))
        object.append("pid", .integer(Int(getpid())))
        object.append("msg", .string(event.message.description))
        var merged = metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 })
        if merged["request_id"] == nil, let requestId = Self.currentRequestId.withLock({ $0 }) {
            merged["request_id"] = "\(requestId)"
        }
        for (key, value) in merged.sorted(by: { $0.key < $1.key }) {
            object.append(key, .string(value.description))
        }
        var line = JSONValue.object(object).serializedBytes()
        line.append(0x0A)
        line.withUnsafeBytes { _ = write(2, $0.baseAddress, $0.count) }
    }

    static func timestamp() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        var seconds = ts.tv_sec
        var parts = tm()
        gmtime_r(&seconds, &parts)
        func pad(_ v: Int32, _ width: Int = 2) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, width - s.count)) + s
        }
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1))-\(pad(parts.tm_mday))T"
            + "\(pad(parts.tm_hour)):\(pad(parts.tm_min)):\(pad(parts.tm_sec)).\(pad(Int32(ts.tv_nsec / 1_000_000), 3))Z"
    }
}
