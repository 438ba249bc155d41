/// The schemas of RFC 7643 §4 and §8.7.1 as data.
public enum CoreSchemas {
    public static let userURN = "urn:ietf:params:scim:schemas:core:2.0:User"
    public static let groupURN = "urn:ietf:params:scim:schemas:core:2.0:Group"
    public static let enterpriseUserURN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    public static let listResponseURN = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
    public static let patchOpURN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

    typealias A = AttributeDefinition

    /// value/display/type/primary, the sub-attributes shared by most multi-valued attributes (RFC 7643 §2.4).
    static func multiValued(_ name: String, description: String, valueType: A.DataType = .string,
                            referenceTypes: [String] = [], types: [String]) -> A {
        A(name, .complex, multiValued: true, description: description, subAttributes: [
            A("value", valueType, description: "The attribute's value.", referenceTypes: referenceTypes),
            A("display", description: "A human-readable name, primarily used for display purposes."),
            A("type", description: "A label indicating the attribute's function.", canonicalValues: types),
            A("primary", .boolean, description: "Indicates the 'primary' or preferred attribute value."),
        ])
    }

    public static let user = SchemaDefinition(id: userURN, name: "User", description: "User Account", attributes: [
        A("userName", description: "Unique identifier for the User, typically used by the user to directly authenticate.",
          required: true, uniqueness: .server),
        A("name", .complex, description: "The components of the user's real name.", subAttributes: [
            A("formatted", description: "The full name, including all middle names, titles, and suffixes."),
            A("familyName", description: "The family name of the User."),
            A("givenName", description: "The given name of the User."),
            A("middleName", description: "The middle name(s) of the User."),
            A("honorificPrefix", description: "The honorific prefix(es) of the User."),
            A("honorificSuffix", description: "The honorific suffix(es) of the User."),
        ]),
        A("displayName", description: "The name of the User, suitable for display to end-users."),
        A("nickName", description: "The casual way to address the user in real life."),
        A("profileUrl", .reference, description: "A fully qualified URL pointing to a page representing the User's online profile.",
          referenceTypes: ["external"]),
        A("title", description: "The user's title, such as \"Vice President.\""),
        A("userType", description: "Used to identify the relationship between the organization and the user."),
        A("preferredLanguage", description: "Indicates the User's preferred written or spoken language."),
        A("locale", description: "Used to indicate the User's default location for purposes of localizing items."),
        A("timezone", description: "The User's time zone in the 'Olson' time zone database format."),
        A("active", .boolean, description: "A Boolean value indicating the User's administrative status."),
        A("password", description: "The User's cleartext password, write-only.", mutability: .writeOnly, returned: .never),
        multiValued("emails", description: "Email addresses for the user.", types: ["work", "home", "other"]),
        multiValued("phoneNumbers", description: "Phone numbers for the User.",
                    types: ["work", "home", "mobile", "fax", "pager", "other"]),
        multiValued("ims", description: "Instant messaging addresses for the User.",
                    types: ["aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo"]),
        multiValued("photos", description: "URLs of photos of the User.", valueType: .reference,
                    referenceTypes: ["external"], types: ["photo", "thumbnail"]),
        A("addresses", .complex, multiValued: true, description: "A physical mailing address for this User.", subAttributes: [
            A("formatted", description: "The full mailing address, formatted for display."),
            A("streetAddress", description: "The full street address component."),
            A("locality", description: "The city or locality component."),
            A("region", description: "The state or region component."),
            A("postalCode", description: "The zip code or postal code component."),
            A("country", description: "The country name component."),
            A("type", description: "A label indicating the attribute's function.", canonicalValues: ["work", "home", "other"]),
            A("primary", .boolean, description: "Indicates the 'primary' or preferred address."),
        ]),
        A("groups", .complex, multiValued: true, description: "A list of groups to which the user belongs.",
          mutability: .readOnly, subAttributes: [
            A("value", description: "The identifier of the User's group.", mutability: .readOnly),
            A("$ref", .reference, description: "The URI of the corresponding 'Group' resource.", mutability: .readOnly,
              referenceTypes: ["Group"]),
            A("display", description: "A human-readable name.", mutability: .readOnly),
            A("type", description: "A label indicating the attribute's function.", mutability: .readOnly,
              canonicalValues: ["direct", "indirect"]),
        ]),
        multiValued("entitlements", description: "A list of entitlements for the User.", types: []),
        multiValued("roles", description: "A list of roles for the User.", types: []),
        multiValued("x509Certificates", description: "A list of certificates issued to the User.", valueType: .binary, types: []),
    ])

    public static let enterpriseUser = SchemaDefinition(
        id: enterpriseUserURN, name: "EnterpriseUser", description: "Enterprise User", attributes: [
            A("employeeNumber", description: "Numeric or alphanumeric identifier assigned to a person."),
            A("costCenter", description: "Identifies the name of a cost center."),
            A("organization", description: "Identifies the name of an organization."),
            A("division", description: "Identifies the name of a division."),
            A("department", description: "Identifies the name of a department."),
            A("manager", .complex, description: "The User's manager.", subAttributes: [
                A("value", description: "The id of the SCIM resource representing the User's manager."),
                A("$ref", .reference, description: "The URI of the SCIM resource representing the User's manager.",
                  referenceTypes: ["User"]),
                A("displayName", description: "The displayName of the User's manager.", mutability: .readOnly),
            ]),
        ])

    public static let group = SchemaDefinition(id: groupURN, name: "Group", description: "Group", attributes: [
        A("displayName", description: "A human-readable name for the Group.", required: true, uniqueness: .server),
        A("members", .complex, multiValued: true, description: "A list of members of the Group.", subAttributes: [
            A("value", description: "Identifier of the member of this Group.", mutability: .immutable),
            A("$ref", .reference, description: "The URI corresponding to a SCIM resource that is a member of this Group.",
              mutability: .immutable, referenceTypes: ["User", "Group"]),
            A("type", description: "A label indicating the type of resource.", mutability: .immutable,
              canonicalValues: ["User", "Group"]),
        ]),
    ])

    /// `id`, `externalId` and `meta` (RFC 7643 §3.1): on every resource, outside any schema's attribute list.
    public static let common: [AttributeDefinition] = [
        A("id", description: "A unique identifier for a SCIM resource as defined by the service provider.",
          caseExact: true, mutability: .readOnly, returned: .always, uniqueness: .server),
        A("externalId", description: "A String that is an identifier for the resource as defined by the provisioning client.",
          caseExact: true),
        A("meta", .complex, description: "A complex attribute containing resource metadata.", mutability: .readOnly,
          subAttributes: [
            A("resourceType", description: "The name of the resource type of the resource.", caseExact: true, mutability: .readOnly),
            A("created", .dateTime, description: "The DateTime that the resource was added to the service provider.",
              mutability: .readOnly),
            A("lastModified", .dateTime, description: "The most recent DateTime that the details of this resource were updated.",
              mutability: .readOnly),
            A("location", .reference, description: "The URI of the resource being returned.", caseExact: true,
              mutability: .readOnly),
            A("version", description: "The version of the resource being returned.", caseExact: true, mutability: .readOnly),
        ]),
    ]

    public static let userResourceType = ResourceTypeDefinition(
        name: "User", endpoint: "/Users", description: "User Account", schema: user, extensions: [enterpriseUser])
    public static let groupResourceType = ResourceTypeDefinition(
        name: "Group", endpoint: "/Groups", description: "Group", schema: group, extensions: [])
}
