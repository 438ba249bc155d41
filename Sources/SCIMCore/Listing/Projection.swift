/// `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5, §3.9) applied to a rendered resource.
/// `id` and `schemas` are always returned; `attributes` narrows to what is listed.
public struct Projection: Sendable, Equatable {
    public var attributes: [AttributePath]
    public var excludedAttributes: [AttributePath]
    /// Value filters on multi-valued attributes (`attributes=emails[type eq "work"]`, which
    /// Microsoft's reference tests use): only the matching values are returned, or, excluded, left out.
    public var selectedValues: [PatchPath] = []
    public var excludedValues: [PatchPath] = []
    /// Attributes listed whole in `attributes` (no filter, no sub-attribute): a value filter on the
    /// same attribute then narrows nothing.
    var wholeAttributes: [AttributePath] = []

    public static let all = Projection(attributes: [], excludedAttributes: [])

    public init(attributes: [AttributePath], excludedAttributes: [AttributePath]) {
        self.attributes = attributes
        self.excludedAttributes = excludedAttributes
    }

    public init(attributes: String?, excludedAttributes: String?) throws(SCIMError) {
        let selected = try Projection.parseList(attributes)
        let excluded = try Projection.parseList(excludedAttributes)
        // A filtered path selects its attribute (the filter then narrows the values); an excluded
        // filtered path removes only the matching values, never the whole attribute.
        self.attributes = selected.map { $0.valueFilter == nil ? $0.attribute : AttributePath(schemaURI: $0.attribute.schemaURI, name: $0.attribute.name) }
        self.excludedAttributes = excluded.filter { $0.valueFilter == nil }.map(\.attribute)
        self.selectedValues = selected.filter { $0.valueFilter != nil }
        self.excludedValues = excluded.filter { $0.valueFilter != nil }
        self.wholeAttributes = selected.filter { $0.valueFilter == nil && $0.attribute.subAttribute == nil }.map(\.attribute)
    }

    public var isAll: Bool { attributes.isEmpty && excludedAttributes.isEmpty && excludedValues.isEmpty }

    /// The stored top-level keys a listing must read for this projection (attribute names, or an
    /// extension's URN for its attributes); nil when every key is needed. Lets the store read only
    /// those keys of the JSON instead of whole resources (`attributes=id` reads none).
    public func storedKeys(_ resourceType: ResourceTypeDefinition) -> [String]? {
        guard !attributes.isEmpty else { return nil }
        var keys: [String] = []
        for path in attributes {
            // An extension's attributes (or the whole extension, named by its URN) sit under its URN.
            if let uri = path.schemaURI, let ext = resourceType.extensionSchema(uri) {
                keys.append(ext.id)
            } else if case .success(let resolved) = resourceType.resolve(AttributePath(schemaURI: path.schemaURI, name: path.name)),
                      !resolved.isCommon || resolved.definition.name == "externalId" {
                // id and meta are columns, not members of the stored document.
                keys.append(resolved.storedKey)
            }
        }
        return keys
    }

    /// Whether the projection can leave out `name` (a top-level attribute of the core schema).
    public func excludes(_ name: String) -> Bool {
        if excludedAttributes.contains(where: { $0.schemaURI == nil && $0.subAttribute == nil && $0.name.caseInsensitiveEquals(name) }) {
            return true
        }
        return !attributes.isEmpty && !attributes.contains { $0.name.caseInsensitiveEquals(name) }
    }

    /// Comma-separated attribute paths; commas inside a value filter's brackets or quotes belong to it.
    static func parseList(_ text: String?) throws(SCIMError) -> [PatchPath] {
        guard let text, !text.isEmpty else { return [] }
        var items: [String] = []
        var current = ""
        var depth = 0
        var quoted = false
        var escaped = false
        for character in text {
            if quoted {
                if escaped { escaped = false } else if character == "\\" { escaped = true } else if character == "\"" { quoted = false }
            } else if character == "\"" {
                quoted = true
            } else if character == "[" {
                depth += 1
            } else if character == "]" {
                depth -= 1
            } else if character == "," && depth == 0 {
                items.append(current)
                current = ""
                continue
            }
            current.append(character)
        }
        items.append(current)
        var paths: [PatchPath] = []
        for item in items {
            let trimmed = String(Substring(item).trimmingSpaces)
            guard !trimmed.isEmpty else { continue }
            let path = try FilterParser.parsePatchPath(trimmed)
            if path.valueFilter != nil, path.attribute.subAttribute != nil {
                throw .badRequest(.invalidValue, "'\(trimmed.prefix(100))' filters a sub-attribute; filter the multi-valued attribute itself.")
            }
            paths.append(path)
        }
        return paths
    }

