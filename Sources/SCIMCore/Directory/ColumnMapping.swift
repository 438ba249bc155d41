/// One column mapping: the SCIM attribute path whose value fills an application user field.
public struct ColumnMapping: Sendable, Equatable {
    public enum Transform: String, Sendable, CaseIterable {
        case trim
        case lowercase
        case uppercase

        func apply(_ value: String) -> String {
            switch self {
            case .trim: return value.trimmingWhitespace
            case .lowercase: return value.lowercased()
            case .uppercase: return value.uppercased()
            }
        }
    }

    public var id: String?
    public var scimPath: String
    public var field: String
    public var defaultValue: String?
    public var transforms: [Transform]

    public init(id: String? = nil, scimPath: String, field: String, defaultValue: String? = nil, transforms: [Transform] = []) {
        self.id = id
        self.scimPath = scimPath
        self.field = field
        self.defaultValue = defaultValue
        self.transforms = transforms
    }

    /// Reads a mapping as the admin API and scimctl take it:
    /// `{"scimPath": "...", "field": "...", "defaultValue": "...", "transforms": ["trim"]}`.
    public init(json object: JSONObject) throws(SCIMError) {
        guard let path = object["scimPath"]?.stringValue, !path.trimmingSpaces.isEmpty else {
            throw .badRequest(.invalidValue, "A column mapping needs \"scimPath\": the SCIM attribute, e.g. \"name.givenName\".")
        }
        guard let field = object["field"]?.stringValue, !field.isEmpty else {
            throw .badRequest(.invalidValue, "A column mapping needs \"field\": the application user field, e.g. \"first_name\".")
        }
        var defaultValue: String?
        switch object["defaultValue"] {
        case nil, .null?: defaultValue = nil
        case .string(let text)?: defaultValue = text
        default: throw .badRequest(.invalidValue, "\"defaultValue\" must be a string or null.")
        }
        var transforms: [Transform] = []
        switch object["transforms"] {
        case nil, .null?: break
        case .array(let list)?:
            for element in list {
                guard let name = element.stringValue, let transform = Transform(rawValue: name) else {
                    throw .badRequest(.invalidValue, "Unknown transform \(element.serialized().prefix(100)); use "
                                      + Transform.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", ") + ".")
                }
                transforms.append(transform)
            }
        default: throw .badRequest(.invalidValue, "\"transforms\" must be an array of strings.")
        }
        self.init(scimPath: String(path.trimmingSpaces), field: field, defaultValue: defaultValue, transforms: transforms)
    }

    public var json: JSONObject {
        var object = JSONObject()
        if let id { object["id"] = .string(id) }
        object["scimPath"] = .string(scimPath)
        object["field"] = .string(field)
        object["defaultValue"] = defaultValue.map(JSONValue.string) ?? .null
        object["transforms"] = .array(transforms.map { .string($0.rawValue) })
        return object
    }
}

