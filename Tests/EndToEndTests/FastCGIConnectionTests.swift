import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// The responder's side of a FastCGI connection, spoken to directly on its socket the way nginx
/// does (FastCGI 1.0 records), so what the responder does after its answer can be watched.
@Suite("The FastCGI connection after the answer", .enabled(if: Stack.available))
struct FastCGIConnectionTests {
    /// One FastCGI connection to the stack's responder socket.
    final class Connection {
        let descriptor: Int32

        init() throws {
            let (_, project) = try Stack.require()
            descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            try #require(descriptor >= 0)
            var timeout = timeval(tv_sec: 10, tv_usec: 0)
            setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            let path = Array("\(project)/.local/run/scim.sock".utf8)
            withUnsafeMutableBytes(of: &address.sun_path) { buffer in
                for (index, byte) in path.enumerated() { buffer[index] = byte }
            }
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            try #require(connected == 0, "cannot connect to the responder's socket: \(String(cString: strerror(errno)))")
        }

        deinit { close(descriptor) }

        static func record(_ type: UInt8, _ content: [UInt8]) -> [UInt8] {
            [1, type, 0, 1, UInt8(content.count >> 8), UInt8(content.count & 0xff), 0, 0] + content
        }

        /// Sends a request: BEGIN_REQUEST (responder role, no keep-alive), the parameters, then
        /// `body` as stdin records and, when `endInput`, the empty record that ends stdin.
        func send(_ parameters: [(String, String)], body: [UInt8] = [], endInput: Bool = true) {
            var encoded: [UInt8] = []
            for (name, value) in parameters {
                encoded += [UInt8(name.utf8.count), UInt8(value.utf8.count)] + Array(name.utf8) + Array(value.utf8)
            }
            var bytes = Self.record(1, [0, 1, 0, 0, 0, 0, 0, 0]) + Self.record(4, encoded) + Self.record(4, [])
            for start in stride(from: 0, to: body.count, by: 32_768) {
                bytes += Self.record(5, Array(body[start..<min(body.count, start + 32_768)]))
            }
            if endInput { bytes += Self.record(5, []) }
            var sent = 0
            while sent < bytes.count {
                let written = bytes[sent...].withUnsafeBufferPointer { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                if written <= 0 { break }
                sent += written
            }
        }

        /// Reads records up to END_REQUEST; returns the status line's code and whether END_REQUEST came.
        func answer() -> (status: Int, ended: Bool) {
            var received: [UInt8] = []
            var output: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 8192)
            while true {
                let count = recv(descriptor, &chunk, chunk.count, 0)
                if count <= 0 { return (Self.status(output), false) }
                received += chunk[0..<count]
                while received.count >= 8 {
                    let length = Int(received[4]) << 8 | Int(received[5])
                    let total = 8 + length + Int(received[6])
                    guard received.count >= total else { break }
                    if received[1] == 6 { output += received[8..<(8 + length)] }
                    if received[1] == 3 { return (Self.status(output), true) }
                    received.removeFirst(total)
                }
            }
        }

        static func status(_ output: [UInt8]) -> Int {
            let head = String(decoding: output.prefix(200), as: UTF8.self)
            return Int(head.dropFirst("Status: ".count).prefix(3)) ?? 0
        }
    }

    static func parameters(_ tenant: TestTenant, method: String = "GET", path: String, contentLength: Int = 0) -> [(String, String)] {
        [("REQUEST_METHOD", method), ("REQUEST_URI", "/scim/v2/\(tenant.slug)\(path)"), ("QUERY_STRING", ""),
         ("SERVER_PROTOCOL", "HTTP/1.1"), ("HTTP_HOST", "localhost"), ("HTTP_AUTHORIZATION", "Bearer \(tenant.token)"),
         ("CONTENT_TYPE", "application/scim+json"), ("CONTENT_LENGTH", "\(contentLength)")]
    }

    @Test("a peer that keeps its connection open after the answer holds no worker: the responder closes at once")
    func answeredConnectionHoldsNoWorker() async throws {
        let tenant = try TestTenant.make()
        // Twice as many connections as the stack has workers, one after another, each left open.
        // libfcgi's own close would keep each worker waiting up to two seconds for the peer to
        // close first, so the fifth exchange would wait for a worker.
        let started = Date()
        var connections: [Connection] = []
        for _ in 0..<8 {
            let connection = try Connection()
            connection.send(Self.parameters(tenant, path: "/Users?count=0"))
            let (status, ended) = connection.answer()
            #expect(status == 200 && ended, "status \(status), END_REQUEST \(ended)")
            var byte: UInt8 = 0
            #expect(recv(connection.descriptor, &byte, 1, 0) == 0, "the responder closed its end after the answer")
            connections.append(connection)
        }
        let elapsed = Date().timeIntervalSince(started)
        #expect(elapsed < 1.5, "eight exchanges took \(elapsed) s")
        let throughNginx = Date()
        #expect(try await tenant.client.get("/Users?count=0").status == 200)
        #expect(Date().timeIntervalSince(throughNginx) < 1, "a worker was free for nginx while the connections stayed open")
        withExtendedLifetime(connections) {}
    }

    @Test("a request whose body is left unread (larger than the responder takes) still gets its whole 413 answer")
    func unreadBodyStillAnswered() throws {
        let tenant = try TestTenant.make()
        let connection = try Connection()
        // A body claimed far larger than the limit, part of it sent: the responder answers before
        // reading it and must drain, not reset, what the peer is still sending.
        connection.send(Self.parameters(tenant, method: "POST", path: "/Users", contentLength: 50_000_000),
                        body: [UInt8](repeating: 0x61, count: 200_000), endInput: false)
        let (status, ended) = connection.answer()
        #expect(status == 413, "status \(status)")
        #expect(ended, "END_REQUEST arrived")
    }
}
