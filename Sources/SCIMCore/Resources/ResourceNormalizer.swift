/// Turns a client's resource representation into the canonical form we store: attribute names in
/// canonical camelCase and schema order, values coerced to their schema type, extension attributes
/// under their schema URN. What a client may not set (`id`, `meta`, readOnly attributes) and what we
/// do not know (unknown attributes and schema URNs, RFC 7644 §3.3 lets us ignore them; Entra sends
/// several) is dropped. `null` and `""` mean "no value" (RFC 7644 §3.5.2.3, Entra quirk 14).
public struct ResourceNormalizer: Sendable {
    public let resourceType: ResourceTypeDefinition

    public init(_ resourceType: ResourceTypeDefinition) {
        self.resourceType = resourceType
    }

    /// RFC 7643 §2.4: a multi-valued attribute is a JSON array. In a resource body a single object
    /// or value there is refused (PATCH, where a value may address one element, stays lenient).
    private func requireArray(_ value: JSONValue, _ definition: AttributeDefinition, path: String) throws(SCIMError) {
        guard definition.multiValued else { return }
        switch value {
        case .array, .null: return
        case .string(let text) where text.isEmpty: return
        default: throw .badRequest(.invalidValue, "Attribute '\(path)' is multi-valued: send a JSON array, not \(value.typeName).")
        }
    }

    public func normalize(_ body: JSONObject) throws(SCIMError) -> JSONObject {
        var core: [String: JSONValue] = [:]
        var extensions: [String: [String: JSONValue]] = [:]
        var externalId: JSONValue?

        for member in body.members {
            let key = member.key
            if key.caseInsensitiveEquals("schemas") || key.caseInsensitiveEquals("id") || key.caseInsensitiveEquals("meta") {
                continue
            }
            if key.caseInsensitiveEquals("externalId") {
                externalId = try normalizeValue(member.value, CoreSchemas.common[1], path: "externalId")
                continue
            }
            if let definition = resourceType.schema.attribute(named: key) {
                // readOnly values are the server's to set; writeOnly ones (password) are never kept in
                // clear, and we have no use for a password, so neither is stored.
                guard definition.mutability != .readOnly, definition.mutability != .writeOnly else { continue }
                // Names are case-insensitive (RFC 7643 §2.1), so "userName" and "UserName" are one attribute given twice.
                guard core[definition.name] == nil else {
                    throw .badRequest(.invalidSyntax, "The attribute '\(definition.name)' is given twice (attribute names ignore case).")
                }
                try requireArray(member.value, definition, path: definition.name)
                core[definition.name] = try normalizeValue(member.value, definition, path: definition.name)
                continue
            }
            guard let (schema, rest) = resourceType.splitSchemaPrefix(key) else { continue }
            if rest.isEmpty {
                guard schema.id != resourceType.schema.id else { continue }
                if member.value.isNull { continue }
                guard case .object(let object) = member.value else {
                    throw .badRequest(.invalidSyntax, "The extension \(schema.id) must be a JSON object, got \(member.value.typeName).")
                }
                for inner in object.members {
                    guard let definition = schema.attribute(named: inner.key), definition.mutability != .readOnly else { continue }
                    try requireArray(inner.value, definition, path: "\(schema.id):\(definition.name)")
                    extensions[schema.id, default: [:]][definition.name] =
                        try normalizeValue(inner.value, definition, path: "\(schema.id):\(definition.name)")
                }
            } else if let definition = schema.attribute(named: rest), definition.mutability == .readWrite || definition.mutability == .immutable {
                // A fully qualified attribute name at the top level ("urn:...:User:department").
                try requireArray(member.value, definition, path: "\(schema.id):\(definition.name)")
                let value = try normalizeValue(member.value, definition, path: "\(schema.id):\(definition.name)")
                if schema.id == resourceType.schema.id {
                    core[definition.name] = value
                } else {
                    extensions[schema.id, default: [:]][definition.name] = value
                }
            }
        }

        var result = JSONObject()
        if let externalId { result.append("externalId", externalId) }
        for definition in resourceType.schema.attributes {
            if let value = core[definition.name] { result.append(definition.name, value) }
        }
        for schema in resourceType.extensions {
            guard let values = extensions[schema.id] else { continue }
            var object = JSONObject()
            for definition in schema.attributes {
                if let value = values[definition.name] { object.append(definition.name, value) }
            }
            if !object.isEmpty { result.append(schema.id, .object(object)) }
        }
        return result
    }

    /// Normalises one attribute value; nil means the attribute has no value.
    public func normalizeValue(_ value: JSONValue, _ definition: AttributeDefinition, path: String) throws(SCIMError) -> JSONValue? {
        if value.isNull { return nil }
        if definition.multiValued {
            let elements: [JSONValue]
            if case .array(let array) = value { elements = array } else { elements = [value] }
            var normalized: [JSONValue] = []
            for element in elements {
                if case .array = element {
                    throw .badRequest(.invalidValue, "Attribute '\(path)' must not contain nested arrays.")
                }
                if let single = try normalizeSingle(Self.decodingEmbeddedJSON(element, definition), definition, path: path) {
                    normalized.append(single)
                }
            }
            return normalized.isEmpty ? nil : .array(Self.singlePrimary(normalized))
        }
        if case .array(let array) = value {
            // Entra's older client wraps scalars as [{"value": x}] (docs/identity-providers.md quirk 6).
            guard array.count <= 1 else {
                throw .badRequest(.invalidValue, "Attribute '\(path)' is single-valued but got an array of \(array.count) values.")
            }
            guard let only = array.first else { return nil }
            if definition.type != .complex, case .object(let object) = only, let inner = object.member(caseInsensitive: "value") {
                return try normalizeSingle(inner.value, definition, path: path)
            }
            return try normalizeSingle(only, definition, path: path)
        }
        return try normalizeSingle(value, definition, path: path)
    }

