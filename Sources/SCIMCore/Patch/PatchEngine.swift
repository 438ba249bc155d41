/// Applies PATCH operations (RFC 7644 §3.5.2) to a resource in its stored, normalised form, including
/// the shapes Microsoft Entra sends in both of its dialects (docs/identity-providers.md §4): path-less add/replace
/// whose value keys are dotted or URN-qualified paths, replace/add on a filtered path that matches
/// nothing (which creates the element), scalars wrapped as `[{"value": x}]`, and `"True"`/`"False"`.
///
/// Attributes the schema does not know are ignored rather than refused, as on create: Entra sends
/// custom extension attributes a tenant may not have declared.
public struct PatchEngine: Sendable {
    public let resourceType: ResourceTypeDefinition
    private let normalizer: ResourceNormalizer

    public init(_ resourceType: ResourceTypeDefinition) {
        self.resourceType = resourceType
        self.normalizer = ResourceNormalizer(resourceType)
    }

    struct Target {
        var extensionURN: String?
        var definition: AttributeDefinition
        var subAttribute: AttributeDefinition?
        var filter: FilterExpression?
        var displayPath: String
    }

    public func apply(_ request: PatchRequest, to resource: JSONObject) throws(SCIMError) -> JSONObject {
        var document = resource
        for operation in request.operations {
            try apply(operation, to: &document)
        }
        return try normalizer.normalize(document)
    }

    func apply(_ operation: PatchRequest.Operation, to document: inout JSONObject) throws(SCIMError) {
        guard let path = operation.path else {
            // Path-less add/replace: each key of the value object is itself a path (RFC 7644 §3.5.2.1,
            // and Entra's aadOptscim062020 dialect with "name.givenName" and URN keys).
            guard case .object(let object) = operation.value else { return }
            for member in object.members {
                if let (schema, rest) = resourceType.splitSchemaPrefix(member.key), rest.isEmpty {
                    if schema.id == resourceType.schema.id { continue }
                    guard case .object(let inner) = member.value else {
                        if member.value.isNull, operation.op == .replace { document[schema.id] = nil; continue }
                        throw .badRequest(.invalidValue, "The value of \(schema.id) must be an object.")
                    }
                    for attribute in inner.members {
                        guard let definition = schema.attribute(named: attribute.key) else { continue }
                        let target = Target(extensionURN: schema.id, definition: definition, subAttribute: nil, filter: nil,
                                            displayPath: "\(schema.id):\(definition.name)")
                        try write(operation.op, target, attribute.value, &document)
                    }
                    continue
                }
                let keyPath: PatchPath
                do {
                    keyPath = try FilterParser.parsePatchPath(member.key)
                } catch {
                    continue  // Not a path we can read: an unknown attribute, ignored as on create.
                }
                // A read-only key in a value object is skipped as on create: Okta's group push sends
                // {"op":"replace","value":{"id":...,"displayName":...}}.
                if keyPath.attribute.schemaURI == nil, ["id", "meta", "schemas"].contains(where: { $0.caseInsensitiveEquals(keyPath.attribute.name) }) {
                    continue
                }
                guard let target = try? resolve(keyPath) ?? nil else { continue }
                try write(operation.op, target, member.value, &document)
            }
            return
        }
        if let rawPath = operation.rawPath, let (schema, rest) = resourceType.splitSchemaPrefix(rawPath), rest.isEmpty,
           schema.id != resourceType.schema.id {
            // The path names a whole extension ("urn:...:enterprise:2.0:User").
            if operation.op == .remove {
                document[schema.id] = nil
            } else {
                if operation.op == .replace { document[schema.id] = nil }
                let wrapped = PatchRequest.Operation(op: operation.op, path: nil, rawPath: nil,
                                                     value: .object(JSONObject([(schema.id, operation.value ?? .null)])))
                try apply(wrapped, to: &document)
            }
            return
        }
        guard let target = try resolve(path) else { return }
        switch operation.op {
        case .add, .replace:
            try write(operation.op, target, operation.value ?? .null, &document)
        case .remove:
            try remove(target, value: operation.value, &document)
        }
    }

