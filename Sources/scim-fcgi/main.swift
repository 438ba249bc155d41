import ArgumentParser
import Logging
import SCIMAdmin
import SCIMConsole
import SCIMCore
import SCIMFastCGI
import SCIMPostgres
import SCIMSettings
#if canImport(Glibc)
import Glibc
#endif

/// The FastCGI responder: nginx passes /scim/v2/... to it.
struct SCIMResponder: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scim-fcgi",
        abstract: "SCIM 2.0 FastCGI responder (behind nginx).",
        discussion: """
            Listens on --listen (a unix socket path or host:port), on the socket a systemd socket unit passes \
            (LISTEN_FDS), or on a listening socket on fd 0 as spawn-fcgi hands over. Every option can also be \
            set by the environment variable named in its help, or in the environment file (/etc/scim/scim.env). \
            The database is DATABASE_URL, or the quickstart's local cluster.
            """)

    @Option(help: "Unix socket path or host:port to listen on [SCIM_LISTEN]. Omit to use a socket inherited on fd 0.")
    var listen: String?

    @Flag(help: "Use the listening socket inherited on fd 0 (spawn-fcgi, systemd) [SCIM_INHERIT=1].")
    var inherit = false

    @Option(help: "Worker processes [SCIM_WORKERS] (default 4).")
    var workers: String?

    @Option(help: "Octal permissions of a unix socket [SCIM_SOCKET_MODE] (default 660).")
    var socketMode: String?

    @Option(help: "Listen backlog [SCIM_BACKLOG] (default 1024).")
    var backlog: String?

    @Option(help: "Write the supervisor's pid to this file [SCIM_PID_FILE].")
    var pidFile: String?

    @Option(help: "The environment file to read [SCIM_CONFIG_FILE] (default /etc/scim/scim.env when it exists).")
    var config: String?

    @Flag(help: "Check the settings, print them, and exit (0 when they are good).")
    var checkConfig = false

    mutating func run() throws {
        var settings: Settings
        let options: ResponderOptions
        do {
            settings = try Settings.load(environment: Environment.current, file: config)
            settings.set("SCIM_LISTEN", listen, origin: "--listen")
            settings.set("SCIM_INHERIT", inherit ? "on" : nil, origin: "--inherit")
            settings.set("SCIM_WORKERS", workers, origin: "--workers")
            settings.set("SCIM_SOCKET_MODE", socketMode, origin: "--socket-mode")
            settings.set("SCIM_BACKLOG", backlog, origin: "--backlog")
            settings.set("SCIM_PID_FILE", pidFile, origin: "--pid-file")
            options = try ResponderOptions(settings)
        } catch {
            throw ValidationError(error.description)
        }
        if checkConfig {
            print(options.summary)
            return
        }
        LoggingSystem.bootstrap { JSONLogHandler(label: $0, level: options.logLevel) }
        let logger = Logger(label: "scim-fcgi")
        let databaseURL = options.databaseURL
        let workerCount = options.workers
        let fairShare = FairShare(cap: options.tenantMaxWorkers)
        let deadlineSeconds = options.requestDeadlineSeconds
        let usePrepared = options.preparedStatements
        let statementTimeout = options.statementTimeoutMilliseconds
        let serviceConfiguration = options.service
        let slowRequestMilliseconds = options.slowRequestMilliseconds
        let countReads = options.countReads
        if slowRequestMilliseconds > 0 { StatementTimings.switchOn() }

        try FastCGI.initialize()
        let listenFD: Int32
        let systemdSocket = try FastCGI.systemdSocket(environment: Environment.current)
        switch (options.listen, systemdSocket) {
        case (.address(let address), nil):
            listenFD = try FastCGI.openSocket(address, backlog: options.backlog)
            if address.hasPrefix("/") { chmod(address, mode_t(options.socketMode)) }
        case (.address(let address), _?):
            throw ValidationError("systemd passed a socket, and SCIM_LISTEN (or --listen) names \(address): use one of them.")
        case (_, let fd?):
            listenFD = fd
        case (.inherited, nil):
            guard FastCGI.standardInputIsListeningSocket else {
                throw ValidationError("--inherit: fd 0 is not a listening socket.")
            }
            listenFD = 0
        case (.none, nil):
            guard FastCGI.standardInputIsListeningSocket else {
                throw ValidationError("Give --listen (or SCIM_LISTEN), start me with a listening socket on fd 0, or by a systemd socket unit.")
            }
            listenFD = 0
        }
        if let path = options.pidFile {
            writePidFile(path)
        }
        let maxBody = serviceConfiguration.maxBodyBytes
        let configuration = serviceConfiguration
        // Room for three generations of workers at once (two quick SIGHUPs while the first
        // generation still finishes a long request).
        let board = WorkerBoard(capacity: 3 * workerCount + 2)
        let metrics = MetricsBoard(workerCapacity: 3 * workerCount + 2)
        /// In a child, after fork: its own connection, opened when first used. It works only
        /// through a role that row-level security confines (RowLevelSecurityCheck).
        func childStore() -> PostgresStore {
            let connection = PostgresConnection(conninfo: databaseURL, pooling: options.pooling, usePreparedStatements: usePrepared,
                                                statementTimeoutMilliseconds: statementTimeout > 0 ? statementTimeout : nil)
            let store = PostgresStore(connection: connection, logger: logger, requiresConfinedRole: true)
            store.reconnectWaitMilliseconds = options.reconnectWaitMilliseconds
            store.counters = metrics
            return store
        }
        let supervisor = Supervisor(workerCount: workerCount, board: board, logger: logger, housekeeperMain: {
            // Re-apply jobs, the log's partitions and the statistics of growing tables.
            let store = childStore()
            let clock = MonotonicClock { monotonicNanoseconds() }
            let housekeeping = HousekeepingWork(store: store, logger: logger, clock: clock)
            let statistics = GrowingTableStatistics(store: store, logger: logger, clock: clock)
            return Housekeeper.run(logger: logger) {
                housekeeping.run()
                statistics.lookIfDue()
            }
        }) { position in
            let store = childStore()
            let clock = MonotonicClock { monotonicNanoseconds() }
            let admission = board.flatMap { board in position.map { BoardAdmission(board: board, position: $0, share: fairShare) } }
            store.admission = admission
            let service = SCIMService(store: store, configuration: configuration, clock: clock, admission: admission)
            if countReads { service.readTally = ReadTally(wallClock: Self.wallSecondsNow) }
            let admin = AdminJSONAPI(store: store, publicOrigin: configuration.publicOrigin, scimPathPrefix: configuration.pathPrefix)
            let console = ConsoleApp(store: store, publicOrigin: configuration.publicOrigin, scimPathPrefix: configuration.pathPrefix,
                                     now: { Double(time(nil)) })
            let status = WorkerLoop(listenFD: listenFD, maxBodyBytes: maxBody, logger: logger, metrics: metrics, position: position).run({ request in
                if request.path == "/metrics" { return MetricsEndpoint.response(request, metrics) }
                store.deadline = RequestDeadline(seconds: deadlineSeconds, clock: clock)
                defer { store.deadline = nil }
                let started = clock.now()
                if slowRequestMilliseconds > 0 { StatementTimings.reset() }
                let response: HTTPResponse
                if request.path.hasPrefix(AdminJSONAPI.pathPrefix) {
                    response = admin.handle(request)
                } else if request.path == ConsoleApp.pathPrefix || request.path.hasPrefix(ConsoleApp.pathPrefix + "/") {
                    response = console.handle(request)
                } else {
                    response = service.handle(request)
                }
                let elapsedMilliseconds = Double(clock.now() - started) / 1_000_000
                if slowRequestMilliseconds > 0, elapsedMilliseconds >= Double(slowRequestMilliseconds) {
                    logger.warning("slow request", metadata: ["duration_ms": "\((elapsedMilliseconds * 10).rounded() / 10)",
                                                              "path": "\(request.path.prefix(300))", "statements": "\(StatementTimings.summary())"])
                }
                return response
            }, idle: {
                service.flushReadCounts()
            })
            // Counted reads not written yet go before the worker does.
            service.flushReadCounts()
            return status
        }
        let status = supervisor.run()
        throw ExitCode(status)
    }

    private static func wallSecondsNow() -> Double {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Double(now.tv_sec) + Double(now.tv_nsec) / 1_000_000_000
    }

    private func writePidFile(_ path: String) {
        guard let file = fopen(path, "w") else { return }
        fputs("\(getpid())\n", file)
        fclose(file)
    }
}

enum Environment {
    static var current: [String: String] { keyValuePairs(environ) }
}

SCIMResponder.main()
