/// The discovery documents (RFC 7643 §5 to §7; RFC 7644 §4), built from the same definitions that
/// drive validation, so they describe exactly what is served. No property is ever null.
public enum Discovery {
    public static let serviceProviderConfigURN = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
    public static let resourceTypeURN = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
    public static let schemaURN = "urn:ietf:params:scim:schemas:core:2.0:Schema"

    public static func serviceProviderConfig(baseURL: String, maxResults: Int, maxPayloadSize: Int) -> JSONObject {
        func flag(_ supported: Bool) -> JSONValue { .object(JSONObject([("supported", .bool(supported))])) }
        return JSONObject([
            ("schemas", .array([.string(serviceProviderConfigURN)])),
            ("patch", flag(true)),
            ("bulk", .object(JSONObject([("supported", .bool(true)), ("maxOperations", .integer(BulkEndpoint.maxOperations)),
                                         ("maxPayloadSize", .integer(maxPayloadSize))]))),
            ("filter", .object(JSONObject([("supported", .bool(true)), ("maxResults", .integer(maxResults))]))),
            ("changePassword", flag(false)),
            ("sort", flag(true)),
            ("etag", flag(true)),
            // RFC 9865 §4: both paging methods; index paging unless the client sends `cursor`.
            ("pagination", .object(JSONObject([
                ("cursor", .bool(true)), ("index", .bool(true)), ("defaultPaginationMethod", .string("index")),
                ("defaultPageSize", .integer(ListQuery.defaultCount)), ("maxPageSize", .integer(maxResults)),
            ]))),
            ("authenticationSchemes", .array([.object(JSONObject([
                ("type", .string("oauthbearertoken")),
                ("name", .string("OAuth Bearer Token")),
                ("description", .string("Authentication with a bearer token (an API key with the scim scope) in the Authorization header.")),
                ("specUri", .string("https://www.rfc-editor.org/info/rfc6750")),
                ("primary", .bool(true)),
            ]))])),
            ("meta", .object(JSONObject([
                ("resourceType", .string("ServiceProviderConfig")),
                ("location", .string("\(baseURL)/ServiceProviderConfig")),
            ]))),
        ])
    }

    public static func resourceType(_ type: ResourceTypeDefinition, baseURL: String) -> JSONObject {
        var object = JSONObject([
            ("schemas", .array([.string(resourceTypeURN)])),
            ("id", .string(type.name)),
            ("name", .string(type.name)),
            ("endpoint", .string(type.endpoint)),
            ("description", .string(type.description)),
            ("schema", .string(type.schema.id)),
        ])
        if !type.extensions.isEmpty {
            object.append("schemaExtensions", .array(type.extensions.map {
                .object(JSONObject([("schema", .string($0.id)), ("required", .bool(false))]))
            }))
        }
        object.append("meta", .object(JSONObject([
            ("resourceType", .string("ResourceType")), ("location", .string("\(baseURL)/ResourceTypes/\(type.name)")),
        ])))
        return object
    }

    public static func schema(_ schema: SchemaDefinition, baseURL: String) -> JSONObject {
        var object = representation(schema)
        object.append("meta", .object(JSONObject([("resourceType", .string("Schema")), ("location", .string("\(baseURL)/Schemas/\(schema.id)"))])))
        return object
    }

    /// The schema as RFC 7643 §7 writes it, without `meta`: also the form extensions are stored in.
    public static func representation(_ schema: SchemaDefinition) -> JSONObject {
        JSONObject([
            ("schemas", .array([.string(schemaURN)])),
            ("id", .string(schema.id)),
            ("name", .string(schema.name)),
            ("description", .string(schema.description)),
            ("attributes", .array(schema.attributes.map { .object(attribute($0)) })),
        ])
    }

    static func attribute(_ definition: AttributeDefinition) -> JSONObject {
        var object = JSONObject([
            ("name", .string(definition.name)),
            ("type", .string(definition.type.rawValue)),
            ("multiValued", .bool(definition.multiValued)),
            ("description", .string(definition.description)),
            ("required", .bool(definition.required)),
        ])
        if !definition.canonicalValues.isEmpty { object.append("canonicalValues", .array(definition.canonicalValues.map { .string($0) })) }
        object.append("caseExact", .bool(definition.caseExact))
        object.append("mutability", .string(definition.mutability.rawValue))
        object.append("returned", .string(definition.returned.rawValue))
        object.append("uniqueness", .string(definition.uniqueness.rawValue))
        if definition.type == .reference { object.append("referenceTypes", .array(definition.referenceTypes.map { .string($0) })) }
        if definition.type == .complex { object.append("subAttributes", .array(definition.subAttributes.map { .object(attribute($0)) })) }
        return object
    }
}