    public func apply(to resource: JSONObject, resourceType: ResourceTypeDefinition) -> JSONObject {
        guard !isAll else { return resource }
        var result = JSONObject()
        for member in resource.members {
            let key = member.key
            if key == "schemas" || key == "id" { result.append(key, member.value); continue }
            if let ext = resourceType.extensionSchema(key), case .object(let inner) = member.value {
                var kept = JSONObject()
                for attribute in inner.members {
                    if let value = project(attribute.value, schema: ext.id, name: attribute.key, ext.attribute(named: attribute.key)) {
                        kept.append(attribute.key, value)
                    }
                }
                if !kept.isEmpty { result.append(key, .object(kept)) }
                continue
            }
            if let value = project(member.value, schema: resourceType.schema.id, name: key, resourceType.schema.attribute(named: key)) {
                result.append(key, value)
            }
        }
        return result
    }

    /// The values of a multi-valued attribute a value filter keeps (selected) or drops (excluded),
    /// with the trailing sub-attribute only when the path names one (`emails[type eq "work"].value`).
    private func filteringValues(_ value: JSONValue, schema: String, name: String, _ definition: AttributeDefinition?) -> JSONValue? {
        guard let definition, definition.multiValued, case .array(var elements) = value else { return value }
        let evaluator = FilterEvaluator(attribute: definition)
        for excluded in excludedValues where matches(excluded.attribute, schema: schema, name: name) {
            guard let filter = excluded.valueFilter else { continue }
            elements.removeAll { evaluator.matches(filter, $0) }
        }
        let selected = selectedValues.filter { matches($0.attribute, schema: schema, name: name) }
        if !selected.isEmpty && !wholeAttributes.contains(where: { matches($0, schema: schema, name: name) }) {
            elements = elements.compactMap { element in
                guard let path = selected.first(where: { $0.valueFilter.map { evaluator.matches($0, element) } ?? false }) else { return nil }
                guard let sub = path.subAttribute else { return element }
                return Projection.keeping([sub], in: element)
            }
        }
        return elements.isEmpty ? nil : .array(elements)
    }

    private func matches(_ path: AttributePath, schema: String, name: String) -> Bool {
        if let uri = path.schemaURI, !uri.caseInsensitiveEquals(schema) { return false }
        if path.schemaURI == nil, schema != CoreSchemas.userURN, schema != CoreSchemas.groupURN {
            // An unqualified name refers to the core schema, but "manager" alone is unambiguous enough.
            return path.name.caseInsensitiveEquals(name)
        }
        return path.name.caseInsensitiveEquals(name)
    }

    private func project(_ value: JSONValue, schema: String, name: String, _ definition: AttributeDefinition?) -> JSONValue? {
        guard var value = filteringValues(value, schema: schema, name: name, definition) else { return nil }
        for excluded in excludedAttributes where matches(excluded, schema: schema, name: name) {
            guard let sub = excluded.subAttribute else { return nil }
            value = Projection.removing(sub, from: value)
        }
        guard !attributes.isEmpty else { return value }
        let selected = attributes.filter { matches($0, schema: schema, name: name) }
        if selected.isEmpty { return nil }
        if selected.contains(where: { $0.subAttribute == nil }) { return value }
        let subs = selected.compactMap(\.subAttribute)
        return Projection.keeping(subs, in: value)
    }

    private static func removing(_ sub: String, from value: JSONValue) -> JSONValue {
        switch value {
        case .object(var object):
            object.removeValue(caseInsensitive: sub)
            return .object(object)
        case .array(let elements):
            return .array(elements.map { removing(sub, from: $0) })
        default:
            return value
        }
    }

    private static func keeping(_ subs: [String], in value: JSONValue) -> JSONValue? {
        switch value {
        case .object(let object):
            var kept = JSONObject()
            for member in object.members where subs.contains(where: { $0.caseInsensitiveEquals(member.key) }) {
                kept.append(member.key, member.value)
            }
            return kept.isEmpty ? nil : .object(kept)
        case .array(let elements):
            let kept = elements.compactMap { keeping(subs, in: $0) }
            return kept.isEmpty ? nil : .array(kept)
        default:
            return nil
        }
    }
}

