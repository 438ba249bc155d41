import Testing
@testable import SCIMCore

@Suite("Filters and paths resolved against the schemas")
struct FilterResolverTests {
    let users = FilterResolver(TenantSchemas.standard.user)
    let groups = FilterResolver(TenantSchemas.standard.group)

    func resolve(_ text: String, _ resolver: FilterResolver? = nil) throws -> ResolvedFilter {
        try (resolver ?? users).resolve(try FilterParser.parse(text))
    }

    @Test("what cannot be served is 400 invalidFilter, decided before any store sees it", arguments: [
        #"nosuch eq "x""#, #"urn:example:unknown:attr eq "x""#, #"active gt true"#, #"active eq "maybe""#,
        #"meta.created co "2020""#, #"meta.created gt "yesterday""#, #"id gt "x""#, #"name[givenName eq "x"]"#,
        #"emails[type eq "work" and emails[value pr]]"#, #"groups.display eq "x""#, #"userName.x eq "y""#,
        #"title eq null and title gt null"#, #"meta.version eq "W/1""#,
    ])
    func refused(_ text: String) throws {
        let error = #expect(throws: SCIMError.self) { _ = try resolve(text) }
        #expect(error?.scimType == .invalidFilter, "\(text): \(String(describing: error))")
    }

    @Test("values take the type of what they are compared with")
    func typedValues() throws {
        guard case .compare(.attribute(let active), .eq, .boolean(true)) = try resolve(#"active eq "True""#) else {
            Issue.record("Entra's \"True\" is a boolean"); return
        }
        #expect(active.definition.name == "active")
        guard case .compare(.created, .gt, .dateTime("2020-01-01T00:00:00Z")) = try resolve(#"meta.created gt "2020-01-01T00:00:00Z""#) else {
            Issue.record("meta.created is a dateTime"); return
        }
        guard case .constant(false) = try resolve(#"id eq "garbage""#) else { Issue.record("a non-UUID id names nothing"); return }
        guard case .constant(true) = try resolve(#"id ne "garbage""#) else { Issue.record("and every resource is not it"); return }
    }

    @Test("a multi-valued complex attribute compared as a whole compares its elements' value")
    func elements() throws {
        guard case .anyElement(let emails, .compare(.element(let value), .co, .text("x"))) = try resolve(#"emails co "x""#) else {
            Issue.record("emails co x"); return
        }
        #expect(emails.definition.name == "emails" && value.name == "value")
        guard case .anyElement(_, .and(.compare(.element(let type), .eq, .text("work")), .present(.element(let primary)))) =
                try resolve(#"emails[type eq "work" and primary pr]"#) else { Issue.record("a value path"); return }
        #expect(type.name == "type" && primary.name == "primary")
    }

    @Test("Entra's bare manager names the enterprise extension's manager in filters, PATCH and projections alike")
    func bareManager() throws {
        guard case .compare(.attribute(let manager), .eq, .text("m-1")) = try resolve(#"manager eq "m-1""#) else {
            Issue.record("manager eq"); return
        }
        #expect(manager.extensionURN == CoreSchemas.enterpriseUserURN)
        #expect(manager.subAttribute?.name == "value", "a complex attribute is compared by its value")
        let projection = try Projection(attributes: "manager", excludedAttributes: nil)
        #expect(projection.storedKeys(TenantSchemas.standard.user) == [CoreSchemas.enterpriseUserURN])
        let patched = try PatchEngine(TenantSchemas.standard.user).apply(
            try PatchRequest.parse(try JSONParser.parse(#"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"manager","value":"m-2"}]}"#)),
            to: JSONObject([("userName", .string("u"))]))
        #expect(patched[CoreSchemas.enterpriseUserURN]?.objectValue?["manager"] != nil, "\(patched)")
    }

    @Test("membership is filtered by id only: members on groups, groups on users")
    func membership() throws {
        guard case .membership(let id) = try resolve(#"members.value eq "2819c223-7f76-453a-919d-413861904646""#, groups) else {
            Issue.record("members.value eq id"); return
        }
        #expect(id == "2819c223-7f76-453a-919d-413861904646")
        guard case .hasMembership = try resolve("groups pr") else { Issue.record("groups pr"); return }
        guard case .constant(false) = try resolve(#"members eq "not-an-id""#, groups) else { Issue.record("a bad id"); return }
    }
}
