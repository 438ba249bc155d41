import Logging
import SCIMCore

/// Keeps the planner's picture of the directory tables up with a first sync, which fills them
/// faster than autovacuum looks (migrations 20261130001500 and 1700): after answering 100 writes, a
/// worker asks the database, at most every 2 seconds, to analyze the tables that grew by more than
/// 20 rows and a tenth since their last ANALYZE. Asked after the answer is sent, so no request waits.
public final class GrowingTableStatistics {
    static let lookNanoseconds: Int64 = 2_000_000_000
    static let afterFailureNanoseconds: Int64 = 60_000_000_000
    /// Writes answered before a look: a worker that mostly reads never asks.
    static let writesBetweenLooks = 100

    let store: PostgresStore
    let logger: Logger
    let clock: MonotonicClock
    private var writesSinceLook = 0
    private var nextLook: Int64 = 0

    public init(store: PostgresStore, logger: Logger, clock: MonotonicClock) {
        self.store = store
        self.logger = logger
        self.clock = clock
    }

    /// Counts a successful write.
    public func answered(method: String, status: Int) {
        if method != "GET", method != "HEAD", (200..<300).contains(status) { writesSinceLook += 1 }
    }

    /// Asks when enough writes were answered since the last look and it is time.
    public func lookIfDue() {
        guard writesSinceLook >= Self.writesBetweenLooks else { return }
        let now = clock.now()
        guard now >= nextLook else { return }
        writesSinceLook = 0
        do {
            let analyzed = try store.transaction { (transaction) throws(SCIMError) -> String in
                guard let transaction = transaction as? PostgresTransaction else { return "" }
                return try transaction.query("select array_to_string(scim.analyze_growing_tables(), ', ') as analyzed", prepared: false)[0, "analyzed"] ?? ""
            }
            nextLook = now + Self.lookNanoseconds
            if !analyzed.isEmpty {
                store.counters?.count(.tablesAnalyzed)
                logger.info("statistics refreshed for tables that grew", metadata: ["tables": "\(analyzed)"])
            }
        } catch {
            nextLook = now + Self.afterFailureNanoseconds
            logger.warning("refreshing the statistics of growing tables failed", metadata: ["error": "\(error)"])
        }
    }
}
