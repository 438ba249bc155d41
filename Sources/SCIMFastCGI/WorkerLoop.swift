import CFastCGI
import Logging
import SCIMCore
#if canImport(Glibc)
import Glibc
#endif

/// The accept loop of one worker process. SIGTERM stays blocked in workers and is looked for
/// (`sigpending`) between requests only, so a request in flight always finishes: the worker then
/// drains connections already queued and exits 0. Polling with a short timeout keeps that check
/// within a quarter second without a signal handler.
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

    /// `idle` runs whenever a quarter second passes without a request (background work);
    /// `answered` after each request's answer has gone to nginx (work no request should wait for).
    public func run(_ handler: Handler, idle: () -> Void = {}, answered: () -> Void = {}) -> Int32 {
        let flags = fcntl(listenFD, F_GETFL)
        _ = fcntl(listenFD, F_SETFL, flags | O_NONBLOCK)
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        sigaddset(&stopSignals, SIGTERM)
        sigaddset(&stopSignals, SIGINT)
        sigprocmask(SIG_BLOCK, &stopSignals, nil)
        let slot = FastCGIRequestSlot(listenFD: listenFD)
        var stoppingSince: Int64?
        guard let readiness = ListenReadiness(listenFD: listenFD) else {
            logger.critical("epoll failed", metadata: ["errno": "\(errno)"])
            return 1
        }
        defer { readiness.close() }
        while true {
            let ready = readiness.wait(milliseconds: stoppingSince != nil ? 0 : 250)
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
                    readiness.stopTakingWakeUps()
                }
            }
            // A stopping worker serves what is already queued, for a second at most: a socket that
            // outlives it (systemd's socket unit, the supervisor's fresh workers after SIGHUP) keeps
            // the rest queued for the next, and a steady load cannot hold the stop off for ever.
            if let since = stoppingSince, monotonicNanoseconds() - since > Self.drainNanoseconds { return 0 }
            if ready > 0, slot.accept() {
                serve(slot, handler)
                answered()
                continue
            }
            if stoppingSince != nil { return 0 }
            if ready == 0 { idle() }
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

/// Waits for a connection on the listening socket that the workers share. With epoll's exclusive
/// wake-up a connection wakes one idle worker, where poll(2) woke every idle worker and all but
/// one found nothing to accept. A wake-up goes to one worker only, so a stopping worker, which may
/// leave without accepting, first stops taking them and drains with poll(2): what it leaves queued
/// wakes another worker.
final class ListenReadiness {
    let epollFD: Int32
    let listenFD: Int32
    private var exclusive = true

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

    /// The number of ready sockets (0 or 1), 0 on timeout, -1 on failure.
    func wait(milliseconds: Int32) -> Int32 {
        if exclusive {
            var event = epoll_event()
            return epoll_wait(epollFD, &event, 1, milliseconds)
        }
        var descriptor = pollfd(fd: listenFD, events: Int16(POLLIN), revents: 0)
        return poll(&descriptor, 1, milliseconds)
    }

    func stopTakingWakeUps() {
        guard exclusive else { return }
        exclusive = false
        epoll_ctl(epollFD, EPOLL_CTL_DEL, listenFD, nil)
    }

    func close() { Glibc.close(epollFD) }
}
