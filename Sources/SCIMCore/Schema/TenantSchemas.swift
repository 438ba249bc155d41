/// The resource types one tenant serves: the core ones, extended by the tenant's own extension
/// schemas (RFC 7643 §3.3). Everything that validates, patches, filters or describes a resource
/// takes its definition from here, so a declared extension is accepted, stored, filterable and
/// advertised alike.
public struct TenantSchemas: Sendable {
    public var user: ResourceTypeDefinition
    public var group: ResourceTypeDefinition

    public static let standard = TenantSchemas(user: CoreSchemas.userResourceType, group: CoreSchemas.groupResourceType)

    public init(user: ResourceTypeDefinition, group: ResourceTypeDefinition) {
        self.user = user
        self.group = group
    }

    /// The standard types plus these extensions ("User" or "Group", schema).
    public init(extensions: [(resourceType: String, schema: SchemaDefinition)]) {
        var schemas = TenantSchemas.standard
        for (type, schema) in extensions {
            if type == "Group" { schemas.group.extensions.append(schema) } else { schemas.user.extensions.append(schema) }
        }
        self = schemas
    }

    public var resourceTypes: [ResourceTypeDefinition] { [user, group] }

    public var allSchemas: [SchemaDefinition] {
        var all: [SchemaDefinition] = []
        for type in resourceTypes {
            for schema in [type.schema] + type.extensions where !all.contains(where: { $0.id == schema.id }) { all.append(schema) }
        }
        return all
    }
}

extension SchemaDefinition {
    /// Reads a schema in its SCIM representation (RFC 7643 §7), as an administrator declares a
    /// custom extension. Checks what would make it unusable; fills RFC defaults for the rest.
    public init(scimRepresentation object: JSONObject) throws(SCIMError) {
        guard let id = object["id"]?.stringValue, id.lowercased().hasPrefix("urn:"), id.utf8.count <= 300,
              !id.contains(" ") else {
            throw .badRequest(.invalidValue, "A schema needs an \"id\" that is a URN (urn:...).")
        }
        let reserved = [CoreSchemas.userURN, CoreSchemas.groupURN, CoreSchemas.enterpriseUserURN]
        guard !reserved.contains(where: { $0.caseInsensitiveEquals(id) }) else {
            throw .badRequest(.invalidValue, "\(id) is a standard schema and cannot be redefined.")
        }
        guard let list = object["attributes"]?.arrayValue, !list.isEmpty else {
            throw .badRequest(.invalidValue, "Schema \(id) needs a non-empty \"attributes\" array.")
        }
        var attributes: [AttributeDefinition] = []
        for element in list {
            let attribute = try AttributeDefinition(scimRepresentation: element.objectValue ?? JSONObject(), schema: id, depth: 0)
            guard !attributes.contains(where: { $0.name.caseInsensitiveEquals(attribute.name) }) else {
                throw .badRequest(.invalidValue, "Schema \(id) declares '\(attribute.name)' twice.")
            }
            attributes.append(attribute)
        }
        self.init(id: id, name: object["name"]?.stringValue ?? String(id.split(separator: ":").last ?? ""),
                  description: object["description"]?.stringValue ?? "", attributes: attributes)
    }
}

extension AttributeDefinition {
    init(scimRepresentation object: JSONObject, schema: String, depth: Int) throws(SCIMError) {
        guard let name = object["name"]?.stringValue, AttributeDefinition.isValidName(name) else {
            throw .badRequest(.invalidValue, "An attribute of \(schema) has no valid \"name\" (ATTRNAME of RFC 7643 §2.1).")
        }
        let typeText = object["type"]?.stringValue ?? "string"
        guard let type = DataType(rawValue: typeText) else {
            throw .badRequest(.invalidValue, "Attribute '\(name)' has unknown type '\(typeText)'.")
        }
        func text<T: RawRepresentable>(_ key: String, _ fallback: T) throws(SCIMError) -> T where T.RawValue == String {
            guard let raw = object[key]?.stringValue else { return fallback }
            guard let value = T(rawValue: raw) else { throw .badRequest(.invalidValue, "Attribute '\(name)' has invalid \(key) '\(raw)'.") }
            return value
        }
        var subAttributes: [AttributeDefinition] = []
        if type == .complex {
            guard depth == 0 else { throw .badRequest(.invalidValue, "Attribute '\(name)': complex attributes cannot nest.") }
            for element in object["subAttributes"]?.arrayValue ?? [] {
                subAttributes.append(try AttributeDefinition(scimRepresentation: element.objectValue ?? JSONObject(), schema: schema,
                                                             depth: depth + 1))
            }
            guard !subAttributes.isEmpty else { throw .badRequest(.invalidValue, "Complex attribute '\(name)' needs subAttributes.") }
        }
        self.init(name, type, multiValued: object["multiValued"]?.boolValue ?? false,
                  description: object["description"]?.stringValue ?? "", required: object["required"]?.boolValue ?? false,
                  caseExact: object["caseExact"]?.boolValue ?? false, mutability: try text("mutability", Mutability.readWrite),
                  returned: try text("returned", Returned.default), uniqueness: try text("uniqueness", Uniqueness.none),
                  canonicalValues: object["canonicalValues"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                  referenceTypes: object["referenceTypes"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                  subAttributes: subAttributes)
    }

    /// `ATTRNAME = ALPHA *(nameChar)`, nameChar = "-" / "_" / DIGIT / ALPHA (RFC 7643 §2.1).
    static func isValidName(_ name: String) -> Bool {
        guard let first = name.utf8.first, (first >= 0x41 && first <= 0x5A) || (first >= 0x61 && first <= 0x7A),
              name.utf8.count <= 64 else { return false }
        return name.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == 0x2D || $0 == 0x5F }
    }
}