    /// Resolves a path to an attribute of this resource type; nil when the attribute is unknown.
    func resolve(_ path: PatchPath) throws(SCIMError) -> Target? {
        let resolved: ResolvedAttribute
        var attribute = path.attribute
        attribute.subAttribute = path.subAttribute
        switch resourceType.resolve(attribute) {
        case .success(let found): resolved = found
        case .failure(.notComplex(let name)):
            throw .badRequest(.invalidPath, "'\(name)' has no sub-attributes, so '\(path.subAttribute ?? "")' cannot be addressed.")
        case .failure: return nil
        }
        let definition = resolved.definition
        guard definition.mutability != .readOnly else {
            throw .badRequest(.mutability, "The attribute '\(definition.name)' is read-only.")
        }
        if let sub = resolved.subAttribute, sub.mutability == .readOnly {
            throw .badRequest(.mutability, "The attribute '\(definition.name).\(sub.name)' is read-only.")
        }
        if path.valueFilter != nil, !definition.multiValued, definition.type != .complex {
            throw .badRequest(.invalidPath, "A value filter needs a complex attribute; '\(definition.name)' is a simple one.")
        }
        return Target(extensionURN: resolved.extensionURN, definition: definition, subAttribute: resolved.subAttribute,
                      filter: path.valueFilter, displayPath: resolved.displayPath)
    }

    // MARK: - Reading and writing the target attribute

    private func current(_ target: Target, _ document: JSONObject) -> JSONValue? {
        if let urn = target.extensionURN { return document[urn]?.objectValue?[target.definition.name] }
        return document[target.definition.name]
    }

    private func store(_ value: JSONValue?, _ target: Target, _ document: inout JSONObject) {
        if let urn = target.extensionURN {
            var container = document[urn]?.objectValue ?? JSONObject()
            container[target.definition.name] = value
            document[urn] = container.isEmpty ? nil : .object(container)
        } else {
            document[target.definition.name] = value
        }
    }

    private var singleElement: (AttributeDefinition) -> AttributeDefinition {
        { definition in
            var single = definition
            single.multiValued = false
            return single
        }
    }

    private func write(_ op: PatchRequest.Op, _ target: Target, _ rawValue: JSONValue,
                       _ document: inout JSONObject) throws(SCIMError) {
        let definition = target.definition
        if let filter = target.filter {
            try writeFiltered(target, filter, rawValue, &document)
            return
        }
        if let sub = target.subAttribute {
            setSubAttribute(sub.name, to: try normalizer.normalizeValue(rawValue, sub, path: target.displayPath), target, &document)
            return
        }
        let value = try normalizer.normalizeValue(rawValue, definition, path: target.displayPath)
        if definition.multiValued {
            guard op == .add, let added = value?.arrayValue else {
                store(value, target, &document)  // replace: the new set of values (RFC 7644 §3.5.2.3)
                return
            }
            var elements = current(target, document)?.arrayValue ?? []
            for element in added where !elements.contains(element) { elements.append(element) }
            store(.array(elements), target, &document)
        } else if definition.type == .complex, case .object(let update)? = value {
            // Both add and replace merge sub-attributes into a complex attribute (RFC 7644 §3.5.2.1, §3.5.2.3).
            var object = current(target, document)?.objectValue ?? JSONObject()
            for member in update.members { object[member.key] = member.value }
            store(.object(object), target, &document)
        } else {
            if value == nil, definition.required {
                throw .badRequest(.invalidValue, "'\(definition.name)' is required and cannot be cleared.")
            }
            store(value, target, &document)
        }
    }

    /// Replace (or add) through `attr[filter]` or `attr[filter].sub`. With no matching element, the
    /// element is created from the filter's equality terms: Entra relies on this for
    /// `emails[type eq "work"].value` on a user without a work email (docs/identity-providers.md §4.3).
    private func writeFiltered(_ target: Target, _ filter: FilterExpression, _ rawValue: JSONValue,
                               _ document: inout JSONObject) throws(SCIMError) {
        let definition = target.definition
        let evaluator = FilterEvaluator(attribute: definition)
        if !definition.multiValued {
            // A single complex value behind a filter is written when it matches, or when there is none yet.
            let existing = current(target, document)
            if let existing, !evaluator.matches(filter, existing) {
                throw .badRequest(.noTarget, "'\(target.displayPath)' does not match the filter of the path.")
            }
            let seed = try seedElement(from: filter, definition) ?? JSONObject()
            var object = existing?.objectValue ?? seed
            if let sub = target.subAttribute {
                object[sub.name] = try normalizer.normalizeValue(rawValue, sub, path: target.displayPath)
            } else if let update = try normalizer.normalizeValue(rawValue, definition, path: target.displayPath)?.objectValue {
                for member in update.members { object[member.key] = member.value }
            }
            store(object.isEmpty ? nil : .object(object), target, &document)
            return
        }
        var elements = current(target, document)?.arrayValue ?? []
        let update: JSONObject
        if let sub = target.subAttribute {
            var object = JSONObject()
            object[sub.name] = try normalizer.normalizeValue(rawValue, sub, path: target.displayPath) ?? .null
            update = object
        } else {
            let normalized = try normalizer.normalizeValue(rawValue, singleElement(definition), path: target.displayPath)
            update = normalized?.objectValue ?? JSONObject()
        }
        var matched = false
        for index in elements.indices where evaluator.matches(filter, elements[index]) {
            matched = true
            var object = elements[index].objectValue ?? JSONObject()
            for member in update.members { object[member.key] = member.value.isNull ? nil : member.value }
            elements[index] = .object(object)
        }
        if !matched {
            guard var seed = try seedElement(from: filter, definition) else {
                throw .badRequest(.noTarget, "The filter in '\(target.displayPath)' matched no value, and it is not a plain "
                                  + "equality from which a new value could be created.")
            }
            for member in update.members where !member.value.isNull { seed[member.key] = member.value }
            elements.append(.object(seed))
        }
        elements.removeAll { $0.objectValue?.isEmpty == true }
        store(elements.isEmpty ? nil : .array(elements), target, &document)
    }

