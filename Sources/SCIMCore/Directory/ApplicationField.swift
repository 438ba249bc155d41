/// A field of an application user (a column of `app.users`, or a tenant's custom field) that a
/// column mapping can fill, with what a value must look like to fit it.
public struct ApplicationField: Sendable, Equatable {
    public enum Kind: Sendable, Equatable {
        case text
        case email
        case boolean
        /// The incoming department name, resolved through the department mappings.
        case department
        /// The SCIM id of the manager, resolved to that user's application user.
        case manager
    }

    public var name: String
    public var kind: Kind
    public var maxLength: Int

    public init(name: String, kind: Kind = .text, maxLength: Int) {
        self.name = name
        self.kind = kind
        self.maxLength = maxLength
    }

    public static let customPrefix = "custom."

    /// The columns of app.users a mapping may fill.
    public static let builtIn: [ApplicationField] = [
        ApplicationField(name: "username", maxLength: 256),
        ApplicationField(name: "email", kind: .email, maxLength: 320),
        ApplicationField(name: "first_name", maxLength: 200),
        ApplicationField(name: "last_name", maxLength: 200),
        ApplicationField(name: "display_name", maxLength: 400),
        ApplicationField(name: "phone", maxLength: 64),
        ApplicationField(name: "mobile", maxLength: 64),
        ApplicationField(name: "job_title", maxLength: 200),
        ApplicationField(name: "employee_number", maxLength: 100),
        ApplicationField(name: "department", kind: .department, maxLength: 200),
        ApplicationField(name: "manager", kind: .manager, maxLength: 100),
        ApplicationField(name: "locale", maxLength: 35),
        ApplicationField(name: "time_zone", maxLength: 64),
        ApplicationField(name: "active", kind: .boolean, maxLength: 5),
    ]

    /// A tenant's custom field `name`, filled through the mapping field `custom.<name>`.
    public static func custom(_ name: String, maxLength: Int) -> ApplicationField {
        ApplicationField(name: customPrefix + name, maxLength: maxLength)
    }

    public var customName: String? {
        name.hasPrefix(Self.customPrefix) ? String(name.dropFirst(Self.customPrefix.count)) : nil
    }
}

/// A custom user field an administrator declared for the tenant (app.custom_fields).
public struct CustomField: Sendable, Equatable {
    public var name: String
    public var label: String
    public var maxLength: Int

    public init(name: String, label: String, maxLength: Int) {
        self.name = name
        self.label = label
        self.maxLength = maxLength
    }

    /// Lower-case letters, digits and underscores, starting with a letter (as the table checks).
    public static func isValidName(_ name: String) -> Bool {
        guard (1...63).contains(name.utf8.count), let first = name.utf8.first, first >= 0x61 && first <= 0x7A else { return false }
        return name.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: "_") }
    }
}
