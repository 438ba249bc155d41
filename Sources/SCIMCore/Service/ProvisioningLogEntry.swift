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

extension ProvisioningLogEntry {
    /// A refused request as an administrator's error: what groups it (status and scimType) and
    /// what to do about it. nil for outcomes that need no action: successes, a GET of something
    /// absent (Entra probes for users before creating them) and a lost ETag race (the client
    /// re-reads and retries by itself).
    /// A successful write of a user or group: it settles the refused requests about the same
    /// resource (the identity provider's retry went through, or the data was corrected).
    public var settlesRejections: Bool {
        (200..<300).contains(status) && ["POST", "PUT", "PATCH", "DELETE"].contains(method.uppercased())
            && resourceType != nil && (resourceId != nil || subject != nil)
    }

    public var rejection: (cause: String, suggestion: String)? {
        // A GET of something absent is a lookup, and a DELETE of something already gone has
        // reached its goal: neither is a problem for anyone to act on.
        guard status >= 400, !(status == 404 && ["GET", "DELETE"].contains(method.uppercased())), status != 412 else { return nil }
        let cause = "\(status)" + (scimType.map { " \($0)" } ?? "")
        let suggestion: String
        switch status {
        case 401:
            suggestion = "The identity provider's secret token is wrong, revoked or expired: create a key with the scim scope and paste it into the provisioning configuration."
        case 403:
            suggestion = "SCIM is disabled for this tenant or the key lacks the scim scope: turn on Enable SCIM, or use a scim key."
        case 409:
            suggestion = "Another user or group already has this value: remove the duplicate in the identity provider, or delete the stale resource here."
        case 413, 429:
            suggestion = "The identity provider sent more than the limits allow; it retries by itself. Persistent failures mean the limits need raising."
        case 500...:
            suggestion = "A server-side failure; the identity provider retries. Look up the request id in the responder's log if it persists."
        default:
            suggestion = "Correct the attribute named in the detail (in the identity provider's attribute mappings or the user's data); the next cycle retries."
        }
        return (cause, suggestion)
    }
}

/// Removes what must never be stored from a request body: any member whose name says it holds a
/// secret (password, secret, token, key material), at any depth. Bodies are cut to a size a log row
/// can carry.
public enum Redaction {
    /// Names that say a value is a secret, whatever schema sends them.
    static let secretNames = ["password", "secret", "token", "privatekey", "clientsecret", "apikey"]
    /// Attributes the schemas never return (RFC 7643 §2.4 `returned: never`, such as `password`):
    /// what no log may keep either.
    static let neverReturned: Set<String> = {
        func names(_ attributes: [AttributeDefinition]) -> [String] {
            attributes.flatMap { attribute in
                (attribute.returned == .never ? [attribute.name.lowercased()] : []) + names(attribute.subAttributes)
            }
        }
        return Set(names(CoreSchemas.user.attributes + CoreSchemas.enterpriseUser.attributes + CoreSchemas.group.attributes))
    }()
    public static let maxLoggedBodyBytes = 8192

    /// Whether an attribute name or PATCH path (`password`, `urn:...:User:password`,
    /// `x.password`, `emails[type eq "work"].password`) names a secret.
    static func namesSecret(_ nameOrPath: String) -> Bool {
        var last = Substring(nameOrPath.lowercased())
        if let bracket = last.firstIndex(of: "[") , let close = last.lastIndex(of: "]"), bracket < close {
            last = last[..<bracket] + last[last.index(after: close)...]
        }
        if let separator = last.lastIndex(where: { $0 == ":" || $0 == "." }) { last = last[last.index(after: separator)...] }
        let name = String(last.filter { $0.isLetter })
        return neverReturned.contains(name) || secretNames.contains { name.hasSuffix($0) }
    }

    public static func redact(_ value: JSONValue) -> JSONValue {
        switch value {
        case .object(let object):
            // A PATCH operation whose path names a secret carries it in "value" (RFC 7644 §3.5.2).
            let path = object.members.first { $0.key.lowercased() == "path" }?.value.stringValue
            let secretValue = path.map(namesSecret) ?? false
            var result = JSONObject()
            for member in object.members {
                let isSecret = namesSecret(member.key) || (secretValue && member.key.lowercased() == "value")
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
