import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// The statements the current request ran and how long each took, kept while switched on (the
/// responder does when it logs slow requests): a slow request's log line then says which
/// statement was slow, not only that the request was.
public enum StatementTimings {
    private static let state = Mutex<(on: Bool, entries: [(statement: String, milliseconds: Double)])>((false, []))

    public static func switchOn() { state.withLock { $0.on = true } }

    /// Forgets what was kept (the start of a request).
    public static func reset() { state.withLock { $0.entries.removeAll(keepingCapacity: true) } }

    /// What was kept, as `12.3 ms select ...; 0.4 ms commit`, the slowest first, at most `limit`.
    public static func summary(limit: Int = 10) -> String {
        let entries = state.withLock { $0.entries }
        return entries.sorted { $0.milliseconds > $1.milliseconds }.prefix(limit)
            .map { "\(($0.milliseconds * 10).rounded() / 10) ms \($0.statement)" }.joined(separator: "; ")
            + (entries.count > limit ? "; (\(entries.count - limit) more)" : "")
    }

    static var isOn: Bool { state.withLock { $0.on } }

    static func record(_ text: String, since start: Int64) {
        let elapsed = Double(now() - start) / 1_000_000
        // The statement's shape, not its values: values travel as binds and are never logged.
        var shape = ""
        var lastWasSpace = false
        for character in text.prefix(200) {
            let space = character.isWhitespace
            if !(space && lastWasSpace) { shape.append(space ? " " : character) }
            lastWasSpace = space
        }
        state.withLock { $0.entries.append((String(shape.prefix(90)), elapsed)) }
    }

    static func now() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
    }
}
