import Foundation
import SCIMFastCGI
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
            descriptor = try FastCGIRecords.connect(unixSocket: "\(project)/.local/run/scim.sock", timeoutSeconds: 10)
        }

        deinit { close(descriptor) }

        /// Sends a request as nginx does: the parameters, then `body` and, when `endInput`, the
        /// empty record that ends the input; with `keep`, asking to keep the connection open.
        func send(_ parameters: [(String, String)], body: [UInt8] = [], endInput: Bool = true, keep: Bool = false) {
            _ = FastCGIRecords.send((keep ? FastCGIRecords.beginRequestKeepingConnection : FastCGIRecords.beginRequest)
                                    + FastCGIRecords.parameters(parameters) + FastCGIRecords.input(body, endInput: endInput),
                                    to: descriptor)
        }

        /// True while the responder keeps its end open (nothing to read, no end of stream).
        var isOpenAtResponder: Bool {
            var byte: UInt8 = 0
            return recv(descriptor, &byte, 1, Int32(MSG_DONTWAIT)) < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)
        }

        /// Reads records up to END_REQUEST; returns the status line's code (0 without one) and
        /// whether END_REQUEST came.
        func answer() -> (status: Int, ended: Bool) {
            let answer = FastCGIRecords.readAnswer(from: descriptor)
            return (answer.status ?? 0, answer.ended)
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

    @Test("kept connections hold no worker: twice as many as the workers, each answered again, and a new connection too")
    func keptConnectionsHoldNoWorker() async throws {
        let tenant = try TestTenant.make()
        // libfcgi alone reads a kept connection's next request and nothing else, so the fifth
        // connection here would wait for ever for one of four workers.
        var connections: [Connection] = []
        for _ in 0..<8 {
            let connection = try Connection()
            connection.send(Self.parameters(tenant, path: "/Users?count=0"), keep: true)
            let (status, ended) = connection.answer()
            #expect(status == 200 && ended, "status \(status), END_REQUEST \(ended)")
            #expect(connection.isOpenAtResponder, "the responder keeps the connection open when asked")
            connections.append(connection)
        }
        let started = Date()
        for connection in connections.reversed() {
            connection.send(Self.parameters(tenant, path: "/Users?count=0"), keep: true)
            let (status, ended) = connection.answer()
            #expect(status == 200 && ended, "a second request on a kept connection: status \(status), END_REQUEST \(ended)")
        }
        let fresh = try Connection()
        fresh.send(Self.parameters(tenant, path: "/Users?count=0"))
        let (status, ended) = fresh.answer()
        #expect(status == 200 && ended, "a new connection beside eight kept ones: status \(status)")
        #expect(try await tenant.client.get("/Users?count=0").status == 200)
        #expect(Date().timeIntervalSince(started) < 2, "no request waited for a kept connection to close")
        withExtendedLifetime(connections) {}
    }

    @Test("a kept request whose body is left unread gets its 413, and then the connection is closed")
    func unreadBodyEndsKeptConnection() throws {
        let tenant = try TestTenant.make()
        let connection = try Connection()
        connection.send(Self.parameters(tenant, method: "POST", path: "/Users", contentLength: 50_000_000),
                        body: [UInt8](repeating: 0x61, count: 1_000), endInput: false, keep: true)
        let (status, ended) = connection.answer()
        #expect(status == 413 && ended, "status \(status), END_REQUEST \(ended)")
        // The rest of the body would otherwise be read as the next request.
        shutdown(connection.descriptor, Int32(SHUT_WR))
        var byte: UInt8 = 0
        #expect(recv(connection.descriptor, &byte, 1, 0) == 0, "the responder closed the connection")
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

@Suite("FastCGI records as nginx sends and reads them")
struct FastCGIRecordsTests {
    @Test("a name or value of 128 bytes or more has a four-byte length; the parameters end with an empty record")
    func parameterLengths() {
        let value = String(repeating: "v", count: 200)
        let bytes = FastCGIRecords.parameters([("A", "b"), ("LONG", value)])
        // Header (8), then 1, 1, "A", "b", then 4 in one byte and 200 in four.
        #expect(Array(bytes[8..<12]) == [1, 1, UInt8(ascii: "A"), UInt8(ascii: "b")])
        #expect(Array(bytes[12..<17]) == [4, 0x80, 0, 0, 200])
        #expect(Int(bytes[4]) << 8 | Int(bytes[5]) == 4 + 5 + 4 + 200)
        #expect(Array(bytes.suffix(8)) == [1, 4, 0, 1, 0, 0, 0, 0])
    }

    @Test("an answer read a byte at a time: the output gathered, the end noticed, the status taken from the header")
    func answerAcrossReads() {
        let output = Array("Status: 404 Not Found\r\nContent-Type: application/scim+json\r\n\r\n{\"status\":\"x\"}".utf8)
        var padded = FastCGIRecords.record(.output, Array(output.prefix(10)))
        padded[6] = 3
        padded += [0, 0, 0]
        let records = padded + FastCGIRecords.record(.output, Array(output.dropFirst(10)))
            + FastCGIRecords.record(.endRequest, [0, 0, 0, 0, 0, 0, 0, 0])
        var answer = FastCGIRecords.Answer()
        #expect(answer.status == nil)
        for byte in records { answer.take([byte]) }
        #expect(answer.ended)
        #expect(answer.output == output)
        #expect(answer.status == 404)
        var plain = FastCGIRecords.Answer()
        plain.take(FastCGIRecords.record(.output, Array("Content-Type: text/plain\r\n\r\nStatus: 500".utf8)))
        #expect(plain.status == 200, "no Status header: 200, whatever the body says")
    }
}
