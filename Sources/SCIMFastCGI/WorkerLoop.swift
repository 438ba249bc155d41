import CFastCGI
import Logging
import SCIMCore
#if canImport(Glibc)
import Glibc
#endif

/// The loop of one worker process: new connections and the connections a client keeps open to it.
/// SIGTERM stays blocked in workers and is looked for (`sigpending`) between requests only, so a
/// request in flight always finishes: the worker then drains connections already queued, serves
/// its kept connections until nginx closes them, and exits 0. Waiting with a short timeout keeps
/// that check within a quarter second without a signal handler.
public struct WorkerLoop {
    public typealias Handler = (HTTPRequest) -> HTTPResponse

    let listenFD: Int32
    let maxBodyBytes: Int
    let logger: Logger
    /// Where every answered request is counted.
    let metrics: MetricsBoard?
    /// This worker's place on the boards (for its busy flag); nil when every place is taken
    /// (generations of workers overlapping after quick SIGHUPs): its requests still count.
    let position: Int?

    public init(listenFD: Int32, maxBodyBytes: Int, logger: Logger, metrics: MetricsBoard? = nil, position: Int? = nil) {
        self.listenFD = listenFD
        self.maxBodyBytes = maxBodyBytes
        self.logger = logger
        self.metrics = metrics
        self.position = position
    }

    static let drainNanoseconds: Int64 = 1_000_000_000
    /// How long a stopping worker waits for nginx to close the connections it keeps (nginx closes
    /// an idle one after its upstream keepalive_timeout, a busy one after keepalive_requests).
    static let keptConnectionsNanoseconds: Int64 = 10_000_000_000

    /// `idle` runs whenever a quarter second passes without a request; keep it short, since
    /// requests nginx sends on the connections this worker keeps wait for it (longer work is the
    /// housekeeper's, see `Supervisor`).
    ///
    /// A client may keep a connection open for its next requests (nginx's `fastcgi_keep_conn`, off in
    /// our configuration, README "nginx"; other FastCGI clients). libfcgi would
    /// then read only that connection until nginx closes it, while nginx opens new connections
    /// that no worker takes: the deadlock FASTCGI.md measured. So a worker waits on the listening
    /// socket and on every connection it keeps, and serves whichever has a request. It never
    /// closes a kept connection itself (nginx could be sending on it that moment, and a write sent
    /// into a closing connection is not retried): a stopping worker serves its kept connections
    /// until nginx closes them.
    public func run(_ handler: Handler, idle: () -> Void = {}) -> Int32 {
        let flags = fcntl(listenFD, F_GETFL)
        _ = fcntl(listenFD, F_SETFL, flags | O_NONBLOCK)
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        sigaddset(&stopSignals, SIGTERM)
        sigaddset(&stopSignals, SIGINT)
        sigprocmask(SIG_BLOCK, &stopSignals, nil)
        guard let readiness = ConnectionReadiness(listenFD: listenFD) else {
            logger.critical("epoll failed", metadata: ["errno": "\(errno)"])
            return 1
        }
        defer { readiness.close() }
        var kept: [Int32: FastCGIRequestSlot] = [:]
        var spare: [FastCGIRequestSlot] = []
        var stoppingSince: Int64?
        /// Serves the slot's next request (false when there was none), then keeps or frees it.
        func serveNext(_ slot: FastCGIRequestSlot) -> Bool {
            guard slot.accept() else {
                spare.append(slot)
                return false
            }
            serve(slot, handler)
            let connection = slot.connection
            if connection >= 0 {
                kept[connection] = slot
                readiness.watch(connection)
            } else {
                spare.append(slot)
            }
            return true
        }
        while true {
            let ready = readiness.wait(milliseconds: stoppingSince != nil ? 50 : 250)
            if ready < 0 {
                if errno == EINTR { continue }
                logger.critical("epoll_wait failed", metadata: ["errno": "\(errno)"])
                return 1
            }
            if stoppingSince == nil {
                var pending = sigset_t()
                sigpending(&pending)
                if sigismember(&pending, SIGTERM) == 1 || sigismember(&pending, SIGINT) == 1 {
                    stoppingSince = monotonicNanoseconds()
                    readiness.stopWatchingListener()
                }
            }
            for fd in readiness.readyDescriptors(ready) {
                if fd == listenFD {
                    _ = serveNext(spare.popLast() ?? FastCGIRequestSlot(listenFD: listenFD))
                } else if let slot = kept.removeValue(forKey: fd) {
                    _ = serveNext(slot)
                }
            }
            guard let since = stoppingSince else {
                if ready == 0 { idle() }
                continue
            }
            // A stopping worker serves what is already queued, for a second at most: a socket that
            // outlives it (systemd's socket unit, the supervisor's fresh workers after SIGHUP) keeps
            // the rest queued for the next, and a steady load cannot hold the stop off for ever.
            let stopping = monotonicNanoseconds() - since
            var tookQueued = false
            if stopping <= Self.drainNanoseconds {
                tookQueued = serveNext(spare.popLast() ?? FastCGIRequestSlot(listenFD: listenFD))
            }
            if kept.isEmpty && !tookQueued { return 0 }
            if stopping > Self.keptConnectionsNanoseconds {
                logger.warning("nginx kept connections open past the stop; closing them", metadata: ["count": "\(kept.count)"])
                return 0
            }
        }
    }

