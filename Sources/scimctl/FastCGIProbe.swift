#if canImport(Glibc)
import Glibc
#endif

/// Asks the responder one GET over its FastCGI socket, as nginx would (FastCGI 1.0: a
/// BEGIN_REQUEST, the parameters, an empty body), and returns the status of its answer. Lets
/// `scimctl doctor` tell a responder that answers from a socket that merely exists.
enum FastCGIProbe {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    static func status(socketPath: String, path: String, timeoutSeconds: Int = 5) throws(Failure) -> Int {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "cannot make a socket") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(socketPath.utf8)
        guard pathBytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw Failure(description: "socket path too long") }
        withUnsafeMutableBytes(of: &address.sun_path) { buffer in
            for (index, byte) in pathBytes.enumerated() { buffer[index] = byte }
        }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard connected == 0 else { throw Failure(description: "cannot connect: \(String(cString: strerror(errno)))") }

        let parameters = [("REQUEST_METHOD", "GET"), ("REQUEST_URI", path), ("SCRIPT_NAME", path), ("QUERY_STRING", ""),
                          ("SERVER_PROTOCOL", "HTTP/1.1"), ("HTTP_HOST", "localhost"), ("CONTENT_LENGTH", "0")]
        var encoded: [UInt8] = []
        for (name, value) in parameters {
            for length in [name.utf8.count, value.utf8.count] {
                if length < 128 {
                    encoded.append(UInt8(length))
                } else {
                    encoded += [UInt8(length >> 24 | 0x80), UInt8(length >> 16 & 0xff), UInt8(length >> 8 & 0xff), UInt8(length & 0xff)]
                }
            }
            encoded += Array(name.utf8) + Array(value.utf8)
        }
        let request = record(type: 1, [0, 1, 0, 0, 0, 0, 0, 0]) + record(type: 4, encoded) + record(type: 4, [])
            + record(type: 5, [])
        guard request.withUnsafeBytes({ write(fd, $0.baseAddress, $0.count) }) == request.count else {
            throw Failure(description: "cannot send the request")
        }

        var received: [UInt8] = []
        var output: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 8192)
        while true {
            let count = read(fd, &chunk, chunk.count)
            if count <= 0 { break }
            received += chunk[0..<count]
            // Records: 8-byte header (type at 1, content length at 4-5, padding at 6), then content and padding.
            var ended = false
            while received.count >= 8 {
                let length = Int(received[4]) << 8 | Int(received[5])
                let total = 8 + length + Int(received[6])
                guard received.count >= total else { break }
                if received[1] == 6 { output += received[8..<(8 + length)] }
                if received[1] == 3 { ended = true }
                received.removeFirst(total)
            }
            if ended { break }
        }
        guard !output.isEmpty else { throw Failure(description: "no answer within \(timeoutSeconds) s") }
        let head = String(decoding: output.prefix(512), as: UTF8.self)
        for line in head.split(separator: "\r\n") where line.lowercased().hasPrefix("status:") {
            return Int(line.dropFirst("status:".count).drop { $0 == " " }.prefix(3)) ?? 0
        }
        return 200
    }

    private static func record(type: UInt8, _ content: [UInt8]) -> [UInt8] {
        [1, type, 0, 1, UInt8(content.count >> 8), UInt8(content.count & 0xff), 0, 0] + content
    }
}
