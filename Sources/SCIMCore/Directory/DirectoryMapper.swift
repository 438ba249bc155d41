/// Computes what a SCIM user becomes in the application directory: the value of every mapped
/// field, taken from the user's attributes by the tenant's column mappings. Values that do not fit
/// their field are left out and reported as problems; they never fail the SCIM request, since the
/// identity provider can do nothing about them and would retry forever.
public struct DirectoryMapper: Sendable {
    struct CompiledMapping: Sendable {
        var mapping: ColumnMapping
        var field: ApplicationField
        var target: PatchEngine.Target
    }

    public let mappings: [ColumnMapping]
    let compiled: [CompiledMapping]

    /// Mappings that no longer resolve (an extension was removed since) are skipped.
    public init(resourceType: ResourceTypeDefinition, mappings: [ColumnMapping], customFields: [CustomField]) {
        self.mappings = mappings
        compiled = mappings.compactMap { mapping in
            try? Self.compile(mapping, resourceType: resourceType, customFields: customFields)
        }
    }

    public static let standard = DirectoryMapper(resourceType: CoreSchemas.userResourceType, mappings: [], customFields: [])

    /// Checks that a mapping can be used: a known field and a path to a user attribute that yields
    /// a single value.
    public static func validate(_ mapping: ColumnMapping, resourceType: ResourceTypeDefinition, customFields: [CustomField]) throws(SCIMError) {
        _ = try compile(mapping, resourceType: resourceType, customFields: customFields)
    }

    public static func fields(_ customFields: [CustomField]) -> [ApplicationField] {
        ApplicationField.builtIn + customFields.map { ApplicationField.custom($0.name, maxLength: $0.maxLength) }
    }

    static func compile(_ mapping: ColumnMapping, resourceType: ResourceTypeDefinition, customFields: [CustomField]) throws(SCIMError) -> CompiledMapping {
        guard let field = fields(customFields).first(where: { $0.name == mapping.field }) else {
            throw .badRequest(.invalidValue, "Unknown application field \"\(mapping.field.prefix(100))\". Fields: "
                              + fields(customFields).map(\.name).joined(separator: ", ") + ".")
        }
        let path = try FilterParser.parsePatchPath(mapping.scimPath)
        let target: PatchEngine.Target?
        do {
            target = try PatchEngine(resourceType).resolve(path)
        } catch {
            // Read-only attributes (id, groups) are as readable as any other here.
            target = nil
            if error.scimType != .mutability { throw error }
        }
        guard let target else {
            throw .badRequest(.invalidPath, "\"\(mapping.scimPath.prefix(200))\" names no attribute of the User resource or its extensions.")
        }
        if target.definition.type == .complex && target.subAttribute == nil && target.definition.subAttribute(named: "value") == nil {
            throw .badRequest(.invalidPath, "\"\(mapping.scimPath.prefix(200))\" is a complex attribute; name one of its sub-attributes, "
                              + "e.g. \"\(target.displayPath).\(target.definition.subAttributes.first?.name ?? "value")\".")
        }
        return CompiledMapping(mapping: mapping, field: field, target: target)
    }

    /// The `p_fields` document of `app.sync_user`: each mapped field's value (or null), custom fields
    /// under "custom", the userName as "subject", and "problems" for values that did not fit.
    public func fields(of attributes: JSONObject) -> JSONObject {
        var result = JSONObject()
        var custom = JSONObject()
        var problems: [JSONValue] = []
        for mapping in compiled {
            let (value, problem) = value(of: mapping, in: attributes)
            if let problem {
                problems.append(.object(JSONObject([
                    ("field", .string(mapping.field.name)), ("detail", .string(problem)),
                    ("suggestion", .string("Correct the value in the identity provider, or change the column mapping of \(mapping.field.name) "
                                           + "(path, transforms or default), then re-apply the mappings.")),
                ])))
            }
            if let name = mapping.field.customName {
                custom[name] = value ?? .null
            } else {
                result[mapping.field.name] = value ?? .null
            }
        }
        if !custom.isEmpty { result["custom"] = .object(custom) }
        result["subject"] = attributes["userName"] ?? .null
        result["problems"] = .array(problems)
        return result
    }

    private func value(of mapping: CompiledMapping, in attributes: JSONObject) -> (JSONValue?, String?) {
        var text = Self.text(Self.read(mapping.target, attributes))
        for transform in mapping.mapping.transforms { text = text.map(transform.apply) }
        if text?.isEmpty ?? true { text = mapping.mapping.defaultValue }
        guard let text, !text.isEmpty else { return (nil, nil) }
        let field = mapping.field
        let shown = "\"\(text.prefix(60))\(text.count > 60 ? "…" : "")\""
        switch field.kind {
        case .boolean:
            switch text.lowercased() {
            case "true": return (.bool(true), nil)
            case "false": return (.bool(false), nil)
            default: return (nil, "\(mapping.mapping.scimPath) gave \(shown) for \(field.name), which takes true or false.")
            }
        case .email:
            let parts = text.split(separator: "@", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !text.contains(" ") else {
                return (nil, "\(mapping.mapping.scimPath) gave \(shown) for \(field.name), which is not an e-mail address.")
            }
        default:
            break
        }
        guard text.count <= field.maxLength else {
            return (nil, "\(mapping.mapping.scimPath) gave a value of \(text.count) characters for \(field.name), "
                    + "which holds at most \(field.maxLength).")
        }
        return (.string(text), nil)
    }

    /// The value at the target: a value filter picks the first matching element (the primary one
    /// first); a multi-valued attribute without a filter gives its primary (or first) element; a
    /// complex value without a named sub-attribute gives its "value".
    static func read(_ target: PatchEngine.Target, _ attributes: JSONObject) -> JSONValue? {
        let container = target.extensionURN.map { attributes[$0]?.objectValue } ?? attributes
        guard var value = container?[target.definition.name] else { return nil }
        if case .array(var elements) = value {
            if let filter = target.filter {
                let evaluator = FilterEvaluator(attribute: target.definition)
                elements = elements.filter { evaluator.matches(filter, $0) }
            }
            guard let chosen = elements.first(where: { $0.objectValue?["primary"]?.boolValue == true }) ?? elements.first else { return nil }
            value = chosen
        } else if target.filter != nil {
            return nil
        }
        if case .object(let object) = value {
            return object[target.subAttribute?.name ?? "value"]
        }
        return target.subAttribute == nil ? value : nil
    }

    static func text(_ value: JSONValue?) -> String? {
        switch value {
        case .string(let text)?: return text
        case .bool(let flag)?: return flag ? "true" : "false"
        case .number(let literal)?: return literal
        default: return nil
        }
    }
}
