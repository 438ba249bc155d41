/// An attribute path (`emails.value`, `urn:...:User:manager`, a bare `manager`) resolved against a
/// resource type's schemas: which schema and attribute it names, and which sub-attribute. The one
/// place paths are resolved; filters, PATCH and attribute projection all go through it.
public struct ResolvedAttribute: Sendable {
    /// The schema the attribute belongs to: the resource type's core schema or an extension.
    public let schema: SchemaDefinition
    public let definition: AttributeDefinition
    /// The sub-attribute named after the dot, if any.
    public let subAttribute: AttributeDefinition?
    /// Whether the attribute sits at the top of the resource (core schema, or `id`, `externalId`, `meta`).
    public let isCore: Bool

    /// The member of a stored resource that holds the attribute: its own name at the top, or the
    /// extension's URN, under which it sits.
    public var storedKey: String { isCore ? definition.name : schema.id }

    /// The extension's URN for an extension attribute.
    public var extensionURN: String? { isCore ? nil : schema.id }

    /// `urn:...:name.sub` as a person reads it in an error.
    public var displayPath: String {
        (extensionURN.map { "\($0):" } ?? "") + definition.name + (subAttribute.map { ".\($0.name)" } ?? "")
    }

    /// Whether this is one of the attributes every resource has (RFC 7643 §3.1): id, externalId, meta.
    public var isCommon: Bool { isCore && CoreSchemas.common.contains { $0.name == definition.name } }
}

/// Why a path names no attribute.
public enum AttributeResolutionFailure: Error, Sendable, Equatable {
    /// The path's URN is neither the core schema nor an extension of the resource type.
    case unknownSchema(String)
    case unknownAttribute
    /// A sub-attribute named on an attribute that has none (`userName.x`).
    case notComplex(attribute: String)
    case unknownSubAttribute(attribute: String)
}

extension ResourceTypeDefinition {
    /// What `path` names. An unqualified name is looked up in the core schema, then among the
    /// common attributes, then, when exactly one extension defines it, in that extension: Entra
    /// sends the enterprise `manager` without its URN (docs/identity-providers.md §4.4).
    public func resolve(_ path: AttributePath) -> Result<ResolvedAttribute, AttributeResolutionFailure> {
        let schema: SchemaDefinition
        let definition: AttributeDefinition
        if let uri = path.schemaURI, !uri.caseInsensitiveEquals(self.schema.id) {
            guard let ext = extensionSchema(uri) else { return .failure(.unknownSchema(uri)) }
            guard let found = ext.attribute(named: path.name) else { return .failure(.unknownAttribute) }
            (schema, definition) = (ext, found)
        } else if let found = self.schema.attribute(named: path.name)
                    ?? CoreSchemas.common.first(where: { $0.name.caseInsensitiveEquals(path.name) }) {
            (schema, definition) = (self.schema, found)
        } else {
            let matches = path.schemaURI == nil ? extensions.compactMap { ext in ext.attribute(named: path.name).map { (ext, $0) } } : []
            guard matches.count == 1 else { return .failure(.unknownAttribute) }
            (schema, definition) = matches[0]
        }
        var sub: AttributeDefinition?
        if let subName = path.subAttribute {
            guard definition.type == .complex else { return .failure(.notComplex(attribute: definition.name)) }
            guard let found = definition.subAttribute(named: subName) else { return .failure(.unknownSubAttribute(attribute: definition.name)) }
            sub = found
        }
        return .success(ResolvedAttribute(schema: schema, definition: definition, subAttribute: sub,
                                          isCore: schema.id == self.schema.id))
    }
}
