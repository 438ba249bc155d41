import SCIMCore
import Synchronization

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
            .map { "\(($0.milliseconds * 10).rounded() / 10) ms \(shape($0.statement))" }.joined(separator: "; ")
            + (entries.count > limit ? "; (\(entries.count - limit) more)" : "")
    }

    /// The statement's shape, not its values (values travel as binds and are never logged), its
    /// white space folded: made only for a slow request's line, never on the request's path.
    static func shape(_ text: String) -> String {
        var shape = ""
        var lastWasSpace = false
        for character in text.prefix(200) {
            let space = character == " " || character == "\n" || character == "\t" || character == "\r"
            if !(space && lastWasSpace) { shape.append(space ? " " : character) }
            lastWasSpace = space
        }
        return String(shape.prefix(90))
    }

    static var isOn: Bool { state.withLock { $0.on } }

    /// Keeps the statement as it is (the string is shared, not copied) with its time.
    static func record(_ text: String, since start: Int64) {
        let elapsed = Double(monotonicNanoseconds() - start) / 1_000_000
        state.withLock { $0.entries.append((text, elapsed)) }
    }
}