    /// Entra's AppRoleAssignmentsComplex mapping (without aadOptscim062020) sends each role as
    /// {"value": "{\"id\":\"...\",\"value\":\"25\",\"displayName\":\"Role1234\"}"}: the element
    /// JSON-encoded into its own "value" (docs/identity-providers.md §4.2). Such an element is decoded into the
    /// sub-attributes it carries (displayName becoming display).
    static func decodingEmbeddedJSON(_ element: JSONValue, _ definition: AttributeDefinition) -> JSONValue {
        guard definition.type == .complex, case .object(let object) = element, object.count == 1 || object["$ref"] != nil,
              let text = object.member(caseInsensitive: "value")?.value.stringValue, text.hasPrefix("{"),
              case .object(let inner)? = try? JSONParser.parse(text), inner.member(caseInsensitive: "value") != nil
        else { return element }
        var decoded = JSONObject()
        for member in inner.members {
            let key = member.key.caseInsensitiveEquals("displayName") ? "display" : member.key
            if definition.subAttribute(named: key) != nil { decoded.append(key, member.value) }
        }
        return .object(decoded)
    }

    /// RFC 7643 §2.4: "primary" is true for at most one value. When several claim it, the last one
    /// keeps it (a PATCH appends the value it makes primary); the others lose the flag.
    static func singlePrimary(_ elements: [JSONValue]) -> [JSONValue] {
        guard let last = elements.lastIndex(where: { $0.objectValue?["primary"] == .bool(true) }) else { return elements }
        return elements.enumerated().map { index, element in
            guard index != last, case .object(var object) = element, object["primary"] == .bool(true) else { return element }
            object["primary"] = nil
            return .object(object)
        }
    }

    private func normalizeSingle(_ value: JSONValue, _ definition: AttributeDefinition, path: String) throws(SCIMError) -> JSONValue? {
        if value.isNull { return nil }
        switch definition.type {
        case .complex:
            switch value {
            case .object(let object):
                var values: [String: JSONValue] = [:]
                for member in object.members {
                    guard let sub = definition.subAttribute(named: member.key), sub.mutability != .readOnly else { continue }
                    values[sub.name] = try normalizeValue(member.value, sub, path: "\(path).\(sub.name)")
                }
                var result = JSONObject()
                for sub in definition.subAttributes {
                    if let v = values[sub.name] { result.append(sub.name, v) }
                }
                return result.isEmpty ? nil : .object(result)
            case .string, .number, .bool:
                // A bare value for a complex attribute with a "value" sub-attribute: Entra writes the
                // manager as a plain id string, and members as "id" in Microsoft's Postman tests.
                guard let valueDefinition = definition.subAttribute(named: "value") else {
                    throw .badRequest(.invalidValue, "Attribute '\(path)' must be an object, got \(value.typeName).")
                }
                guard let scalar = try normalizeSingle(value, valueDefinition, path: "\(path).value") else { return nil }
                return .object(JSONObject([("value", scalar)]))
            default:
                throw .badRequest(.invalidValue, "Attribute '\(path)' must be an object, got \(value.typeName).")
            }
        case .boolean:
            switch value {
            case .bool: return value
            case .string(let text):
                // Entra's default mapping sends "True"/"False" (docs/identity-providers.md quirk 4); coerced only here,
                // where the schema says boolean.
                if text.caseInsensitiveEquals("true") { return .bool(true) }
                if text.caseInsensitiveEquals("false") { return .bool(false) }
                if text.isEmpty { return nil }
                throw .badRequest(.invalidValue, "Attribute '\(path)' must be a boolean, got the string \"\(text.prefix(40))\".")
            default:
                throw .badRequest(.invalidValue, "Attribute '\(path)' must be a boolean, got \(value.typeName).")
            }
        case .integer:
            if case .number(let text) = value, Int(text) != nil { return value }
            if case .string(let text) = value, let n = Int(text) { return .integer(n) }
            throw .badRequest(.invalidValue, "Attribute '\(path)' must be an integer that fits in 64 bits.")
        case .decimal:
            if case .number(let text) = value, let d = Double(text), d.isFinite { return value }
            if case .string(let text) = value, let d = Double(text), d.isFinite { return .number(text) }
            throw .badRequest(.invalidValue, "Attribute '\(path)' must be a decimal number.")
        case .string, .reference, .binary, .dateTime:
            // RFC 7643 §2.3: a JSON number or boolean is not a string; no client we know sends one
            // for a string attribute, and storing it would make "userName": 751135508 a name.
            switch value {
            case .string(let text): return text.isEmpty ? nil : value
            default:
                throw .badRequest(.invalidValue, "Attribute '\(path)' must be a string, got \(value.typeName).")
            }
        }
    }
}
