import Logging
import SCIMCore

/// Keeps the planner's picture of the directory tables up with a first sync, which fills them
/// faster than autovacuum looks (migrations 20261130001500 and 1700): the responder's housekeeper
/// asks the database every 2 seconds to analyze the tables that grew by more than 20 rows and a
/// tenth since their last ANALYZE (an ANALYZE can take a second; no request waits for it there).
public final class GrowingTableStatistics {
    static let lookNanoseconds: Int64 = 2_000_000_000
    static let afterFailureNanoseconds: Int64 = 60_000_000_000

    let store: PostgresStore
    let logger: Logger
    let clock: MonotonicClock
    private var nextLook: Int64 = 0

    public init(store: PostgresStore, logger: Logger, clock: MonotonicClock) {
        self.store = store
        self.logger = logger
        self.clock = clock
    }

    /// Asks when 2 seconds have passed since the last look (a minute after one failed).
    public func lookIfDue() {
        let now = clock.now()
        guard now >= nextLook else { return }
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
