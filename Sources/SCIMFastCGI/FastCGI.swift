import CFastCGI
#if canImport(Glibc)
import Glibc
#endif

/// Every C call to libfcgi in the project is in this file.
public enum FastCGI {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// `FCGX_Init`, once per process before any other libfcgi call.
    public static func initialize() throws(Failure) {
        guard FCGX_Init() == 0 else { throw Failure(description: "FCGX_Init failed") }
    }

    /// True when fd 0 is a listening socket handed over by spawn-fcgi or systemd.
    public static var standardInputIsListeningSocket: Bool { FCGX_IsCGI() == 0 }

    /// The socket systemd passed (socket activation: `LISTEN_PID` names this process and
    /// `LISTEN_FDS` counts the sockets from fd 3), or nil when it passed none. The variables are
    /// removed, so nothing this process starts takes the socket for its own.
    public static func systemdSocket(environment: [String: String]) throws(Failure) -> Int32? {
        guard let pid = environment["LISTEN_PID"], let count = environment["LISTEN_FDS"], Int32(pid) == getpid() else { return nil }
        for name in ["LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES"] { unsetenv(name) }
        guard count == "1" else {
            throw Failure(description: "systemd passed \(count) sockets (LISTEN_FDS); the responder serves one: give its socket unit one ListenStream=.")
        }
        let fd: Int32 = 3
        var listening: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length) == 0, listening == 1 else {
            throw Failure(description: "the socket systemd passed (fd 3) is not listening: the socket unit needs Accept=no.")
        }
        return fd
    }

    /// Opens a unix socket (a path) or a TCP socket (`host:port` or `:port`) to listen on.
    public static func openSocket(_ address: String, backlog: Int32) throws(Failure) -> Int32 {
        if address.hasPrefix("/") { unlink(address) }
        let fd = FCGX_OpenSocket(address, backlog)
        guard fd >= 0 else { throw Failure(description: "cannot listen on \(address): \(String(cString: strerror(errno)))") }
        return fd
    }
}

/// One FastCGI request slot: a heap-allocated `FCGX_Request` (libfcgi keeps pointers into it
/// across calls, so it must not move) bound to the listening socket.
final class FastCGIRequestSlot {
    let request: UnsafeMutablePointer<FCGX_Request>

    init(listenFD: Int32) {
        request = UnsafeMutablePointer<FCGX_Request>.allocate(capacity: 1)
        request.initialize(to: FCGX_Request())
        FCGX_InitRequest(request, listenFD, 0)
    }

    deinit {
        FCGX_Free(request, 1)
        request.deallocate()
    }

    /// Accepts one connection. Returns false when none was ready (the listening socket is
    /// non-blocking and another worker took it) or accept failed.
    func accept() -> Bool { FCGX_Accept_r(request) >= 0 }

    /// The connection nginx keeps open for its next requests, or -1 once libfcgi has closed it.
    var connection: Int32 { request.pointee.ipcFd }

    /// Ends the request. Once its input has been read to the end, nginx sends nothing more for
    /// it: a kept connection starts its next request clean, and a connection libfcgi closes can
    /// be closed plainly (libfcgi's own close shuts the sending side and then waits for nginx to
    /// close first, which costs a wait for nginx to be scheduled). A request whose body was left
    /// unread (a 413) gets libfcgi's draining close, and is not kept: the rest of its body would
    /// be read as the next request.
    func finish() {
        let inputEnded = FCGX_GetChar(request.pointee.in) == EOF
        request.pointee.detached = inputEnded ? 1 : 0
        if !inputEnded { request.pointee.keepConnection = 0 }
        FCGX_Finish_r(request)
    }

    func parameter(_ name: String) -> String? {
        guard let value = FCGX_GetParam(name, request.pointee.envp) else { return nil }
        return String(cString: value)
    }

    /// All request parameters (CGI variables).
    func parameters() -> [String: String] { keyValuePairs(request.pointee.envp) }

    /// Reads up to `limit` bytes of the body.
    func readBody(limit: Int) -> [UInt8] {
        var body: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while body.count < limit {
            let wanted = Int32(min(chunk.count, limit - body.count))
            let got = chunk.withUnsafeMutableBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { FCGX_GetStr($0.baseAddress, wanted, request.pointee.in) }
            }
            if got <= 0 { break }
            body.append(contentsOf: chunk[0..<Int(got)])
        }
        return body
    }

    func write(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        bytes.withUnsafeBufferPointer { buffer in
            buffer.withMemoryRebound(to: CChar.self) { _ = FCGX_PutStr($0.baseAddress, Int32(buffer.count), request.pointee.out) }
        }
    }
}

/// A NULL-terminated array of "NAME=value" C strings (FastCGI parameters, `environ`) as a dictionary.
public func keyValuePairs(_ array: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> [String: String] {
    var result: [String: String] = [:]
    guard var cursor = array else { return result }
    // Split at the first '=' on the bytes: a Character search costs more than the rest of a request's parsing.
    while let entry = cursor.pointee {
        let length = strlen(entry)
        entry.withMemoryRebound(to: UInt8.self, capacity: length) { start in
            let bytes = UnsafeBufferPointer(start: start, count: length)
            if let equals = bytes.firstIndex(of: UInt8(ascii: "=")) {
                result[String(decoding: bytes[..<equals], as: UTF8.self)] = String(decoding: bytes[(equals + 1)...], as: UTF8.self)
            }
        }
        cursor += 1
    }
    return result
}
