import CLibPQ
import SCIMCore
#if canImport(Glibc)
import Glibc
#endif

/// One libpq connection. Every C call to libpq in the project is in this file, but for the notice
/// receiver libpq calls back (`DatabaseNotices.swift`).
public final class PostgresConnection {
    /// What lies between the responder and PostgreSQL.
    public enum Pooling: String, Sendable {
        /// PostgreSQL itself, or a pooler in session mode: a session keeps its settings and
        /// prepared statements, and hears notifications.
        case session
        /// A pooler in transaction mode (PgBouncer's `pool_mode = transaction`): each transaction
        /// may run on another server connection, so nothing may live in the session: settings go
        /// inside each transaction, startup `options` are not sent (PgBouncer refuses them), and
        /// LISTEN is not used.
        case transaction
    }

    private var handle: OpaquePointer?
    private let conninfo: String
    public let pooling: Pooling
    private let usePreparedStatements: Bool
    private var preparedNames: [String: String] = [:]
    /// Planning a list statement costs more than running it (measured: 2.5 ms against 0.5 ms with
    /// the indexes on scim.users), so statements are prepared once per connection. Filters make
    /// the text vary by shape, not by value; past this many shapes, new ones run unprepared.
    static let maxPreparedStatements = 500

    let statementTimeoutMilliseconds: Int?

    /// PostgreSQL makes a generic plan once per connection, from the table sizes of that moment,
    /// and keeps it until ANALYZE changes the statistics. On a new installation the first plans
    /// are made while the tables are empty, where a sequential scan, or any index that starts
    /// with tenant_id, costs as little as the right index; an initial sync then grows the tables
    /// faster than autovacuum analyzes them (a minute at best), and the plans stayed: on a fresh
    /// database an Entra-shaped cycle of 20,000 users ran at 626 requests a second, against about
    /// 2,000 on one whose tables were already large. The connection forgets its plans this often,
    /// so each is made again from the sizes of the moment (PostgreSQL reads a table's current size
    /// when it plans): the fresh database's cycle then ran at 1,300 a second. The prepared
    /// statements and functions stay; making their plans again costs milliseconds a minute.
    static let planLifetimeNanoseconds: Int64 = 10_000_000_000
    var plansMadeSince: Int64 = 0

    /// Opens no connection yet; `connect()` or the first statement does. A statement timeout makes
    /// a runaway query fail (SQLSTATE 57014, answered 503) before nginx gives up on the request.
    public init(conninfo: String, pooling: Pooling = .session, usePreparedStatements: Bool = true, statementTimeoutMilliseconds: Int? = nil) {
        self.conninfo = conninfo
        self.pooling = pooling
        self.usePreparedStatements = usePreparedStatements
        self.statementTimeoutMilliseconds = statementTimeoutMilliseconds
    }

    deinit { close() }

    /// Counts the connections made: a new one may be to another server or as another role.
    public private(set) var generation = 0
    /// Counts the round trips made (a pipeline is one): what a request costs in waits for the server.
    public private(set) var roundTrips = 0

    public var isConnected: Bool {
        guard let handle else { return false }
        return PQstatus(handle) == CONNECTION_OK
    }

    public func connect() throws(PostgresError) {
        close()
        // libpq keeps the last value of a repeated keyword: the defaults come first, so the URL's own
        // connect_timeout and application_name win. A bounded connect timeout, so a request that
        // arrives while the database is down fails fast.
        var keys = ["connect_timeout", "application_name", "dbname"]
        var values = ["3", "scim-server", conninfo]
        if pooling == .session {
            // The URL's own options (a DBA's search_path, say) come after the session settings,
            // so both hold and the DBA's value wins where they name the same setting.
            keys.append("options")
            values.append((sessionSettings.map { "-c \($0.name)=\($0.value)" } + [Self.options(in: conninfo)].compactMap { $0 })
                .joined(separator: " "))
        }
        let connection: OpaquePointer? = withCStrings(keys) { keyPointers in
            withCStrings(values) { valuePointers in
                PQconnectdbParams(keyPointers, valuePointers, 1)
            }
        }
        guard let connection else { throw PostgresError(kind: .connection, message: "out of memory creating a connection") }
        guard PQstatus(connection) == CONNECTION_OK else {
            let message = String(cString: PQerrorMessage(connection)).trimmedMessage
            PQfinish(connection)
            throw PostgresError(kind: .connection, message: message)
        }
        PQsetNoticeReceiver(connection, databaseNoticeReceiver, nil)
        handle = connection
        preparedNames = [:]
        plansMadeSince = monotonicNanoseconds()
        generation += 1
    }

