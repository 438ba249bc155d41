import SCIMFastCGI
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
        let fd: Int32
        do {
            fd = try FastCGIRecords.connect(unixSocket: socketPath, timeoutSeconds: timeoutSeconds)
        } catch {
            throw Failure(description: error.description)
        }
        defer { close(fd) }
        let request = FastCGIRecords.beginRequest
            + FastCGIRecords.parameters([("REQUEST_METHOD", "GET"), ("REQUEST_URI", path), ("SCRIPT_NAME", path), ("QUERY_STRING", ""),
                                         ("SERVER_PROTOCOL", "HTTP/1.1"), ("HTTP_HOST", "localhost"), ("CONTENT_LENGTH", "0")])
            + FastCGIRecords.input([])
        guard FastCGIRecords.send(request, to: fd) else { throw Failure(description: "cannot send the request") }
        let answer = FastCGIRecords.readAnswer(from: fd)
        guard let status = answer.status else { throw Failure(description: "no answer within \(timeoutSeconds) s") }
        return status
    }
}