    private func serve(_ slot: FastCGIRequestSlot, _ handler: Handler) {
        let started = monotonicNanoseconds()
        if let position { metrics?.setBusy(position, true) }
        defer { if let position { metrics?.setBusy(position, false) } }
        let parameters = slot.parameters()
        let requestId = parameters["REQUEST_ID"].flatMap { $0.isEmpty ? nil : $0 } ?? RequestID.generate()
        JSONLogHandler.currentRequestId.withLock { $0 = requestId }
        defer { JSONLogHandler.currentRequestId.withLock { $0 = nil } }
        let method = parameters["REQUEST_METHOD"] ?? "GET"
        let uri = parameters["REQUEST_URI"] ?? "/"
        let (path, rawQuery) = splitURI(uri)
        let contentLength = Int(parameters["CONTENT_LENGTH"] ?? "") ?? 0
        var response: HTTPResponse
        if contentLength > maxBodyBytes {
            // Checked before the body is read, here only: nothing behind this loop sees a larger body.
            response = .error(SCIMError(status: 413, detail: "The request body is larger than \(maxBodyBytes) bytes."))
        } else {
            let body = contentLength > 0 ? slot.readBody(limit: contentLength) : []
            var headers: [String: String] = [:]
            for (name, value) in parameters where name.hasPrefix("HTTP_") {
                headers[name.dropFirst(5).lowercased().replacingUnderscores] = value
            }
            if let type = parameters["CONTENT_TYPE"] { headers["content-type"] = type }
            let scheme = parameters["HTTPS"].map { $0.lowercased() == "on" } == true ? "https" : (parameters["REQUEST_SCHEME"] ?? "http")
            var host = parameters["HTTP_HOST"] ?? parameters["SERVER_NAME"] ?? "localhost"
            // Debian's fastcgi_params pass nginx's $host, which has no port; a browser's Origin has one.
            if !host.contains(":"), let port = parameters["SERVER_PORT"], port != (scheme == "https" ? "443" : "80") {
                host += ":" + port
            }
            var request = HTTPRequest(method: method, path: path, query: HTTPRequest.parseQuery(rawQuery), headers: headers,
                                      body: body, origin: "\(scheme)://\(host)")
            request.requestId = requestId
            request.remoteAddress = parameters["REMOTE_ADDR"] ?? ""
            response = handler(request)
        }
        response.headers.append(("X-Request-Id", requestId))
        slot.write(Self.encode(response))
        // Counted before the answer is complete: a client that reads /metrics right after its
        // answer finds its request in them (libfcgi sends the last of the answer on finish).
        let elapsed = Double(monotonicNanoseconds() - started) / 1_000_000
        metrics?.recordRequest(tenant: response.tenant, path: path, method: method, status: response.status, seconds: elapsed / 1_000)
        slot.finish()
        // One line per request; never the query (it can carry user names) or any header.
        var metadata: Logger.Metadata = [
            "request_id": "\(requestId)", "tenant": "\(response.tenant ?? "-")", "method": "\(method)",
            "path": "\(path.prefix(300))", "status": "\(response.status)",
            "duration_ms": "\((elapsed * 100).rounded() / 100)",
        ]
        if let count = response.unauthenticatedCount { metadata["unauthenticated_total"] = "\(count)" }
        if let actor = response.actor { metadata["actor"] = "\(actor)" }
        logger.info("request", metadata: metadata)
    }

