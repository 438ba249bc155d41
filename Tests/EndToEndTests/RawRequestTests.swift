import Foundation
import Testing
@testable import SCIMCore
#if canImport(Glibc)
import Glibc
#endif

/// Requests as a stranger's program writes them, byte for byte over a socket: no HTTP client to
/// tidy them up. Whatever arrives, nginx answers with a SCIM JSON error and the right status,
/// never its own HTML page.
@Suite("Requests nginx refuses by itself get SCIM JSON errors", .enabled(if: Stack.available))
struct RawRequestTests {
    /// Sends `bytes` to the stack's nginx and reads the whole answer (the connection is closed after it),
    /// from `source` when given (any 127.x.y.z address is this machine's too).
    static func exchange(_ bytes: [UInt8], from source: String? = nil) throws -> (status: Int, headers: [String], body: String) {
        let (baseURL, _) = try Stack.require()
        let hostPort = baseURL.replacingOccurrences(of: "http://", with: "").split(separator: ":")
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        #expect(descriptor >= 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(hostPort.count > 1 ? hostPort[1] : "80")!).bigEndian
        inet_pton(AF_INET, String(hostPort[0]), &address.sin_addr)
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            inet_pton(AF_INET, source, &local.sin_addr)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            #expect(bound == 0, "cannot send from \(source)")
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        #expect(connected == 0)
        var sent = 0
        while sent < bytes.count {
            let written = bytes[sent...].withUnsafeBufferPointer { send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written <= 0 { break }  // nginx may answer and close before reading everything
            sent += written
        }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count <= 0 { break }
            answer += buffer[0..<count]
        }
        let text = String(decoding: answer, as: UTF8.self)
        let parts = text.components(separatedBy: "\r\n\r\n")
        let head = parts.first?.components(separatedBy: "\r\n") ?? []
        let status = head.first.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
        return (status, Array(head.dropFirst()), parts.dropFirst().joined(separator: "\r\n\r\n"))
    }

    static let huge = String(repeating: "a", count: 65536)
    static let cases: [(String, [UInt8], Int)] = [
        ("a NUL byte in the path", Array("GET /scim/v2/demo/Users%00 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8), 400),
        ("a lower-case method", Array("get /scim/v2/demo/Users HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8), 400),
        ("TRACE", Array("TRACE /scim/v2/demo/Users HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8), 405),
        ("CONNECT", Array("CONNECT example.com:443 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8), 400),
        ("a 64 KB Authorization header", Array("GET /scim/v2/demo/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \(huge)\r\nConnection: close\r\n\r\n".utf8), 400),
        ("a TLS handshake on the plain port", [0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03] + Array("hello\r\n\r\n".utf8), 400),
        ("HTTP/2.0 in a request line", Array("GET /scim/v2/demo/Users HTTP/2.0\r\nHost: x\r\nConnection: close\r\n\r\n".utf8), 505),
        ("an unknown transfer coding", Array("POST /scim/v2/demo/Users HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\nConnection: close\r\n\r\n".utf8), 501),
        ("a 70 KB path", Array("GET /scim/v2/demo/\(huge)aaaa HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8), 414),
        ("no Host header", Array("GET /scim/v2/demo/Users HTTP/1.1\r\nConnection: close\r\n\r\n".utf8), 400),
        ("a path outside the service", Array("GET /etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8), 404),
        ("an unknown method", Array("FROB /scim/v2/demo/Users HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".utf8), 401),
    ]

    @Test("each is a SCIM error in JSON with the right status", arguments: cases.indices)
    func scimError(_ index: Int) throws {
        let (name, bytes, expected) = Self.cases[index]
        let answer = try Self.exchange(bytes)
        #expect(answer.status == expected, "\(name): \(answer.headers) \(answer.body.prefix(200))")
        #expect(answer.headers.contains { $0.lowercased() == "content-type: application/scim+json" }, "\(name): \(answer.headers)")
        let error = try? JSONParser.parse(answer.body).objectValue
        #expect(error?["schemas"] == .array([.string("urn:ietf:params:scim:api:messages:2.0:Error")]), "\(name): \(answer.body.prefix(200))")
        #expect(error?["status"] == .string(String(expected)), "\(name): \(answer.body.prefix(200))")
        #expect(!answer.body.contains("<html"), "\(name)")
    }
}
