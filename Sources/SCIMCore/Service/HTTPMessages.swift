/// An HTTP request as the transport hands it to the service: nothing FastCGI-specific.
public struct HTTPRequest: Sendable {
    public var method: String
    /// The percent-encoded path, without the query string.
    public var path: String
    /// Decoded query parameters; names are kept as sent, lookups ignore case.
    public var query: [(name: String, value: String)]
    /// Header values by lower-case name.
    public var headers: [String: String]
    public var body: [UInt8]
    /// `scheme://host` as the client addressed us, for `Location` and `meta.location`.
    public var origin: String
    /// The id nginx gave the request (also sent back as X-Request-Id and kept in the log).
    public var requestId: String = ""
    /// The client's address as nginx saw it (REMOTE_ADDR).
    public var remoteAddress: String = ""

    public init(method: String, path: String, query: [(name: String, value: String)] = [], headers: [String: String] = [:],
                body: [UInt8] = [], origin: String = "http://localhost") {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.origin = origin
    }

    public func queryValue(_ name: String) -> String? {
        query.first { $0.name.caseInsensitiveEquals(name) }?.value
    }

    public func header(_ name: String) -> String? { headers[name.lowercased()] }

    /// Splits a raw query string into decoded pairs; `+` is a space (form encoding, as Entra's filters arrive).
    public static func parseQuery(_ raw: String) -> [(name: String, value: String)] {
        raw.split(separator: "&", omittingEmptySubsequences: true).map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = percentDecode(parts[0], plusIsSpace: true) ?? String(parts[0])
            let value = parts.count > 1 ? (percentDecode(parts[1], plusIsSpace: true) ?? String(parts[1])) : ""
            return (name, value)
        }
    }

    /// Percent-decodes `text`; nil when the result is not valid UTF-8 or an escape is malformed.
    public static func percentDecode<S: StringProtocol>(_ text: S, plusIsSpace: Bool = false) -> String? {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == UInt8(ascii: "%") {
                guard let high = iterator.next().flatMap(Hex.value), let low = iterator.next().flatMap(Hex.value) else { return nil }
                bytes.append(high << 4 | low)
            } else if plusIsSpace && byte == UInt8(ascii: "+") {
                bytes.append(0x20)
            } else {
                bytes.append(byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

}

public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]
    /// The tenant the request was for, when known: for the request log, not sent.
    public var tenant: String?
    /// For a request refused for want of a valid key: how many this process has refused so far
    /// (the operator's counter, in the request log line; not sent).
    public var unauthenticatedCount: Int?
    /// Who made an administrative request (`admin-api:<key prefix>`, `console:<email>`), for the
    /// request log line; not sent.
    public var actor: String?
    /// What the provisioning log keeps of the answer, recorded where it is made so that the log
    /// need not parse the body again (not sent): the error, or the resource answered.
    public var error: SCIMError?
    public var resource: (id: String, subject: String?)?

    public init(status: Int, headers: [(String, String)] = [], body: [UInt8] = [], tenant: String? = nil) {
        self.status = status
        self.headers = headers
        self.body = body
        self.tenant = tenant
    }

    public static let scimContentType = "application/scim+json"

    public static func json(_ status: Int, _ value: JSONValue, headers: [(String, String)] = []) -> HTTPResponse {
        HTTPResponse(status: status, headers: [("Content-Type", scimContentType)] + headers, body: value.serializedBytes())
    }

    public static func error(_ error: SCIMError) -> HTTPResponse {
        var response = json(error.status, error.body, headers: error.headers)
        response.error = error
        return response
    }

    public static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 200: return "OK"
        case 201: return "Created"
        case 204: return "No Content"
        case 303: return "See Other"
        case 304: return "Not Modified"
        case 400: return "Bad Request"
        case 401: return "Unauthorized"
        case 403: return "Forbidden"
        case 404: return "Not Found"
        case 405: return "Method Not Allowed"
        case 409: return "Conflict"
        case 410: return "Gone"
        case 412: return "Precondition Failed"
        case 413: return "Payload Too Large"
        case 415: return "Unsupported Media Type"
        case 429: return "Too Many Requests"
        case 500: return "Internal Server Error"
        case 501: return "Not Implemented"
        case 503: return "Service Unavailable"
        default: return "Status \(status)"
        }
    }
}

extension HTTPRequest {
    /// 405 with an `Allow` header unless the request's method is one of `allowed` ("GET, POST").
    public func requireMethod(in allowed: String, on what: String) throws(SCIMError) {
        let method = self.method.uppercased()
        guard allowed.split(separator: ",").contains(where: { $0.trimmingSpaces == method }) else {
            throw .methodNotAllowed("\(method) is not supported on \(what).", allow: allowed)
        }
    }
}
