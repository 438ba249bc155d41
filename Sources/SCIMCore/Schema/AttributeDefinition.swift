/// Attribute characteristics of RFC 7643 §2.2 and §7. One definition drives input normalisation,
/// output projection, filtering and the `/Schemas` document, so they cannot disagree.
public struct AttributeDefinition: Sendable {
    public enum DataType: String, Sendable {
        case string, boolean, decimal, integer, dateTime, reference, complex, binary
    }
    public enum Mutability: String, Sendable { case readOnly, readWrite, immutable, writeOnly }
    public enum Returned: String, Sendable { case always, never, `default`, request }
    public enum Uniqueness: String, Sendable { case none, server, global }

    public var name: String
    public var type: DataType
    public var multiValued: Bool
    public var description: String
    public var required: Bool
    public var caseExact: Bool
    public var mutability: Mutability
    public var returned: Returned
    public var uniqueness: Uniqueness
    public var canonicalValues: [String]
    public var referenceTypes: [String]
    public var subAttributes: [AttributeDefinition]

    public init(_ name: String, _ type: DataType = .string, multiValued: Bool = false, description: String = "",
                required: Bool = false, caseExact: Bool = false, mutability: Mutability = .readWrite,
                returned: Returned = .default, uniqueness: Uniqueness = .none, canonicalValues: [String] = [],
                referenceTypes: [String] = [], subAttributes: [AttributeDefinition] = []) {
        self.name = name
        self.type = type
        self.multiValued = multiValued
        self.description = description
        self.required = required
        self.caseExact = caseExact
        self.mutability = mutability
        self.returned = returned
        self.uniqueness = uniqueness
        self.canonicalValues = canonicalValues
        self.referenceTypes = referenceTypes
        self.subAttributes = subAttributes
    }

    public func subAttribute(named name: String) -> AttributeDefinition? {
        subAttributes.first { $0.name.caseInsensitiveEquals(name) }
    }
}

/// A schema (RFC 7643 §7): its URN and top-level attributes.
public struct SchemaDefinition: Sendable {
    public var id: String
    public var name: String
    public var description: String
    public var attributes: [AttributeDefinition]

    public init(id: String, name: String, description: String, attributes: [AttributeDefinition]) {
        self.id = id
        self.name = name
        self.description = description
        self.attributes = attributes
    }

    public func attribute(named name: String) -> AttributeDefinition? {
        attributes.first { $0.name.caseInsensitiveEquals(name) }
    }
}

/// A resource type (RFC 7643 §6): its core schema and the extensions it accepts.
public struct ResourceTypeDefinition: Sendable {
    public var name: String
    public var endpoint: String
    public var description: String
    public var schema: SchemaDefinition
    public var extensions: [SchemaDefinition]

    public init(name: String, endpoint: String, description: String, schema: SchemaDefinition,
                extensions: [SchemaDefinition]) {
        self.name = name
        self.endpoint = endpoint
        self.description = description
        self.schema = schema
        self.extensions = extensions
    }

    /// The extension whose URN matches `urn` ignoring case.
    public func extensionSchema(_ urn: String) -> SchemaDefinition? {
        extensions.first { $0.id.caseInsensitiveEquals(urn) }
    }

    /// Splits `urn:...:Schema:attr.sub` at the longest known schema URN (the dots in "2.0" are not
    /// path separators). Returns nil when no known schema is a prefix.
    public func splitSchemaPrefix(_ path: String) -> (schema: SchemaDefinition, rest: String)? {
        var best: (SchemaDefinition, String)?
        for schema in [self.schema] + extensions where path.caseInsensitiveHasPrefix(schema.id) {
            let remainder = path.utf8.dropFirst(schema.id.utf8.count)
            if remainder.isEmpty {
                if best == nil || schema.id.utf8.count > best!.0.id.utf8.count { best = (schema, "") }
            } else if remainder.first == UInt8(ascii: ":") {
                if best == nil || schema.id.utf8.count > best!.0.id.utf8.count {
                    best = (schema, String(decoding: remainder.dropFirst(), as: UTF8.self))
                }
            }
        }
        return best
    }
}