    private func seedElement(from filter: FilterExpression, _ definition: AttributeDefinition) throws(SCIMError) -> JSONObject? {
        switch filter {
        case .compare(let path, .eq, let value) where path.subAttribute == nil && path.schemaURI == nil:
            guard let sub = definition.subAttribute(named: path.name) else { return nil }
            let json: JSONValue
            switch value {
            case .string(let s): json = .string(s)
            case .number(let n): json = .number(n)
            case .bool(let b): json = .bool(b)
            case .null: return nil
            }
            var object = JSONObject()
            object[sub.name] = try normalizer.normalizeValue(json, sub, path: "\(definition.name).\(sub.name)")
            return object
        case .and(let a, let b):
            guard var left = try seedElement(from: a, definition), let right = try seedElement(from: b, definition) else { return nil }
            for member in right.members { left[member.key] = member.value }
            return left
        default:
            return nil
        }
    }

    private func remove(_ target: Target, value: JSONValue?, _ document: inout JSONObject) throws(SCIMError) {
        let definition = target.definition
        if let filter = target.filter, !definition.multiValued {
            // A single complex value selected by a filter, as Entra removes a manager:
            // {"op":"Remove","path":"manager[value eq \"id\"]"}. Removed only if it matches.
            guard let value = current(target, document), FilterEvaluator(attribute: definition).matches(filter, value) else { return }
            if let sub = target.subAttribute, var object = value.objectValue {
                object[sub.name] = nil
                store(object.isEmpty ? nil : .object(object), target, &document)
            } else {
                store(nil, target, &document)
            }
            return
        }
        if let filter = target.filter {
            let evaluator = FilterEvaluator(attribute: definition)
            var elements = current(target, document)?.arrayValue ?? []
            if let sub = target.subAttribute {
                elements = elements.map { element in
                    guard evaluator.matches(filter, element), var object = element.objectValue else { return element }
                    object[sub.name] = nil
                    return .object(object)
                }
                elements.removeAll { $0.objectValue?.isEmpty == true }
            } else {
                elements.removeAll { evaluator.matches(filter, $0) }
            }
            store(elements.isEmpty ? nil : .array(elements), target, &document)
            return
        }
        if let sub = target.subAttribute {
            setSubAttribute(sub.name, to: nil, target, &document)
            return
        }
        if definition.required {
            throw .badRequest(.mutability, "'\(definition.name)' is required and cannot be removed.")
        }
        // Entra's default dialect removes listed values with {"op":"Remove","path":"x","value":[{"value":..}]}:
        // only those values go, never the whole attribute (docs/identity-providers.md §6).
        if definition.multiValued, let value, !value.isNull,
           let listed = try normalizer.normalizeValue(value, definition, path: target.displayPath)?.arrayValue {
            let keys = listed.map { Self.identity(of: $0) }
            var elements = current(target, document)?.arrayValue ?? []
            elements.removeAll { element in keys.contains(Self.identity(of: element)) }
            store(elements.isEmpty ? nil : .array(elements), target, &document)
            return
        }
        store(nil, target, &document)
    }

    /// Sets one sub-attribute of a complex attribute (in every element of a multi-valued one), or
    /// removes it with nil; an element or object left without sub-attributes goes with it.
    private func setSubAttribute(_ name: String, to value: JSONValue?, _ target: Target, _ document: inout JSONObject) {
        if target.definition.multiValued {
            let elements = (current(target, document)?.arrayValue ?? []).compactMap { element -> JSONValue? in
                guard var object = element.objectValue else { return element }
                object[name] = value
                return object.isEmpty ? nil : .object(object)
            }
            store(elements.isEmpty ? nil : .array(elements), target, &document)
        } else {
            var object = current(target, document)?.objectValue ?? JSONObject()
            object[name] = value
            store(object.isEmpty ? nil : .object(object), target, &document)
        }
    }

    /// What identifies an element of a multi-valued attribute for removal: its "value" when it has one.
    private static func identity(of element: JSONValue) -> JSONValue {
        element.objectValue?["value"] ?? element
    }
}
