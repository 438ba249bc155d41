import Logging
import SCIMCore

/// Works off re-apply jobs one batch at a time: the responder's housekeeper calls `runBatch`, and
/// `scimctl mappings reapply --wait` calls it in a loop. Each batch is one short transaction that
/// also records the job's progress, so live provisioning is never blocked for long, a crash only
/// repeats a batch (re-applying is idempotent), and several runners (the housekeepers of several
/// responder hosts) share a job by skipping the one another holds.
public struct ReapplyJobRunner {
    let store: PostgresStore

    public init(store: PostgresStore) {
        self.store = store
    }

    public enum Outcome: Equatable {
        case idle
        case progressed(jobId: String, processed: Int, finished: Bool)
    }

    /// One batch of the oldest open job (of one tenant, when given).
    public func runBatch(tenantId: String? = nil) throws(SCIMError) -> Outcome {
        try store.transaction { (transaction) throws(SCIMError) -> Outcome in
            guard let transaction = transaction as? PostgresTransaction else { return .idle }
            // Jobs are found across tenants; the function then scopes this transaction to the job's.
            let rows = try transaction.query("""
                select job_tenant_id as tenant_id, job_id as id, job_cursor_id as cursor_id, job_processed as processed
                from scim.claim_reapply_job(\(tenantId)::uuid)
                """)
            guard let tenant = rows[0, "tenant_id"], let job = rows[0, "id"] else { return .idle }
            let admin = DirectoryAdministration(transaction: transaction, tenantId: tenant, actor: "reapply-job")
            let batch = try admin.reapplyBatch(after: rows[0, "cursor_id"], limit: DirectoryAdministration.reapplyBatchSize)
            let finished = batch == nil || batch!.count < DirectoryAdministration.reapplyBatchSize
            let updated = try transaction.query("""
                update scim.reapply_jobs set
                    state = case when \(finished) then 'done' else 'running' end,
                    processed = processed + \(batch?.count ?? 0), changed = changed + \(batch?.changed ?? 0),
                    cursor_id = coalesce(\(batch?.lastId)::uuid, cursor_id), updated_at = now(),
                    finished_at = case when \(finished) then now() end,
                    total_users = greatest(total_users, processed + \(batch?.count ?? 0))
                where tenant_id = \(tenant)::uuid and id = \(job)::uuid
                returning processed
                """)
            return .progressed(jobId: job, processed: updated.int(0, "processed") ?? 0, finished: finished)
        }
    }
}

/// What the responder's housekeeper does: run re-apply batches while a job waits, and keep the
/// provisioning log's partitions. It learns of a new job from the notification its insert sends
/// (channel `scim_reapply`, read from what the connection has already received, no round trip),
/// and looks by itself once a minute, for a job a crash left behind. Behind a transaction pooler,
/// where notifications cannot reach it, it looks every two seconds instead (one short query).
public final class HousekeepingWork {
    static let channel = "scim_reapply"
    static let lookAnywayNanoseconds: Int64 = 60_000_000_000
    static let lookWithoutNotificationsNanoseconds: Int64 = 2_000_000_000

    let runner: ReapplyJobRunner
    let connection: PostgresConnection
    let logger: Logger
    let clock: MonotonicClock
    private var nextLook: Int64 = 0
    /// When it next asks for the log's maintenance (when it starts, then hourly;
    /// the database does it at most hourly for the whole deployment).
    private var nextMaintenance: Int64 = 0
    static let maintenanceNanoseconds: Int64 = 3_600_000_000_000
    private var listeningGeneration = -1
    private var working = false

    let store: PostgresStore

    public init(store: PostgresStore, logger: Logger, clock: MonotonicClock) {
        self.store = store
        runner = ReapplyJobRunner(store: store)
        connection = store.connection
        self.logger = logger
        self.clock = clock
    }

    public func run() {
        let now = clock.now()
        if now >= nextMaintenance { maintainLog(now) }
        if !working {
            let notified = listen() && (connection.takeNotifications() ?? 0) > 0
            guard notified || now >= nextLook else { return }
        }
        do {
            switch try runner.runBatch() {
            case .idle:
                working = false
                nextLook = now + (connection.pooling == .transaction ? Self.lookWithoutNotificationsNanoseconds : Self.lookAnywayNanoseconds)
            case .progressed(let job, let processed, let finished):
                working = true
                store.counters?.count(.reapplyBatch)
                if finished { logger.info("re-apply job finished", metadata: ["job": "\(job)", "processed": "\(processed)"]) }
            }
        } catch {
            working = false
            nextLook = now + 5_000_000_000
            logger.warning("re-apply batch failed", metadata: ["error": "\(error)"])
        }
    }

    private func maintainLog(_ now: Int64) {
        do {
            let ran = try store.transaction { (transaction) throws(SCIMError) -> Bool in
                guard let transaction = transaction as? PostgresTransaction else { return false }
                return try transaction.query("select scim.maintain_provisioning_log() as ran", prepared: false).bool(0, "ran") ?? false
            }
            if ran { store.counters?.count(.logMaintenance) }
            if ran { logger.info("provisioning log maintained (partitions ahead, months past the retention dropped)") }
            nextMaintenance = now + Self.maintenanceNanoseconds
        } catch {
            // The database may be away; try again in five minutes.
            nextMaintenance = now + 300_000_000_000
            logger.warning("provisioning log maintenance failed", metadata: ["error": "\(error)"])
        }
    }

    /// LISTEN on each new connection; false while there is none (the next request makes one).
    private func listen() -> Bool {
        guard connection.isConnected, connection.pooling == .session else { return false }
        if listeningGeneration == connection.generation { return true }
        do {
            try connection.executeScript("listen \(Self.channel)")
            listeningGeneration = connection.generation
            // Jobs queued while nobody listened on this connection: look now.
            nextLook = 0
            return true
        } catch {
            return false
        }
    }
}