    static func encode(_ response: HTTPResponse) -> [UInt8] {
        var head = "Status: \(response.status) \(HTTPResponse.reasonPhrase(response.status))\r\n"
        for (name, value) in response.headers { head += "\(name): \(value)\r\n" }
        if response.status != 204 && response.status != 304 { head += "Content-Length: \(response.body.count)\r\n" }
        head += "\r\n"
        return Array(head.utf8) + response.body
    }

    private func splitURI(_ uri: String) -> (String, String) {
        guard let mark = uri.firstIndex(of: "?") else { return (uri, "") }
        return (String(uri[..<mark]), String(uri[uri.index(after: mark)...]))
    }
}

enum RequestID {
    static func generate() -> String {
        var rng = SystemRandomNumberGenerator()
        return Hex.encode((0..<16).map { _ in UInt8.random(in: 0...255, using: &rng) })
    }
}

extension String {
    var replacingUnderscores: String { String(map { $0 == "_" ? "-" : $0 }) }
}

/// Waits for a connection on the listening socket that the workers share, or a request on one of
/// the connections this worker keeps. With epoll's exclusive wake-up a new connection wakes one
/// idle worker, where poll(2) woke every idle worker and all but one found nothing to accept. A
/// wake-up goes to one worker only, so a stopping worker, which may leave without accepting,
/// first stops taking them: what it leaves queued wakes another worker.
final class ConnectionReadiness {
    let epollFD: Int32
    let listenFD: Int32
    private var events = [epoll_event](repeating: epoll_event(), count: 32)

    init?(listenFD: Int32) {
        self.listenFD = listenFD
        epollFD = epoll_create1(Int32(EPOLL_CLOEXEC))
        guard epollFD >= 0 else { return nil }
        var event = epoll_event()
        event.events = EPOLLIN.rawValue | EPOLLEXCLUSIVE.rawValue
        event.data.fd = listenFD
        guard epoll_ctl(epollFD, EPOLL_CTL_ADD, listenFD, &event) == 0 else {
            Glibc.close(epollFD)
            return nil
        }
    }

    /// The number of ready descriptors, 0 on timeout, -1 on failure.
    func wait(milliseconds: Int32) -> Int32 {
        epoll_wait(epollFD, &events, Int32(events.count), milliseconds)
    }

    /// The descriptors the last `wait` found ready.
    func readyDescriptors(_ count: Int32) -> [Int32] {
        count > 0 ? events[0..<Int(count)].map(\.data.fd) : []
    }

    /// Watches a kept connection. A connection closed and its number reused is no longer watched
    /// (closing a descriptor drops it from epoll), so this runs after every request; a
    /// connection already watched answers EEXIST.
    func watch(_ connection: Int32) {
        var event = epoll_event()
        event.events = EPOLLIN.rawValue
        event.data.fd = connection
        epoll_ctl(epollFD, EPOLL_CTL_ADD, connection, &event)
    }

    func stopWatchingListener() {
        epoll_ctl(epollFD, EPOLL_CTL_DEL, listenFD, nil)
    }

    func close() { Glibc.close(epollFD) }
}
