import Logging
import SCIMCore
import SCIMPostgres
import SCIMSettings

/// The responder's settings, each checked once at start: a value that is there but wrong stops the
/// start with a message that names it and where it was set.
struct ResponderOptions {
    enum Listen: Equatable {
        case address(String)
        case inherited
        /// Nothing said: a listening socket on fd 0 is used when there is one.
        case none
    }

    let databaseURL: String
    let listen: Listen
    let workers: Int
    let socketMode: UInt32
    let backlog: Int32
    let pidFile: String?
    let logLevel: Logger.Level
    let pooling: PostgresConnection.Pooling
    let preparedStatements: Bool
    /// 0: no statement timeout.
    let statementTimeoutMilliseconds: Int
    let reconnectWaitMilliseconds: Int
    let tenantMaxWorkers: Int
    let requestDeadlineSeconds: Int
    /// Successful reads counted per minute (scim.read_counts) rather than logged one row each.
    let countReads: Bool
    /// A request slower than this logs its statements' timings; 0: never.
    let slowRequestMilliseconds: Int
    let service: SCIMService.Configuration

    init(_ settings: Settings) throws(SettingsError) {
        guard let databaseURL = DatabaseLocation.resolve(environment: settings.environment) else {
            throw SettingsError(DatabaseLocation.missingMessage)
        }
        self.databaseURL = databaseURL
        if let address = settings.text("SCIM_LISTEN") {
            guard try !settings.flag("SCIM_INHERIT", default: false) else {
                throw SettingsError("SCIM_LISTEN and SCIM_INHERIT both given: listen on an address, or use the socket on fd 0, not both.")
            }
            listen = .address(address)
        } else {
            listen = try settings.flag("SCIM_INHERIT", default: false) ? .inherited : .none
        }
        workers = try settings.integer("SCIM_WORKERS", default: 4, in: 1...256)
        socketMode = try settings.octalMode("SCIM_SOCKET_MODE", default: 0o660)
        backlog = Int32(try settings.integer("SCIM_BACKLOG", default: 1024, in: 1...65_535))
        pidFile = settings.text("SCIM_PID_FILE")
        let level = try settings.choice("SCIM_LOG_LEVEL", Logger.Level.allCases.map(\.rawValue), default: "info")
        logLevel = Logger.Level(rawValue: level) ?? .info
        pooling = PostgresConnection.Pooling(rawValue: try settings.choice("SCIM_DB_POOL_MODE", ["session", "transaction"], default: "session"))!
        // PgBouncer before 1.21 cannot carry named prepared statements across its server connections.
        preparedStatements = try settings.flag("SCIM_DB_PREPARED_STATEMENTS", default: pooling == .session)
        // Below nginx's 30 s fastcgi_read_timeout, so a slow query is a SCIM 503, not a gateway timeout.
        statementTimeoutMilliseconds = try settings.integer("SCIM_DB_STATEMENT_TIMEOUT_MS", default: 10_000, in: 0...3_600_000)
        // How long a transaction may wait for the database to come back (a restart, a failover),
        // within the request's deadline.
        reconnectWaitMilliseconds = try settings.integer("SCIM_DB_RECONNECT_MS", default: 3_200, in: 0...600_000)
        // One tenant may hold half the workers while others are served (FairShare), and every
        // request stops within its deadline, below nginx's 30 s: the client gets a SCIM 503 rather
        // than a gateway error.
        tenantMaxWorkers = try settings.integer("SCIM_TENANT_MAX_WORKERS", default: max(1, workers / 2), in: 1...Int.max)
        requestDeadlineSeconds = try settings.integer("SCIM_REQUEST_DEADLINE_SECONDS", default: 25, in: 1...3_600)
        slowRequestMilliseconds = try settings.integer("SCIM_SLOW_REQUEST_MS", default: 1_000, in: 0...3_600_000)
        countReads = try settings.choice("SCIM_LOG_READS", ["counts", "rows"], default: "counts") == "counts"
        var service = SCIMService.Configuration()
        service.publicOrigin = try settings.origin("SCIM_PUBLIC_URL")
        service.maxBodyBytes = try settings.integer("SCIM_MAX_BODY_BYTES", default: service.maxBodyBytes, in: 1_024...(64 << 20))
        service.maxListCount = try settings.integer("SCIM_MAX_PAGE_SIZE", default: service.maxListCount, in: 1...10_000)
        self.service = service
    }

    /// What `--check-config` prints: each effective value (the database without its password).
    var summary: String {
        let listenText: String
        switch listen {
        case .address(let address): listenText = address
        case .inherited: listenText = "the socket on fd 0"
        case .none: listenText = "the socket systemd passes (LISTEN_FDS), else the one on fd 0"
        }
        return [
            "database: \(DatabaseLocation.redacted(databaseURL))",
            "listen: \(listenText)",
            "workers: \(workers) (a tenant may hold \(tenantMaxWorkers) while others are served)",
            "socket mode: \(String(socketMode, radix: 8)), backlog: \(backlog)",
            "pid file: \(pidFile ?? "none")",
            "log level: \(logLevel.rawValue)",
            "pool mode: \(pooling.rawValue), prepared statements: \(preparedStatements ? "on" : "off")",
            "statement timeout: \(statementTimeoutMilliseconds == 0 ? "off" : "\(statementTimeoutMilliseconds) ms")",
            "waiting for the database: up to \(reconnectWaitMilliseconds) ms a transaction",
            "request deadline: \(requestDeadlineSeconds) s",
            "successful reads: \(countReads ? "counted per minute" : "logged one row each")",
            "slow requests: \(slowRequestMilliseconds == 0 ? "not logged" : "over \(slowRequestMilliseconds) ms logged with their statements")",
            "public origin: \(service.publicOrigin ?? "from each request")",
            "largest body: \(service.maxBodyBytes) bytes, largest page: \(service.maxListCount)",
            "configuration is valid",
        ].joined(separator: "\n")
    }
}
