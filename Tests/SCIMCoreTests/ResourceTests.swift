import Testing
@testable import SCIMCore

@Suite struct ResourceNormalizerTests {
    let normalizer = ResourceNormalizer(CoreSchemas.userResourceType)

    func normalize(_ text: String) throws -> JSONObject {
        guard case .object(let object) = try JSONParser.parse(text) else { throw SCIMError.internalError("not an object") }
        return try normalizer.normalize(object)
    }

    @Test("canonical names and order, string booleans coerced, unknowns, nulls, id, meta and password dropped")
    func entraCreateBody() throws {
        let user = try normalize(#"""
            {"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0User"],
             "USERNAME":"Test_User","Active":"True","id":"client-id","meta":{"resourceType":"User"},"addresses":null,
             "department":"top-level is not a core attribute","title":null,"password":"s3cret",
             "emails":[{"Primary":true,"type":"work","value":"x@testuser.com"}],
             "name":{"givenName":"G","familyName":"F","formatted":"G F"},"externalId":"0a21f0f2"}
            """#)
        #expect(JSONValue.object(user).serialized() == #"""
            {"externalId":"0a21f0f2","userName":"Test_User","name":{"formatted":"G F","familyName":"F","givenName":"G"},"active":true,"emails":[{"value":"x@testuser.com","type":"work","primary":true}]}
            """#)
    }

    @Test("enterprise extension: URN key matched ignoring case, manager string becomes {value}")
    func enterprise() throws {
        let user = try normalize(#"{"userName":"u","URN:IETF:PARAMS:SCIM:SCHEMAS:EXTENSION:ENTERPRISE:2.0:USER":{"Manager":"m-1","department":"D"}}"#)
        #expect(JSONValue.object(user).serialized()
            == #"{"userName":"u","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D","manager":{"value":"m-1"}}}"#)
    }

    @Test("a boolean given garbage, or an object given a number, is invalidValue")
    func typeErrors() {
        for text in [#"{"userName":"u","active":"yes"}"#, #"{"userName":"u","name":5}"#, #"{"userName":"u","active":[true,false]}"#] {
            let error = #expect(throws: SCIMError.self) { try normalize(text) }
            #expect(error?.scimType == .invalidValue, "\(text)")
        }
    }

    @Test("userName is required")
    func userNameRequired() throws {
        #expect(throws: SCIMError.self) { try UserWrite(attributes: try normalize(#"{"displayName":"x"}"#)) }
        #expect(throws: SCIMError.self) { try UserWrite(attributes: try normalize(#"{"userName":"  "}"#)) }
        let user = try UserWrite(attributes: try normalize(#"{"userName":"a","active":"False"}"#))
        #expect(user.active == false)
    }
}

@Suite struct ProjectionTests {
    let stored = StoredResource(id: "2819c223-7f76-453a-919d-413861904646",
                                attributes: JSONObject([("userName", .string("u")), ("title", .string("t")),
                                                        ("name", .object(JSONObject([("givenName", .string("g")), ("familyName", .string("f"))])))]),
                                version: 3, created: "2026-01-01T00:00:00.000Z", lastModified: "2026-01-02T00:00:00.000Z")

    func rendered(_ projection: Projection) -> String {
        let renderer = ResourceRenderer(CoreSchemas.userResourceType)
        return JSONValue.object(projection.apply(to: renderer.render(stored, baseURL: "https://h/scim/v2/t"),
                                                 resourceType: CoreSchemas.userResourceType)).serialized()
    }

    @Test("attributes=id keeps only schemas and id")
    func onlyId() throws {
        #expect(rendered(try Projection(attributes: "id", excludedAttributes: nil))
            == #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"2819c223-7f76-453a-919d-413861904646"}"#)
    }

    @Test("attributes with a sub-attribute; excludedAttributes drops what it names")
    func subAttributes() throws {
        #expect(rendered(try Projection(attributes: "name.familyName", excludedAttributes: nil))
            == #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"2819c223-7f76-453a-919d-413861904646","name":{"familyName":"f"}}"#)
        let excluded = rendered(try Projection(attributes: nil, excludedAttributes: "title,meta"))
        #expect(!excluded.contains("title") && !excluded.contains("meta") && excluded.contains("userName"))
    }

    @Test("a value filter in attributes returns the matching values; in excludedAttributes it leaves them out")
    func valueFilters() throws {
        let emails = JSONValue.array([.object(JSONObject([("value", .string("w@x.y")), ("type", .string("work")), ("primary", .bool(true))])),
                                      .object(JSONObject([("value", .string("h@x.y")), ("type", .string("home"))]))])
        let user = StoredResource(id: stored.id, attributes: stored.attributes.merging("emails", emails), version: 1,
                                  created: stored.created, lastModified: stored.lastModified)
        func rendered(_ projection: Projection) -> JSONObject {
            projection.apply(to: ResourceRenderer(CoreSchemas.userResourceType).render(user, baseURL: "https://h/scim/v2/t"),
                             resourceType: CoreSchemas.userResourceType)
        }
        let work = rendered(try Projection(attributes: #"emails[type eq "work"]"#, excludedAttributes: nil))
        #expect(work["emails"] == .array([.object(JSONObject([("value", .string("w@x.y")), ("type", .string("work")), ("primary", .bool(true))]))]))
        #expect(work["userName"] == nil)
        let values = rendered(try Projection(attributes: #"userName,emails[type eq "home" or type eq "work"].value"#, excludedAttributes: nil))
        #expect(values["emails"] == .array([.object(JSONObject([("value", .string("w@x.y"))])), .object(JSONObject([("value", .string("h@x.y"))]))]))
        #expect(values["userName"] == .string("u"))
        let withoutHome = rendered(try Projection(attributes: nil, excludedAttributes: #"emails[type eq "home"]"#))
        #expect(withoutHome["emails"]?.arrayValue?.count == 1 && withoutHome["title"] == .string("t"))
        let none = rendered(try Projection(attributes: #"emails[type eq "other"]"#, excludedAttributes: nil))
        #expect(none["emails"] == nil)
        // A listed whole attribute is not narrowed by a filter on it.
        #expect(rendered(try Projection(attributes: #"emails,emails[type eq "work"]"#, excludedAttributes: nil))["emails"]?.arrayValue?.count == 2)
        #expect(throws: SCIMError.self) { try Projection(attributes: #"name.givenName[value eq "x"]"#, excludedAttributes: nil) }
    }

    @Test("meta carries the version as a weak ETag and the location")
    func meta() {
        let text = rendered(.all)
        #expect(text.contains(#""version":"W/\"3\"""#))
        #expect(text.contains(#""location":"https://h/scim/v2/t/Users/2819c223-7f76-453a-919d-413861904646""#))
    }
}

@Suite struct ProtocolTests {
    @Test("error bodies have the RFC 7644 §3.12 shape with status as a string")
    func errorBody() {
        let body = SCIMError.conflict("taken").body.serialized()
        #expect(body == #"{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"scimType":"uniqueness","detail":"taken","status":"409"}"#)
    }

    @Test("query strings decode %XX and + as space")
    func query() {
        let pairs = HTTPRequest.parseQuery("filter=userName+eq+%22a%40b.c%22&aadOptscim062020&count=2")
        #expect(pairs.map(\.name) == ["filter", "aadOptscim062020", "count"])
        #expect(pairs[0].value == #"userName eq "a@b.c""#)
    }

    @Test("paging: startIndex below 1 reads as 1, negative count as 0, count capped")
    func paging() throws {
        let request = HTTPRequest(method: "GET", path: "/", query: [("startIndex", "-3"), ("count", "-1")])
        let query = try ListQuery(request: request)
        #expect(query.startIndex == 1 && query.count == 0)
        let big = try ListQuery(request: HTTPRequest(method: "GET", path: "/", query: [("count", "99999999999999999999999")]))
        #expect(big.count == ListQuery.maxCount)
        #expect(throws: SCIMError.self) { try ListQuery(request: HTTPRequest(method: "GET", path: "/", query: [("count", "ten")])) }
    }

    @Test("resource ids are UUIDs")
    func ids() {
        #expect(ResourceID.isValid("2819c223-7f76-453a-919d-413861904646"))
        #expect(!ResourceID.isValid("2819c223-7f76-453a-919d-41386190464"))
        #expect(!ResourceID.isValid("'; drop table scim.users; --"))
    }

    @Test("If-Match lists: weak and strong tags, star")
    func etags() {
        #expect(ETagList(#"W/"3""#).matches(version: 3))
        #expect(ETagList(#""3""#).matches(version: 3))
        #expect(ETagList(#"W/"1", W/"3""#).matches(version: 3))
        #expect(ETagList("*").matches(version: 9))
        #expect(!ETagList(#"W/"2""#).matches(version: 3))
    }
}

@Suite struct TenantSchemaTests {
    func schema(_ text: String) throws -> SchemaDefinition {
        guard case .object(let object) = try JSONParser.parse(text) else { throw SCIMError.internalError("not an object") }
        return try SchemaDefinition(scimRepresentation: object)
    }

    @Test("an extension schema in SCIM form is read with RFC defaults, and drives normalisation")
    func readAndUse() throws {
        let ext = try schema(#"{"id":"urn:example:ext:1.0:User","attributes":[{"name":"level","type":"integer"},{"name":"tags","multiValued":true},{"name":"site","type":"complex","subAttributes":[{"name":"code"}]}]}"#)
        #expect(ext.attributes.map(\.name) == ["level", "tags", "site"])
        #expect(ext.attributes[1].type == .string && ext.attributes[1].mutability == .readWrite)
        let schemas = TenantSchemas(extensions: [("User", ext)])
        let normalizer = ResourceNormalizer(schemas.user)
        guard case .object(let body) = try JSONParser.parse(#"{"userName":"u","urn:example:ext:1.0:User:level":"7","URN:EXAMPLE:EXT:1.0:USER":{"Tags":["a"],"site":{"code":"X"}}}"#) else { return }
        let user = try normalizer.normalize(body)
        #expect(JSONValue.object(user).serialized() == #"{"userName":"u","urn:example:ext:1.0:User":{"level":7,"tags":["a"],"site":{"code":"X"}}}"#)
        // A multi-valued attribute is an array (RFC 7643 §2.4), in an extension too.
        guard case .object(let scalar) = try JSONParser.parse(#"{"userName":"u","urn:example:ext:1.0:User":{"tags":"a"}}"#) else { return }
        let error = #expect(throws: SCIMError.self) { try normalizer.normalize(scalar) }
        #expect(error?.status == 400 && error?.scimType == .invalidValue)
    }

    @Test("declarations that cannot work are refused", arguments: [
        #"{"attributes":[{"name":"a"}]}"#, #"{"id":"not-a-urn","attributes":[{"name":"a"}]}"#,
        #"{"id":"urn:ietf:params:scim:schemas:core:2.0:User","attributes":[{"name":"a"}]}"#, #"{"id":"urn:x:y","attributes":[]}"#,
        #"{"id":"urn:x:y","attributes":[{"name":"1a"}]}"#, #"{"id":"urn:x:y","attributes":[{"name":"a","type":"float"}]}"#,
        #"{"id":"urn:x:y","attributes":[{"name":"a"},{"name":"A"}]}"#, #"{"id":"urn:x:y","attributes":[{"name":"a","type":"complex"}]}"#,
    ])
    func refused(_ text: String) {
        #expect(throws: SCIMError.self) { try schema(text) }
    }
}

@Suite struct CursorTextTests {
    @Test("a cursor round-trips; foreign text is invalidCursor; empty asks for the first page")
    func roundTrip() throws {
        let id = "2819c223-7f76-453a-919d-413861904646"
        let text = ListCursorText.encode(afterId: id)
        #expect(!text.contains(id))
        #expect(try ListCursorText.decode(text) == .after(id))
        #expect(try ListCursorText.decode("") == .first)
        for bad in ["%%%", "YQ", ListCursorText.encode(afterId: "not-a-uuid"), String(repeating: "A", count: 400)] {
            let error = #expect(throws: SCIMError.self) { try ListCursorText.decode(bad) }
            #expect(error?.scimType == .invalidCursor)
        }
    }
}

@Suite struct RedactionTests {
    @Test("secrets are redacted at any depth; other values stay")
    func redact() throws {
        let body = try JSONParser.parse(#"{"userName":"u","password":"p","nested":{"clientSecret":"s","list":[{"apiKey":"k","x":1}]}}"#)
        #expect(Redaction.redact(body).serialized()
            == #"{"userName":"u","password":"[redacted]","nested":{"clientSecret":"[redacted]","list":[{"apiKey":"[redacted]","x":1}]}}"#)
        #expect(Redaction.loggedBody(Array("not json".utf8))?.serialized().contains("not valid JSON") == true)
        #expect(Redaction.loggedBody([]) == nil)
    }
}

@Suite struct RedactionByPathTests {
    static let secret = "Tr0ub4dor&3"

    @Test("a password never reaches the log, in any request shape", arguments: [
        // PATCH by path, as Okta and Entra send it
        #"{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"password","value":"Tr0ub4dor&3"}]}"#,
        // PATCH by a URN-qualified path, capitalised op
        #"{"Operations":[{"op":"Replace","path":"urn:ietf:params:scim:schemas:core:2.0:User:password","value":"Tr0ub4dor&3"}]}"#,
        // path-less PATCH with a value object, and a URN key inside it
        #"{"Operations":[{"op":"add","value":{"password":"Tr0ub4dor&3"}}]}"#,
        #"{"Operations":[{"op":"add","value":{"urn:ietf:params:scim:schemas:core:2.0:User:password":"Tr0ub4dor&3"}}]}"#,
        // Bulk, with a create and a PATCH inside
        #"{"Operations":[{"method":"POST","path":"/Users","data":{"userName":"a","password":"Tr0ub4dor&3"}},{"method":"PATCH","path":"/Users/1","data":{"Operations":[{"op":"replace","path":"password","value":"Tr0ub4dor&3"}]}}]}"#,
        // a value wrapped the way Entra wraps scalars
        #"{"Operations":[{"op":"replace","path":"PASSWORD","value":[{"value":"Tr0ub4dor&3"}]}]}"#,
    ])
    func redacted(_ body: String) throws {
        let logged = try #require(Redaction.loggedBody(Array(body.utf8)))
        #expect(!logged.serialized().contains(Self.secret), "\(logged.serialized())")
        #expect(logged.serialized().contains("[redacted]"))
    }

    @Test("other PATCH values stay readable")
    func others() throws {
        let body = #"{"Operations":[{"op":"replace","path":"displayName","value":"Ann"},{"op":"replace","path":"emails[type eq \"work\"].value","value":"a@b.c"}]}"#
        let logged = try #require(Redaction.loggedBody(Array(body.utf8))).serialized()
        #expect(logged.contains("Ann") && logged.contains("a@b.c") && !logged.contains("[redacted]"))
    }
}

@Suite struct SchemaEnforcementTests {
    let normalizer = ResourceNormalizer(CoreSchemas.userResourceType)

    func normalize(_ text: String) throws -> JSONObject {
        guard case .object(let body) = try JSONParser.parse(text) else { throw SCIMError.internalError("not an object") }
        return try normalizer.normalize(body)
    }

    @Test("a value of the wrong JSON type is 400 invalidValue and nothing is kept", arguments: [
        #"{"userName":751135508}"#, #"{"userName":"u","displayName":true}"#, #"{"userName":"u","emails":{"value":"a@b.c"}}"#,
        #"{"userName":"u","emails":"a@b.c"}"#, #"{"userName":"u","name":{"givenName":7}}"#,
        #"{"userName":"u","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":12345}}"#,
        #"{"userName":"u","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":12345}"#,
    ])
    func wrongType(_ text: String) {
        let error = #expect(throws: SCIMError.self) { try normalize(text) }
        #expect(error?.status == 400 && error?.scimType == .invalidValue, "\(text): \(String(describing: error))")
    }

    @Test("the leniencies real clients need stay: Entra's \"True\", unknown attributes, any letter case, null for no value")
    func leniencies() throws {
        let user = try normalize(#"{"USERNAME":"u","active":"True","unknownThing":1,"emails":null,"Name":{"GivenName":"Ann"}}"#)
        #expect(JSONValue.object(user).serialized() == #"{"userName":"u","name":{"givenName":"Ann"},"active":true}"#)
    }

    @Test("a PATCH body and a resource body must name their schema")
    func schemasRequired() {
        #expect(throws: SCIMError.self) { try PatchRequest.parse(try JSONParser.parse(#"{"Operations":[{"op":"add","path":"title","value":"x"}]}"#)) }
        let request = HTTPRequest(method: "POST", path: "/scim/v2/t/Users", body: Array(#"{"userName":"u"}"#.utf8))
        let error = #expect(throws: SCIMError.self) { try RequestBody.resource(request, schema: CoreSchemas.userURN) }
        #expect(error?.scimType == .invalidSyntax)
        let named = HTTPRequest(method: "POST", path: "/scim/v2/t/Users",
                                body: Array(#"{"schemas":["URN:IETF:PARAMS:SCIM:SCHEMAS:CORE:2.0:USER"],"userName":"u"}"#.utf8))
        #expect((try? RequestBody.resource(named, schema: CoreSchemas.userURN)) != nil, "URNs ignore case")
    }
}