    /// The `options` a connection string or URL carries, as libpq reads it (percent-decoded).
    static func options(in conninfo: String) -> String? {
        guard let parsed = PQconninfoParse(conninfo, nil) else { return nil }
        defer { PQconninfoFree(parsed) }
        var option = parsed
        while let keyword = option.pointee.keyword {
            if String(cString: keyword) == "options", let value = option.pointee.val {
                let text = String(cString: value)
                return text.isEmpty ? nil : text
            }
            option += 1
        }
        return nil
    }

    public func close() {
        if let handle { PQfinish(handle) }
        handle = nil
        preparedNames = [:]
    }

    /// Runs a statement with binds. With `prepared`, the statement is prepared once per connection
    /// under a generated name; without, it goes through the unnamed statement (PgBouncer-safe).
    @discardableResult
    public func execute(_ sql: SQL, prepared: Bool = false) throws(PostgresError) -> PostgresRows {
        if !isConnected { try connect() }
        guard let handle else { throw PostgresError(kind: .connection, message: "not connected") }
        let (text, binds) = sql.render()
        let started = StatementTimings.isOn ? monotonicNanoseconds() : 0
        defer { if started != 0 { StatementTimings.record(text, since: started) } }
        roundTrips += 1
        let result: OpaquePointer?
        if prepared && usePreparedStatements && (preparedNames[text] != nil || preparedNames.count < Self.maxPreparedStatements) {
            let name = try preparedName(for: text, count: binds.count, handle: handle)
            result = withOptionalCStrings(binds) { params in
                PQexecPrepared(handle, name, Int32(binds.count), params, nil, nil, 0)
            }
        } else {
            result = withOptionalCStrings(binds) { params in
                text.withCString { PQexecParams(handle, $0, Int32(binds.count), nil, params, nil, nil, 0) }
            }
        }
        return try consume(result, handle: handle)
    }

    /// Sends the statements in one go (libpq's pipeline mode: one network round trip, one sync) and
    /// returns the last one's rows. They run in order in the session's transaction (without one,
    /// in the implicit transaction that ends at the sync); the first that fails is thrown, and the
    /// server skips the rest.
    @discardableResult
    public func executePipeline(_ statements: [PipelineStatement]) throws(PostgresError) -> PostgresRows {
        if statements.count == 1, case .bound(let sql, let prepared) = statements[0] { return try execute(sql, prepared: prepared) }
        if statements.count == 1, case .plain(let text) = statements[0] { return try executeScript(text) }
        return try PipelineOutcome.lastRows(try runPipeline(statements))
    }

