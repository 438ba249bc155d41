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

    /// References get their `$ref` URI, which depends on where the client reached us, so it is added
    /// here rather than stored: group members, a user's groups, the enterprise manager.
    func withReferences(_ name: String, _ value: JSONValue, baseURL: String) -> JSONValue {
        func addRef(_ element: JSONValue, endpoint: (JSONObject) -> String) -> JSONValue {
            guard case .object(let object) = element, let id = object["value"]?.stringValue, object["$ref"] == nil else { return element }
            var result = JSONObject()
            for member in object.members {
                result.append(member.key, member.value)
                if member.key == "value" { result.append("$ref", .string("\(baseURL)\(endpoint(object))/\(id)")) }
            }
            return .object(result)
        }
        switch (resourceType.name, name) {
        case ("Group", "members"):
            return .array((value.arrayValue ?? []).map { addRef($0) { $0["type"]?.stringValue == "Group" ? "/Groups" : "/Users" } })
        case ("User", "groups"):
            return .array((value.arrayValue ?? []).map { addRef($0) { _ in "/Groups" } })
        case ("User", CoreSchemas.enterpriseUserURN):
            guard case .object(var ext) = value, let manager = ext["manager"] else { return value }
            ext["manager"] = addRef(manager) { _ in "/Users" }
            return .object(ext)
        default:
            return value
        }
    }

    public func render(_ stored: StoredResource, baseURL: String) -> JSONObject {
        var schemas: [JSONValue] = [.string(resourceType.schema.id)]
        var object = JSONObject()
        object.append("schemas", .null)
        object.append("id", .string(stored.id))
        for member in canonicalOrder(stored.attributes).members {
            if let ext = resourceType.extensionSchema(member.key) {
                schemas.append(.string(ext.id))
                object.append(ext.id, withReferences(ext.id, member.value, baseURL: baseURL))
            } else if resourceType.schema.attribute(named: member.key)?.returned != .never {
                object.append(member.key, withReferences(member.key, member.value, baseURL: baseURL))
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

    /// The stored attributes in the order `ResourceNormalizer` writes them (externalId, the core
    /// schema's attributes, each extension's, sub-attributes in schema order), whatever order the
    /// database gave back (jsonb keeps keys in its own). Core attributes the normalizer does not
    /// write (a user's groups, read from the membership table) follow in the order they came.
    func canonicalOrder(_ stored: JSONObject) -> JSONObject {
        var ordered = JSONObject()
        var placed: Set<String> = []
        func place(_ key: String, _ value: JSONValue) {
            ordered.append(key, value)
            placed.insert(key)
        }
        if let externalId = stored["externalId"] { place("externalId", externalId) }
        for definition in resourceType.schema.attributes where definition.mutability != .readOnly {
            if let value = stored[definition.name] { place(definition.name, Self.ordered(value, definition)) }
        }
        for schema in resourceType.extensions {
            guard let value = stored[schema.id], case .object(let object) = value else { continue }
            var inner = JSONObject()
            for definition in schema.attributes {
                if let value = object[definition.name] { inner.append(definition.name, Self.ordered(value, definition)) }
            }
            place(schema.id, .object(inner))
        }
        // Keys no schema of the tenant names any more (an extension since removed) are not shown.
        for member in stored.members where !placed.contains(member.key) && resourceType.schema.attribute(named: member.key) != nil {
            ordered.append(member.key, member.value)
        }
        return ordered
    }

    /// A complex value's sub-attributes in schema order (each element of a multi-valued one).
    static func ordered(_ value: JSONValue, _ definition: AttributeDefinition) -> JSONValue {
        guard definition.type == .complex else { return value }
        switch value {
        case .array(let elements): return .array(elements.map { ordered($0, definition) })
        case .object(let object):
            var result = JSONObject()
            for sub in definition.subAttributes {
                if let value = object[sub.name] { result.append(sub.name, value) }
            }
            for member in object.members where definition.subAttribute(named: member.key) == nil { result.append(member.key, member.value) }
            return .object(result)
        default: return value
        }
    }
}
