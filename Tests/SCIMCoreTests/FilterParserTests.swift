import Testing
@testable import SCIMCore

@Suite struct FilterParserTests {
    @Test("userName eq with a quoted value")
    func simpleEquality() throws {
        #expect(try FilterParser.parse(#"userName eq "bjensen""#) == .compare(AttributePath(name: "userName"), .eq, .string("bjensen")))
    }

    @Test("operators and keywords are case-insensitive")
    func caseInsensitiveOperators() throws {
        #expect(try FilterParser.parse(#"userName EQ "a" AND active Eq true"#)
            == .and(.compare(AttributePath(name: "userName"), .eq, .string("a")), .compare(AttributePath(name: "active"), .eq, .bool(true))))
    }

    @Test("and binds tighter than or; not and parentheses")
    func precedence() throws {
        let a = FilterExpression.present(AttributePath(name: "a"))
        let b = FilterExpression.present(AttributePath(name: "b"))
        let c = FilterExpression.present(AttributePath(name: "c"))
        #expect(try FilterParser.parse("a pr or b pr and c pr") == .or(a, .and(b, c)))
        #expect(try FilterParser.parse("(a pr or b pr) and c pr") == .and(.or(a, b), c))
        #expect(try FilterParser.parse("not (a pr) and b pr") == .and(.not(a), b))
    }

    @Test("URN-qualified attribute with a sub-attribute")
    func urnPath() throws {
        let filter = try FilterParser.parse(#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26""#)
        #expect(filter == .compare(AttributePath(schemaURI: CoreSchemas.enterpriseUserURN, name: "manager", subAttribute: "value"),
                                   .eq, .string("26")))
    }

    @Test("value path, and Entra's value path with a trailing sub-attribute comparison")
    func valuePaths() throws {
        let emails = AttributePath(name: "emails")
        #expect(try FilterParser.parse(#"emails[type eq "work" and value co "@example.com"]"#)
            == .valuePath(emails, .and(.compare(AttributePath(name: "type"), .eq, .string("work")),
                                       .compare(AttributePath(name: "value"), .co, .string("@example.com")))))
        #expect(try FilterParser.parse(#"emails[type eq "work"].value eq "a@b.c""#)
            == .valuePath(emails, .and(.compare(AttributePath(name: "type"), .eq, .string("work")),
                                       .compare(AttributePath(name: "value"), .eq, .string("a@b.c")))))
    }

    @Test("numbers, booleans, null and dates")
    func literals() throws {
        #expect(try FilterParser.parse("x gt 10") == .compare(AttributePath(name: "x"), .gt, .number("10")))
        #expect(try FilterParser.parse("x eq false") == .compare(AttributePath(name: "x"), .eq, .bool(false)))
        #expect(try FilterParser.parse("x eq null") == .compare(AttributePath(name: "x"), .eq, .null))
        #expect(try FilterParser.parse(#"meta.lastModified gt "2011-05-13T04:42:34Z""#)
            == .compare(AttributePath(name: "meta", subAttribute: "lastModified"), .gt, .string("2011-05-13T04:42:34Z")))
    }

    @Test("unquoted values are read as strings (Microsoft's documentation examples)")
    func lenientValues() throws {
        #expect(try FilterParser.parse("externalId eq jyoung") == .compare(AttributePath(name: "externalId"), .eq, .string("jyoung")))
        #expect(try FilterParser.parse("id eq 54D382A4-2050-4C03-94D1-E769F1D15682 and manager eq 2819c223")
            == .and(.compare(AttributePath(name: "id"), .eq, .string("54D382A4-2050-4C03-94D1-E769F1D15682")),
                    .compare(AttributePath(name: "manager"), .eq, .string("2819c223"))))
    }

    @Test("escaped quotes inside values")
    func escapedQuotes() throws {
        #expect(try FilterParser.parse(#"displayName eq "a \"b\" c""#) == .compare(AttributePath(name: "displayName"), .eq, .string(#"a "b" c"#)))
    }

    @Test("broken filters are invalidFilter", arguments: [
        "userName", "userName eq", #"userName xx "a""#, #"userName eq "a" and"#, "(a pr", "a pr)", #"emails[type eq "work""#,
        "", "   ", #"userName eq "unterminated"#, "not a pr", #"1abc eq "x""#, #"a.b.c eq "x""#, #"userName eq"a""#,
    ])
    func broken(_ text: String) {
        let error = #expect(throws: SCIMError.self) { try FilterParser.parse(text) }
        #expect(error?.status == 400)
        #expect(error?.scimType == .invalidFilter)
    }

    @Test("nesting and length limits")
    func limits() {
        let deep = String(repeating: "(", count: 40) + "a pr" + String(repeating: ")", count: 40)
        #expect(throws: SCIMError.self) { try FilterParser.parse(deep) }
        let long = "userName eq \"" + String(repeating: "x", count: 5000) + "\""
        #expect(throws: SCIMError.self) { try FilterParser.parse(long) }
    }

    @Test("PATCH paths")
    func patchPaths() throws {
        let path = try FilterParser.parsePatchPath(#"addresses[type eq "work"].streetAddress"#)
        #expect(path.attribute.name == "addresses")
        #expect(path.subAttribute == "streetAddress")
        #expect(path.valueFilter == .compare(AttributePath(name: "type"), .eq, .string("work")))
        let simple = try FilterParser.parsePatchPath("name.givenName")
        #expect(simple.attribute == AttributePath(name: "name", subAttribute: "givenName"))
        #expect(simple.valueFilter == nil)
        #expect(throws: SCIMError.self) { try FilterParser.parsePatchPath("emails[type eq \"work\"] junk") }
    }
}