    /// Sends the statements in one go and returns what became of each: a statement's own failure
    /// is its outcome (the server skips the rest); only a lost connection is thrown.
    public func runPipeline(_ statements: [PipelineStatement]) throws(PostgresError) -> [PipelineOutcome] {
        if !isConnected { try connect() }
        guard let handle else { throw PostgresError(kind: .connection, message: "not connected") }
        // Named statements are made before the pipeline (once per connection), so it holds only executions.
        var rendered: [(text: String, binds: [String?], name: String?)] = []
        for statement in statements {
            switch statement {
            case .plain(let text):
                rendered.append((text, [], nil))
            case .bound(let sql, let prepared):
                let (text, binds) = sql.render()
                let name = prepared && usePreparedStatements && (preparedNames[text] != nil || preparedNames.count < Self.maxPreparedStatements)
                    ? try preparedName(for: text, count: binds.count, handle: handle) : nil
                rendered.append((text, binds, name))
            }
        }
        let started = StatementTimings.isOn ? monotonicNanoseconds() : 0
        defer { if started != 0 { StatementTimings.record(rendered.map(\.text).joined(separator: " | "), since: started) } }
        roundTrips += 1
        let now = monotonicNanoseconds()
        let forgetsPlans = now - plansMadeSince > Self.planLifetimeNanoseconds
        if forgetsPlans {
            rendered.insert(("discard plans", [], nil), at: 0)
            plansMadeSince = now
        }
        guard PQenterPipelineMode(handle) == 1 else {
            throw PostgresError(kind: .server, message: "cannot enter pipeline mode: \(String(cString: PQerrorMessage(handle)).trimmedMessage)")
        }
        var sent = true
        for item in rendered where sent {
            let status = withOptionalCStrings(item.binds) { params in
                if let name = item.name { return PQsendQueryPrepared(handle, name, Int32(item.binds.count), params, nil, nil, 0) }
                return item.text.withCString { PQsendQueryParams(handle, $0, Int32(item.binds.count), nil, params, nil, nil, 0) }
            }
            sent = status == 1
        }
        if sent { sent = PQpipelineSync(handle) == 1 }
        guard sent else {
            let error = PostgresError(kind: .connection, message: String(cString: PQerrorMessage(handle)).trimmedMessage)
            close()
            throw error
        }
        var outcomes: [PipelineOutcome] = []
        outcomes.reserveCapacity(rendered.count)
        var lost: PostgresError?
        for _ in rendered {
            guard lost == nil, let result = PQgetResult(handle) else {
                lost = lost ?? PostgresError(kind: .connection, message: String(cString: PQerrorMessage(handle)).trimmedMessage)
                outcomes.append(.skipped)
                continue
            }
            if PQresultStatus(result) == PGRES_PIPELINE_ABORTED {
                PQclear(result)
                outcomes.append(.skipped)
            } else {
                do {
                    outcomes.append(.rows(try consume(result, handle: handle, closingOnFailure: false)))
                } catch {
                    if error.kind == .connection { lost = error }
                    outcomes.append(.failed(error))
                }
            }
            // Each statement's results end with a null result.
            while let extra = PQgetResult(handle) { PQclear(extra) }
        }
        // Up to the sync's own result, then back to ordinary mode.
        for _ in 0..<3 {
            guard let result = PQgetResult(handle) else { continue }
            let status = PQresultStatus(result)
            PQclear(result)
            if status == PGRES_PIPELINE_SYNC { break }
        }
        if PQexitPipelineMode(handle) != 1 || PQstatus(handle) != CONNECTION_OK {
            close()
            throw lost ?? PostgresError(kind: .connection, message: "the connection broke in a pipeline")
        }
        if forgetsPlans, case .failed(let failure) = outcomes.removeFirst(), !outcomes.isEmpty {
            // What the caller sent was skipped for it: the caller hears why.
            outcomes[0] = .failed(failure)
        }
        for case .failed(let failure) in outcomes where failure.isConnectionFailure {
            close()
            break
        }
        return outcomes
    }

    /// How many notifications (LISTEN/NOTIFY) have arrived since the last call, read without a
    /// round trip from what the server has already sent; nil when not connected.
    public func takeNotifications() -> Int? {
        guard isConnected, let handle else { return nil }
        guard PQconsumeInput(handle) == 1 else { return nil }
        var count = 0
        while let notification = PQnotifies(handle) {
            PQfreemem(notification)
            count += 1
        }
        return count
    }

