#if canImport(Glibc)
import Glibc
#endif

/// The web server's half of FastCGI 1.0, as nginx speaks it to the responder: what `scimctl
/// doctor` sends to ask a responder on its socket, and what the tests send to watch a connection.
/// Request id 1, no padding, no multiplexing (nginx uses neither).
public enum FastCGIRecords {
    public enum RecordType: UInt8 {
        case beginRequest = 1, endRequest = 3, parameters = 4, input = 5, output = 6
    }

    public struct ConnectFailure: Error, CustomStringConvertible {
        public let description: String
    }

    /// A connection to a responder's unix socket, reads and writes giving up after `timeoutSeconds`.
    public static func connect(unixSocket path: String, timeoutSeconds: Int) throws(ConnectFailure) -> Int32 {
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(path.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw ConnectFailure(description: "socket path too long") }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in pathBytes.enumerated() { buffer[index] = byte }
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ConnectFailure(description: "cannot make a socket") }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw ConnectFailure(description: "cannot connect: \(reason)")
        }
        return fd
    }

    public static func record(_ type: RecordType, _ content: [UInt8]) -> [UInt8] {
        [1, type.rawValue, 0, 1, UInt8(content.count >> 8), UInt8(content.count & 0xff), 0, 0] + content
    }

    /// BEGIN_REQUEST in the responder role; the responder closes the connection after its answer.
    public static let beginRequest = record(.beginRequest, [0, 1, 0, 0, 0, 0, 0, 0])
    /// BEGIN_REQUEST with FCGI_KEEP_CONN, as nginx sends it with `fastcgi_keep_conn on`: the
    /// connection stays open for the next request.
    public static let beginRequestKeepingConnection = record(.beginRequest, [0, 1, 1, 0, 0, 0, 0, 0])

    /// The parameters as name-value pairs (a length under 128 in one byte, else in four), then the
    /// empty record that ends them.
    public static func parameters(_ pairs: [(String, String)]) -> [UInt8] {
        var encoded: [UInt8] = []
        for (name, value) in pairs {
            for length in [name.utf8.count, value.utf8.count] {
                if length < 128 {
                    encoded.append(UInt8(length))
                } else {
                    encoded += [UInt8(length >> 24 | 0x80), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff)]
                }
            }
            encoded += Array(name.utf8) + Array(value.utf8)
        }
        var records: [UInt8] = []
        for start in stride(from: 0, to: encoded.count, by: 65_535) {
            records += record(.parameters, Array(encoded[start..<min(encoded.count, start + 65_535)]))
        }
        return records + record(.parameters, [])
    }

    /// The body in input records, and, when `endInput`, the empty record that ends it.
    public static func input(_ body: [UInt8], endInput: Bool = true) -> [UInt8] {
        var records: [UInt8] = []
        for start in stride(from: 0, to: body.count, by: 32_768) {
            records += record(.input, Array(body[start..<min(body.count, start + 32_768)]))
        }
        return endInput ? records + record(.input, []) : records
    }

    /// Sends all of `bytes`; false when the connection took only part of them.
    public static func send(_ bytes: [UInt8], to fd: Int32) -> Bool {
        var sent = 0
        while sent < bytes.count {
            let written = bytes[sent...].withUnsafeBufferPointer { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written <= 0 { return false }
            sent += written
        }
        return true
    }

    /// Reads the answer up to its end, or until the connection closes or times out.
    public static func readAnswer(from fd: Int32) -> Answer {
        var answer = Answer()
        var chunk = [UInt8](repeating: 0, count: 8192)
        while !answer.ended {
            let count = recv(fd, &chunk, chunk.count, 0)
            if count <= 0 { break }
            answer.take(chunk[0..<count])
        }
        return answer
    }

    /// The responder's answer, read as it arrives: the output records' content gathered, the end
    /// of the request noticed.
    public struct Answer {
        public private(set) var output: [UInt8] = []
        public private(set) var ended = false
        private var pending: [UInt8] = []

        public init() {}

        /// Takes received bytes; records split across reads are kept until they are whole.
        public mutating func take(_ bytes: some Sequence<UInt8>) {
            pending += bytes
            // A record: an 8-byte header (type at 1, content length at 4-5, padding at 6), then
            // its content and padding.
            while !ended, pending.count >= 8 {
                let length = Int(pending[4]) << 8 | Int(pending[5])
                let total = 8 + length + Int(pending[6])
                guard pending.count >= total else { break }
                if pending[1] == RecordType.output.rawValue { output += pending[8..<(8 + length)] }
                if pending[1] == RecordType.endRequest.rawValue { ended = true }
                pending.removeFirst(total)
            }
        }

        /// The status the answer's header names (`Status: 404 Not Found`), 200 when it names none
        /// (CGI's rule), nil before any output.
        public var status: Int? {
            guard !output.isEmpty else { return nil }
            let head = String(decoding: output.prefix(512), as: UTF8.self)
            for line in head.split(separator: "\r\n", omittingEmptySubsequences: false) {
                if line.isEmpty { break }
                if line.lowercased().hasPrefix("status:") {
                    return Int(line.dropFirst("status:".count).drop { $0 == " " }.prefix(3)) ?? 0
                }
            }
            return 200
        }
    }
}
