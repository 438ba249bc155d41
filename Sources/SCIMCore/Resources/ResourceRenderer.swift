/// Renders a stored resource for the wire: `schemas`, `id`, the attributes in canonical order, then
/// `meta` (RFC 7643 §3.1). Attributes returned "never" (password) are never written.
public struct ResourceRenderer: Sendable {
    public let resourceType: ResourceTypeDefinition

    public init(_ resourceType: ResourceTypeDefinition) {
        self.resourceType = resourceType
    }

    /// `W/"<version>"`: weak, since equal versions promise equal content, not equal bytes.
    public static func etag(version: Int) -> String { "W/\"\(version)\"" }

    public func location(baseURL: String, id: String) -> String { "\(baseURL)\(resourceType.endpoint)/\(id)" }

    public func render(_ stored: StoredResource, baseURL: String) -> JSONObject {
        var schemas: [JSONValue] = [.string(resourceType.schema.id)]
        var object = JSONObject()
        object.append("schemas", .null)
        object.append("id", .string(stored.id))
        for member in stored.attributes.members {
            if let ext = resourceType.extensionSchema(member.key) {
                schemas.append(.string(ext.id))
                object.append(ext.id, member.value)
            } else if resourceType.schema.attribute(named: member.key)?.returned != .never {
                object.append(member.key, member.value)
            }
        }
        object["schemas"] = .array(schemas)
        object.append("meta", .object(JSONObject([
            ("resourceType", .string(resourceType.name)),
            ("created", .string(stored.created)),
            ("lastModified", .string(stored.lastModified)),
            ("location", .string(location(baseURL: baseURL, id: stored.id))),
            ("version", .string(ResourceRenderer.etag(version: stored.version))),
        ])))
        return object
    }
}
