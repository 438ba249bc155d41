import Testing
@testable import SCIMCore

@Suite("Directory mapper: SCIM attributes to application fields")
struct DirectoryMapperTests {
    static let enterprise = CoreSchemas.enterpriseUserURN

    static func user(_ json: String) throws -> JSONObject {
        let parsed = try JSONParser.parse(json).objectValue ?? JSONObject()
        return try ResourceNormalizer(CoreSchemas.userResourceType).normalize(parsed)
    }

    static func mapper(_ mappings: [ColumnMapping], custom: [CustomField] = []) -> DirectoryMapper {
        DirectoryMapper(resourceType: CoreSchemas.userResourceType, mappings: mappings, customFields: custom)
    }

    @Test("value filters, sub-attributes, extension paths and the manager's value")
    func paths() throws {
        let attributes = try Self.user(#"""
            {"userName":"a@x.com","name":{"givenName":"Ann"},
             "phoneNumbers":[{"type":"work","value":"1"},{"type":"mobile","value":"2"}],
             "emails":[{"type":"home","value":"h@x.com"},{"type":"work","value":"w@x.com","primary":true}],
             "\#(Self.enterprise)":{"department":"Eng","manager":{"value":"m-1"}}}
            """#)
        let fields = Self.mapper([
            ColumnMapping(scimPath: "name.givenName", field: "first_name"),
            ColumnMapping(scimPath: #"phoneNumbers[type eq "mobile"].value"#, field: "mobile"),
            ColumnMapping(scimPath: "emails", field: "email"),
            ColumnMapping(scimPath: "\(Self.enterprise):department", field: "department"),
            ColumnMapping(scimPath: "\(Self.enterprise):manager", field: "manager"),
        ]).fields(of: attributes)
        #expect(fields["first_name"] == .string("Ann"))
        #expect(fields["mobile"] == .string("2"))
        #expect(fields["email"] == .string("w@x.com"), "without a filter, the primary element")
        #expect(fields["department"] == .string("Eng"))
        #expect(fields["manager"] == .string("m-1"), "a complex value without a sub-attribute gives its value")
        #expect(fields["subject"] == .string("a@x.com"))
        #expect(fields["problems"] == .array([]))
    }

    @Test("transforms, defaults, booleans from strings, custom fields")
    func transformsAndDefaults() throws {
        let attributes = try Self.user(#"{"userName":"b@x.com","title":"  Lead  ","active":false,"nickName":"bee"}"#)
        let fields = Self.mapper([
            ColumnMapping(scimPath: "title", field: "job_title", transforms: [.trim, .uppercase]),
            ColumnMapping(scimPath: "preferredLanguage", field: "locale", defaultValue: "en-GB"),
            ColumnMapping(scimPath: "active", field: "active"),
            ColumnMapping(scimPath: "nickName", field: "custom.nickname", transforms: [.lowercase]),
        ], custom: [CustomField(name: "nickname", label: "Nickname", maxLength: 10)]).fields(of: attributes)
        #expect(fields["job_title"] == .string("LEAD"))
        #expect(fields["locale"] == .string("en-GB"))
        #expect(fields["active"] == .bool(false))
        #expect(fields["custom"] == .object(JSONObject([("nickname", .string("bee"))])))
    }

    @Test("values that do not fit are left out and reported, never thrown")
    func problems() throws {
        let attributes = try Self.user(#"{"userName":"c@x.com","emails":[{"type":"work","value":"nope"}],"title":"\#(String(repeating: "t", count: 300))"}"#)
        let fields = Self.mapper([
            ColumnMapping(scimPath: #"emails[type eq "work"].value"#, field: "email"),
            ColumnMapping(scimPath: "title", field: "job_title"),
        ]).fields(of: attributes)
        #expect(fields["email"] == .null)
        #expect(fields["job_title"] == .null)
        let reported = (fields["problems"]?.arrayValue ?? []).compactMap { $0.objectValue?["field"]?.stringValue }
        #expect(reported == ["email", "job_title"])
    }

    @Test("validation names what is wrong", arguments: [
        (#"{"scimPath":"nosuch","field":"email"}"#, "names no attribute"),
        (#"{"scimPath":"name","field":"first_name"}"#, "complex attribute"),
        (#"{"scimPath":"title","field":"salary"}"#, "Unknown application field"),
        (#"{"scimPath":"title","field":"job_title","transforms":["reverse"]}"#, "Unknown transform"),
        (#"{"scimPath":"emails[type eq","field":"email"}"#, "Invalid path"),
    ])
    func validation(body: String, message: String) throws {
        let object = try JSONParser.parse(body).objectValue ?? JSONObject()
        do {
            let mapping = try ColumnMapping(json: object)
            try DirectoryMapper.validate(mapping, resourceType: CoreSchemas.userResourceType, customFields: [])
            Issue.record("accepted \(body)")
        } catch {
            #expect(error.status == 400)
            #expect(error.detail.contains(message), "\(error.detail)")
        }
    }

    @Test("refused requests become errors with a suggestion; probes and ETag races do not")
    func rejections() {
        func entry(_ method: String, _ status: Int, _ scimType: String? = nil) -> ProvisioningLogEntry {
            ProvisioningLogEntry(tenantSlug: "t", requestId: "r", keyPrefix: nil, method: method, path: "/scim/v2/t/Users", resourceType: "User",
                                 resourceId: nil, subject: nil, status: status, scimType: scimType, detail: nil,
                                 durationMilliseconds: 1, requestBody: nil)
        }
        #expect(entry("POST", 201).rejection == nil)
        #expect(entry("GET", 404).rejection == nil)
        #expect(entry("PATCH", 412).rejection == nil)
        #expect(entry("POST", 409, "uniqueness").rejection?.cause == "409 uniqueness")
        #expect(entry("GET", 401).rejection?.suggestion.contains("secret token") == true)
        // A DELETE of something already gone reached its goal; a PUT to something gone did not.
        #expect(entry("DELETE", 404).rejection == nil)
        #expect(entry("PUT", 404).rejection?.cause == "404")
    }

    @Test("a successful write of a user or group settles the refusals about it; reads and failures do not")
    func settlements() {
        func entry(_ method: String, _ status: Int, subject: String? = "ann") -> ProvisioningLogEntry {
            ProvisioningLogEntry(tenantSlug: "t", requestId: "r", keyPrefix: nil, method: method, path: "/scim/v2/t/Users", resourceType: "User",
                                 resourceId: nil, subject: subject, status: status, scimType: nil, detail: nil,
                                 durationMilliseconds: 1, requestBody: nil)
        }
        #expect(["POST", "PUT", "PATCH", "DELETE"].allSatisfy { entry($0, $0 == "POST" ? 201 : 200).settlesRejections })
        #expect(entry("DELETE", 204).settlesRejections)
        #expect(!entry("GET", 200).settlesRejections)
        #expect(!entry("POST", 409).settlesRejections)
        #expect(!entry("PATCH", 200, subject: nil).settlesRejections)
    }
}