    /// Runs a statement without binds (BEGIN, COMMIT, DDL scripts with several statements).
    @discardableResult
    public func executeScript(_ text: String) throws(PostgresError) -> PostgresRows {
        if !isConnected { try connect() }
        guard let handle else { throw PostgresError(kind: .connection, message: "not connected") }
        let started = StatementTimings.isOn ? monotonicNanoseconds() : 0
        defer { if started != 0 { StatementTimings.record(text, since: started) } }
        roundTrips += 1
        return try consume(PQexec(handle, text), handle: handle)
    }

    private func preparedName(for text: String, count: Int, handle: OpaquePointer) throws(PostgresError) -> String {
        if let name = preparedNames[text] { return name }
        let name = "scim_\(preparedNames.count + 1)"
        let result = PQprepare(handle, name, text, Int32(count), nil)
        _ = try consume(result, handle: handle)
        preparedNames[text] = name
        return name
    }

    private func consume(_ result: OpaquePointer?, handle: OpaquePointer, closingOnFailure: Bool = true) throws(PostgresError) -> PostgresRows {
        guard let result else {
            let error = PostgresError(kind: PQstatus(handle) == CONNECTION_OK ? .server : .connection,
                                      message: String(cString: PQerrorMessage(handle)).trimmedMessage)
            if error.kind == .connection && closingOnFailure { close() }
            throw error
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_TUPLES_OK, PGRES_COMMAND_OK, PGRES_EMPTY_QUERY:
            let columnCount = Int(PQnfields(result))
            let rowCount = Int(PQntuples(result))
            var columns: [String] = []
            columns.reserveCapacity(columnCount)
            for c in 0..<columnCount { columns.append(String(cString: PQfname(result, Int32(c)))) }
            var rows: [[String?]] = []
            rows.reserveCapacity(rowCount)
            for r in 0..<rowCount {
                var row: [String?] = []
                row.reserveCapacity(columnCount)
                for c in 0..<columnCount {
                    if PQgetisnull(result, Int32(r), Int32(c)) == 1 {
                        row.append(nil)
                    } else {
                        row.append(String(cString: PQgetvalue(result, Int32(r), Int32(c))))
                    }
                }
                rows.append(row)
            }
            let affected = Int(String(cString: PQcmdTuples(result))) ?? 0
            return PostgresRows(columns: columns, rows: rows, affected: affected)
        default:
            func field(_ code: Int32) -> String? {
                guard let pointer = PQresultErrorField(result, code) else { return nil }
                return String(cString: pointer)
            }
            let connectionLost = PQstatus(handle) != CONNECTION_OK
            let error = PostgresError(kind: connectionLost ? .connection : .server,
                                      message: field(Int32(UInt8(ascii: "M"))) ?? String(cString: PQresultErrorMessage(result)).trimmedMessage,
                                      sqlState: field(Int32(UInt8(ascii: "C"))).map(SQLState.init(rawValue:)),
                                      constraint: field(Int32(UInt8(ascii: "n"))),
                                      detail: field(Int32(UInt8(ascii: "D"))))
            // A read-only server will not become the primary again under this connection: drop
            // it, so the next attempt connects afresh and libpq picks the read-write host.
            if closingOnFailure && (connectionLost || error.sqlState?.meansServerIsNotPrimary == true) { close() }
            throw error
        }
    }
}

private func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let duplicates = strings.map { strdup($0) }
    defer { duplicates.forEach { free($0) } }
    var pointers = duplicates.map { UnsafePointer($0) }
    pointers.append(nil)
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}

private func withOptionalCStrings<R>(_ strings: [String?], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
    let duplicates = strings.map { $0.map { strdup($0) } ?? nil }
    defer { duplicates.forEach { free($0) } }
    let pointers = duplicates.map { $0.map { UnsafePointer($0) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress) }
}

extension String {
    var trimmedMessage: String {
        var s = Substring(self)
        while let last = s.last, last == "\n" || last == " " { s = s.dropLast() }
        return String(s)
    }
}
