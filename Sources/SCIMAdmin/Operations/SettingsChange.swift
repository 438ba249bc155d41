import SCIMCore

/// What to do with an incoming department that no department mapping names.
public enum UnmappedDepartmentPolicy: String, Sendable, CaseIterable {
    /// Leave the user without a department and record an error an administrator can act on.
    case recordError = "record_error"
    /// Create a department of that name.
    case create
}

/// A change of a tenant's settings; nil leaves a setting as it is.
public struct SettingsChange: Sendable, Equatable {
    /// The *Enable SCIM* switch: off, every SCIM request of the tenant gets 403.
    public var scimEnabled: Bool?
    public var unmappedDepartment: UnmappedDepartmentPolicy?

    public init(scimEnabled: Bool? = nil, unmappedDepartment: UnmappedDepartmentPolicy? = nil) {
        self.scimEnabled = scimEnabled
        self.unmappedDepartment = unmappedDepartment
    }

    public static func unmappedDepartment(_ text: String) throws(SCIMError) -> UnmappedDepartmentPolicy {
        guard let policy = UnmappedDepartmentPolicy(rawValue: text) else {
            throw .badRequest(.invalidValue, "\"unmappedDepartment\" must be \"record_error\" or \"create\".")
        }
        return policy
    }
}
