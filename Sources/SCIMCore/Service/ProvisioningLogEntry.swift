/// One SCIM request as the tenant's provisioning log keeps it (see deploy/sql, scim.provisioning_log).
public struct ProvisioningLogEntry: Sendable, Equatable {
    public var tenantSlug: String
    public var requestId: String
    public var keyPrefix: String?
    public var method: String
    public var path: String
    public var resourceType: String?
    public var resourceId: String?
    /// The userName or displayName the request was about, when known.
    public var subject: String?
    public var status: Int
    public var scimType: String?
    public var detail: String?
    public var durationMilliseconds: Double
    /// Failed requests only, with secrets redacted (`Redaction`).
    public var requestBody: JSONValue?

    public init(tenantSlug: String, requestId: String, keyPrefix: String?, method: String, path: String, resourceType: String?,
                resourceId: String?, subject: String?, status: Int, scimType: String?, detail: String?,
                durationMilliseconds: Double, requestBody: JSONValue?) {
        self.tenantSlug = tenantSlug
        self.requestId = requestId
        self.keyPrefix = keyPrefix
        self.method = method
        self.path = path
        self.resourceType = resourceType
        self.resourceId = resourceId
        self.subject = subject
        self.status = status
        self.scimType = scimType
        self.detail = detail
        self.durationMilliseconds = durationMilliseconds
        self.requestBody = requestBody
    }
}

/// Removes what must never be stored from a request body: any member whose name says it holds a
/// secret (password, secret, token, key material), at any depth. Bodies are cut to a size a log row
/// can carry.
public enum Redaction {
    static let secretNames = ["password", "secret", "token", "privatekey", "clientsecret", "apikey"]
    public static let maxLoggedBodyBytes = 8192

    public static func redact(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let object):
            var result = JSONObject()
            for member in object.members {
                let name = member.key.lowercased().filter { $0.isLetter }
                let isSecret = secretNames.contains { name.hasSuffix($0) }
                result.append(member.key, isSecret ? .string("[redacted]") : redact(member.value))
            }
            return .object(result)
        case .array(let elements):
            return .array(elements.map(redact))
        default:
            return value
        }
    }

    /// The body to log for a failed request: redacted JSON, or a note when it is not JSON or too long.
    public static func loggedBody(_ bytes: [UInt8]) -> JSONValue? {
        guard !bytes.isEmpty else { return nil }
        guard let parsed = try? JSONParser.parse(bytes) else {
            return .object(JSONObject([("unparsed", .string("\(bytes.count) bytes that are not valid JSON"))]))
        }
        let redacted = redact(parsed)
        guard redacted.serializedBytes().count <= maxLoggedBodyBytes else {
            return .object(JSONObject([("truncated", .string("a \(bytes.count)-byte body, too large to log"))]))
        }
        return redacted
    }
}
