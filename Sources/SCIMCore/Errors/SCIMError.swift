/// The `scimType` values of RFC 7644 §3.12, Table 9, with the RFC's own wording as the default detail.
public enum SCIMErrorType: String, Sendable {
    case invalidFilter, tooMany, uniqueness, mutability, invalidSyntax, invalidPath, noTarget, invalidValue, invalidVers, sensitive
    /// RFC 9865 §2.5: a cursor the server cannot use.
    case invalidCursor

    public var rfcDescription: String {
        switch self {
        case .invalidFilter: return "The specified filter syntax was invalid or the specified attribute and filter comparison combination is not supported."
        case .tooMany: return "The specified filter yields many more results than the server is willing to calculate or process."
        case .uniqueness: return "One or more of the attribute values are already in use or are reserved."
        case .mutability: return "The attempted modification is not compatible with the target attribute's mutability or current state."
        case .invalidSyntax: return "The request body message structure was invalid or did not conform to the request schema."
        case .invalidPath: return "The \"path\" attribute was invalid or malformed."
        case .noTarget: return "The specified \"path\" did not yield an attribute or attribute value that could be operated on."
        case .invalidValue: return "A required value was missing, or the value specified was not compatible with the operation or attribute type."
        case .invalidVers: return "The specified SCIM protocol version is not supported."
        case .sensitive: return "The specified request cannot be completed, due to the passing of sensitive information in a request URI."
        case .invalidCursor: return "The cursor value is invalid."
        }
    }
}

/// An error answered to the client in the RFC 7644 §3.12 shape. Every failure that reaches the wire
/// is one of these; lower layers translate their own errors into it.
public struct SCIMError: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: Int
    public var scimType: SCIMErrorType?
    public var detail: String
    /// Extra response headers the status calls for (`WWW-Authenticate` on 401, `Retry-After` on 503/429).
    public var headers: [(String, String)]
    /// The input field an `invalidValue` is about, when one is: where a form shows the message.
    /// Not sent on the wire.
    public var field: String?

    public init(status: Int, scimType: SCIMErrorType? = nil, detail: String, headers: [(String, String)] = []) {
        self.status = status
        self.scimType = scimType
        self.detail = detail
        self.headers = headers
    }

    public static func == (a: SCIMError, b: SCIMError) -> Bool {
        a.status == b.status && a.scimType == b.scimType && a.detail == b.detail
    }

    public var description: String { "SCIM \(status)\(scimType.map { " \($0.rawValue)" } ?? ""): \(detail)" }

    public static let errorSchema = "urn:ietf:params:scim:api:messages:2.0:Error"

    public var body: JSONValue {
        var object = JSONObject()
        object.append("schemas", .array([.string(Self.errorSchema)]))
        if let scimType { object.append("scimType", .string(scimType.rawValue)) }
        object.append("detail", .string(detail))
        // RFC 7644 §3.12: "status" is the HTTP status code as a JSON string.
        object.append("status", .string(String(status)))
        return .object(object)
    }

    public static func badRequest(_ type: SCIMErrorType, _ detail: String) -> SCIMError {
        SCIMError(status: 400, scimType: type, detail: detail)
    }

    /// 400 invalidValue about one input field.
    public static func invalidField(_ field: String, _ detail: String) -> SCIMError {
        var error = SCIMError(status: 400, scimType: .invalidValue, detail: detail)
        error.field = field
        return error
    }
    public static func notFound(_ detail: String) -> SCIMError { SCIMError(status: 404, detail: detail) }
    public static func conflict(_ detail: String) -> SCIMError {
        SCIMError(status: 409, scimType: .uniqueness, detail: detail)
    }
    public static func unauthorized(_ detail: String) -> SCIMError {
        SCIMError(status: 401, detail: detail, headers: [("WWW-Authenticate", "Bearer realm=\"SCIM\"")])
    }
    public static func forbidden(_ detail: String) -> SCIMError { SCIMError(status: 403, detail: detail) }
    public static func methodNotAllowed(_ detail: String, allow: String) -> SCIMError {
        SCIMError(status: 405, detail: detail, headers: [("Allow", allow)])
    }
    public static func preconditionFailed(_ detail: String) -> SCIMError { SCIMError(status: 412, detail: detail) }
    public static func unavailable(_ detail: String, retryAfterSeconds: Int = 5) -> SCIMError {
        SCIMError(status: 503, detail: detail, headers: [("Retry-After", String(retryAfterSeconds))])
    }
    public static func internalError(_ detail: String) -> SCIMError { SCIMError(status: 500, detail: detail) }
}
