import SCIMCore

/// The keys this worker saw verified lately, by tenant slug and token hash: what lets a request's
/// first statement travel with its key check instead of after it (one round trip, not two).
/// Nothing here is trusted: the key is checked again in that same pipeline, and a request whose
/// check no longer agrees with the remembered key runs again from the start without it.
final class VerifiedKeys {
    struct Entry {
        var key: AuthenticatedKey
        var verifiedAtNanoseconds: Int64
    }

    /// A remembered key is used for this long after a full check; then one request checks it
    /// alone again, and that check also tells whether the key's last use is due to be recorded.
    static let freshForNanoseconds: Int64 = 30_000_000_000
    /// Enough for every key of every tenant one worker serves; past it the memory starts over.
    static let capacity = 10_000

    private var entries: [String: Entry] = [:]
    private let now: () -> Int64

    init(now: @escaping () -> Int64 = monotonicNanoseconds) {
        self.now = now
    }

    static func name(tenantSlug: String, tokenHash: String) -> String { tenantSlug + " " + tokenHash }

    /// The key last verified under this name, while fresh; never with a due key-use record.
    func speculation(_ name: String) -> AuthenticatedKey? {
        guard let entry = entries[name], now() - entry.verifiedAtNanoseconds < Self.freshForNanoseconds else { return nil }
        var key = entry.key
        key.lastUseIsStale = false
        return key
    }

    func remember(_ name: String, _ key: AuthenticatedKey) {
        if entries.count >= Self.capacity { entries.removeAll(keepingCapacity: true) }
        entries[name] = Entry(key: key, verifiedAtNanoseconds: now())
    }

    func forget(_ name: String) {
        entries[name] = nil
    }
}
