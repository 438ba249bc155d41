/// Resource ids are UUIDs we assign; anything else cannot name a resource (and never reaches SQL).
public enum ResourceID {
    public static func isValid(_ id: String) -> Bool {
        let bytes = Array(id.utf8)
        guard bytes.count == 36 else { return false }
        for (i, byte) in bytes.enumerated() {
            if i == 8 || i == 13 || i == 18 || i == 23 {
                if byte != UInt8(ascii: "-") { return false }
            } else if !((byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66) || (byte >= 0x41 && byte <= 0x46)) {
                return false
            }
        }
        return true
    }
}

/// An `If-Match` / `If-None-Match` header value: `*` or a list of entity tags.
struct ETagList {
    let raw: String

    init(_ raw: String) { self.raw = raw }

    func matches(version: Int) -> Bool {
        for item in raw.split(separator: ",") {
            var tag = item.trimmingSpaces
            if tag == "*" { return true }
            if tag.hasPrefix("W/") { tag = tag.dropFirst(2) }
            if tag.hasPrefix("\"") && tag.hasSuffix("\"") && tag.count >= 2 { tag = tag.dropFirst().dropLast() }
            if tag == Substring(String(version)) { return true }
        }
        return false
    }
}

public enum RequestBody {
    public static func json(_ request: HTTPRequest) throws(SCIMError) -> JSONValue {
        guard !request.body.isEmpty else { throw .badRequest(.invalidSyntax, "The request has no body; a JSON object was expected.") }
        do {
            return try JSONParser.parse(request.body)
        } catch {
            throw .badRequest(.invalidSyntax, "The request body is not valid JSON: \(error.description).")
        }
    }

    /// A resource representation (POST, PUT): an object whose "schemas" names the resource's
    /// schema, as RFC 7643 §3 requires of every representation.
    public static func resource(_ request: HTTPRequest, schema: String) throws(SCIMError) -> JSONObject {
        let body = try object(request)
        guard let list = body.member(caseInsensitive: "schemas")?.value.arrayValue,
              list.contains(where: { $0.stringValue?.caseInsensitiveEquals(schema) == true })
        else {
            throw .badRequest(.invalidSyntax, "The body needs \"schemas\": [\"\(schema)\", ...] (RFC 7643 §3).")
        }
        return body
    }

    public static func object(_ request: HTTPRequest) throws(SCIMError) -> JSONObject {
        let value = try json(request)
        guard case .object(let object) = value else {
            throw .badRequest(.invalidSyntax, "The request body must be a JSON object, got \(value.typeName).")
        }
        return object
    }
}

/// The token of an `Authorization: Bearer <token>` header (RFC 6750 §2.1).
public enum BearerToken {
    public static func from(_ request: HTTPRequest) throws(SCIMError) -> String {
        guard let header = request.header("authorization"), !header.isEmpty else {
            throw .unauthorized("Authentication required: send 'Authorization: Bearer <token>'.")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw .unauthorized("Only the Bearer authentication scheme is supported.")
        }
        return String(parts[1].trimmingSpaces)
    }
}
