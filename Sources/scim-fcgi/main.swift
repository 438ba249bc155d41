import ArgumentParser
import Logging
import SCIMAdmin
import SCIMConsole
import SCIMCore
import SCIMFastCGI
import SCIMPostgres
#if canImport(Glibc)
import Glibc
#endif

/// The FastCGI responder: nginx passes /scim/v2/... to it.
struct SCIMResponder: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scim-fcgi",
        abstract: "SCIM 2.0 FastCGI responder (behind nginx).",
        discussion: """
            Listens on --listen (a unix socket path or host:port), or on an already open listening socket \
            on fd 0 as spawn-fcgi and systemd hand over. Every option can also be set by the environment \
            variable named in its help. The database is DATABASE_URL, or the quickstart's local cluster.
            """)

    @Option(help: "Unix socket path or host:port to listen on [SCIM_LISTEN]. Omit to use a socket inherited on fd 0.")
    var listen: String?

    @Flag(help: "Use the listening socket inherited on fd 0 (spawn-fcgi, systemd) [SCIM_INHERIT=1].")
    var inherit = false

    @Option(help: "Worker processes [SCIM_WORKERS] (default 4).")
    var workers: Int?

    @Option(help: "Octal permissions of a unix socket [SCIM_SOCKET_MODE] (default 660).")
    var socketMode: String?

    @Option(help: "Listen backlog [SCIM_BACKLOG] (default 1024).")
    var backlog: Int32?

    @Option(help: "Write the supervisor's pid to this file [SCIM_PID_FILE].")
    var pidFile: String?

    mutating func run() throws {
        let env = Environment.current
        let level = Logger.Level(rawValue: env["SCIM_LOG_LEVEL"] ?? "info") ?? .info
        LoggingSystem.bootstrap { JSONLogHandler(label: $0, level: level) }
        let logger = Logger(label: "scim-fcgi")

        guard let databaseURL = DatabaseLocation.resolve(environment: env) else {
            throw ValidationError(DatabaseLocation.missingMessage)
        }
        let workerCount = workers ?? env["SCIM_WORKERS"].flatMap { Int($0) } ?? 4
        // One tenant may hold half the workers while others are served (FairShare), and every
        // request stops within its deadline: below nginx's 30 s fastcgi_read_timeout, so the
        // client gets a SCIM 503 rather than a gateway error.
        let fairShare = FairShare(cap: try Self.positiveInteger(env, "SCIM_TENANT_MAX_WORKERS", default: max(1, workerCount / 2)))
        let deadlineSeconds = try Self.positiveInteger(env, "SCIM_REQUEST_DEADLINE_SECONDS", default: 25)
        let usePrepared = (env["SCIM_DB_PREPARED_STATEMENTS"] ?? "on") != "off"
        // Below nginx's 30 s fastcgi_read_timeout, so a slow query is a SCIM 503, not a gateway timeout.
        let statementTimeout = env["SCIM_DB_STATEMENT_TIMEOUT_MS"].flatMap { Int($0) } ?? 10_000
        var serviceConfiguration = SCIMService.Configuration()
        serviceConfiguration.publicOrigin = env["SCIM_PUBLIC_URL"].flatMap { url in
            var origin = Substring(url)
            while origin.last == "/" { origin = origin.dropLast() }
            return origin.isEmpty ? nil : String(origin)
        }
        if let limit = env["SCIM_MAX_BODY_BYTES"].flatMap({ Int($0) }) { serviceConfiguration.maxBodyBytes = limit }
        if let limit = env["SCIM_MAX_PAGE_SIZE"].flatMap({ Int($0) }), limit > 0 { serviceConfiguration.maxListCount = limit }

        try FastCGI.initialize()
        let listenFD: Int32
        if let address = listen ?? env["SCIM_LISTEN"], !address.isEmpty, !inherit {
            listenFD = try FastCGI.openSocket(address, backlog: backlog ?? env["SCIM_BACKLOG"].flatMap { Int32($0) } ?? 1024)
            if address.hasPrefix("/") {
                let mode = mode_t(socketMode ?? env["SCIM_SOCKET_MODE"] ?? "660", radix: 8) ?? 0o660
                chmod(address, mode)
            }
        } else if inherit || env["SCIM_INHERIT"] == "1" || FastCGI.standardInputIsListeningSocket {
            guard FastCGI.standardInputIsListeningSocket else {
                throw ValidationError("--inherit: fd 0 is not a listening socket.")
            }
            listenFD = 0
        } else {
            throw ValidationError("Give --listen (or SCIM_LISTEN), or start me with a listening socket on fd 0.")
        }
        if let path = pidFile ?? env["SCIM_PID_FILE"] {
            writePidFile(path)
        }
        let maxBody = serviceConfiguration.maxBodyBytes
        let configuration = serviceConfiguration
        let board = WorkerBoard(capacity: 2 * workerCount + 2)
        let supervisor = Supervisor(workerCount: workerCount, board: board, logger: logger) { position in
            // In the worker, after fork: its own connection, opened on the first request.
            let connection = PostgresConnection(conninfo: databaseURL, usePreparedStatements: usePrepared,
                                                statementTimeoutMilliseconds: statementTimeout > 0 ? statementTimeout : nil)
            // Serves only through a role that row-level security confines (RowLevelSecurityCheck).
            let store = PostgresStore(connection: connection, logger: logger, requiresConfinedRole: true)
            let clock = MonotonicClock { monotonicNanoseconds() }
            let admission = board.flatMap { board in position.map { BoardAdmission(board: board, position: $0, share: fairShare) } }
            store.admission = admission
            let service = SCIMService(store: store, configuration: configuration, clock: clock, admission: admission)
            let admin = AdminJSONAPI(store: store, publicOrigin: configuration.publicOrigin, scimPathPrefix: configuration.pathPrefix)
            let console = ConsoleApp(store: store, publicOrigin: configuration.publicOrigin, scimPathPrefix: configuration.pathPrefix,
                                     now: { Double(time(nil)) })
            let idleWork = IdleWork(store: store, logger: logger, clock: clock)
            return WorkerLoop(listenFD: listenFD, maxBodyBytes: maxBody, logger: logger).run({ request in
                store.deadline = RequestDeadline(seconds: deadlineSeconds, clock: clock)
                defer { store.deadline = nil }
                if request.path.hasPrefix(AdminJSONAPI.pathPrefix) { return admin.handle(request) }
                if request.path == ConsoleApp.pathPrefix || request.path.hasPrefix(ConsoleApp.pathPrefix + "/") { return console.handle(request) }
                return service.handle(request)
            }, idle: idleWork.run)
        }
        let status = supervisor.run()
        throw ExitCode(status)
    }

    /// A setting that must be a whole number above zero when given: a bad value stops the start.
    static func positiveInteger(_ env: [String: String], _ name: String, default value: Int) throws -> Int {
        guard let text = env[name], !text.isEmpty else { return value }
        guard let number = Int(text), number > 0 else { throw ValidationError("\(name)=\(text): expected a whole number above 0.") }
        return number
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
