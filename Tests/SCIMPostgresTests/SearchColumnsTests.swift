import Testing
@testable import SCIMCore
@testable import SCIMPostgres

/// The responder works out scim.users' search columns itself (SearchColumns); the database's
/// functions scim.search_text and scim.search_keys stay their definition, and fill them for any
/// other writer. Lines and keys are compared as sets: neither column's order means anything.
@Suite("Search columns: the responder's values are the database functions' values", .enabled(if: TestDatabase.available))
struct SearchColumnsTests {
    static let documents: [String] = [
        #"{"userName":"Ann@Example.com","active":true,"name":{"givenName":"Ann","familyName":"Quill"}}"#,
        #"{"emails":[{"value":"A@x.com","type":"work","primary":true},{"value":"a@X.com","type":"home"}],"phoneNumbers":[]}"#,
        #"{"a":{"b":{"c":{"d":{"e":{"f":"six deep"},"leaf":"five deep"}}}},"arr":[[["x"]],[1,2]],"nothing":null,"empty":{}}"#,
        #"{"n":[0,-0,-0.0,12,1.50,1e2,1.5E-3,1.50e1,-12.5e-1,123e-5,0.000,1E+2,98765432109876543210.0123456789]}"#,
        #"{"title":"Straße, \"quoted\" {braces} back\\slash","displayName":"JOSÉ Über ΣΟΦΟΣ","note":"two\nlines"}"#,
        #"{"long":"\#(String(repeating: "Ab", count: 150))","keys":{"\#(String(repeating: "K", count: 210))":"v"}}"#,
        #"{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"E-1","manager":{"value":"m-1"}}}"#,
        #"{}"#,
    ]

    @Test("every kind of document: lines, keys, numbers as jsonb prints them, cut at 200 characters, depth 5")
    func sameAsTheDatabaseFunctions() throws {
        let connection = try TestDatabase.connection()
        for document in Self.documents {
            guard case .object(let attributes)? = try? JSONParser.parse(document) else {
                Issue.record("not a JSON object: \(document)")
                continue
            }
            let search = SearchColumns(attributes)
            let rows = try connection.execute("""
                select (select coalesce(array_agg(l order by l), '{}') from unnest(string_to_array(lower(\(search.text)), chr(10))) l)
                       = (select coalesce(array_agg(l order by l), '{}') from unnest(string_to_array(scim.search_text(\(document)::jsonb), chr(10))) l)
                       as same_text,
                       lower(\(search.keysLiteral))::text[] @> scim.search_keys(\(document)::jsonb)
                       and lower(\(search.keysLiteral))::text[] <@ scim.search_keys(\(document)::jsonb) as same_keys,
                       lower(\(search.text)) as ours, scim.search_text(\(document)::jsonb) as theirs,
                       lower(\(search.keysLiteral))::text[]::text as our_keys, scim.search_keys(\(document)::jsonb)::text as their_keys
                """)
            #expect(rows[0, "same_text"] == "t", "\(document)\nours:   \(rows[0, "ours"] ?? "")\ntheirs: \(rows[0, "theirs"] ?? "")")
            #expect(rows[0, "same_keys"] == "t", "\(document)\nours:   \(rows[0, "our_keys"] ?? "")\ntheirs: \(rows[0, "their_keys"] ?? "")")
        }
    }

    @Test("numbers read as PostgreSQL's numeric output")
    func numbers() {
        for (literal, printed) in [("0", "0"), ("-0", "0"), ("-0.0", "0.0"), ("1.50", "1.50"), ("1e2", "100"), ("1.5E-3", "0.0015"),
                                   ("1.50e1", "15.0"), ("-12.5e-1", "-1.25"), ("123e-5", "0.00123"), ("1E+2", "100"), ("-7", "-7")] {
            #expect(SearchColumns.numericText(literal) == printed, "\(literal)")
        }
    }

    @Test("a user written through the store carries the functions' values; a write by SQL alone is filled by the trigger")
    func storedAndFilled() throws {
        let tenant = try TestDatabase.tenant()
        let store = PostgresStore(connection: try TestDatabase.connection(), logger: TestDatabase.logger)
        let created = try store.inTenant(tenant.id) { (t) throws(SCIMError) in
            try t.insertUser(try user(#"{"userName":"Search.Me@Example.com","displayName":"Séarch Me","emails":[{"value":"S@x.com"}]}"#))
        }
        let owner = try TestDatabase.connection()
        func matchesFunctions() throws -> Bool {
            try owner.execute("""
                select search_keys @> scim.search_keys(attributes) and search_keys <@ scim.search_keys(attributes)
                       and (select array_agg(l order by l) from unnest(string_to_array(search_text, chr(10))) l)
                           = (select array_agg(l order by l) from unnest(string_to_array(scim.search_text(attributes), chr(10))) l) as same
                from scim.users where tenant_id = \(tenant.id)::uuid and id = \(created.id)::uuid
                """)[0, "same"] == "t"
        }
        #expect(try matchesFunctions())
        #expect(try owner.execute("select search_text from scim.users where id = \(created.id)::uuid")[0, "search_text"]?
            .contains("username=search.me@example.com") == true)

        _ = try store.inTenant(tenant.id) { (t) throws(SCIMError) in
            try t.updateUser(id: created.id, try user(#"{"userName":"search.me@example.com","title":"Chief Searcher"}"#))
        }
        #expect(try matchesFunctions())
        #expect(try owner.execute("select search_text from scim.users where id = \(created.id)::uuid")[0, "search_text"]?
            .contains("title=chief searcher") == true)

        // A DBA's update of the document alone: the trigger computes both columns again.
        try owner.execute("update scim.users set attributes = attributes || '{\"nickName\":\"Finder\"}' where id = \(created.id)::uuid")
        #expect(try matchesFunctions())
        #expect(try owner.execute("select 'nickname=finder' = any(search_keys) as has from scim.users where id = \(created.id)::uuid")[0, "has"] == "t")

        // An insert that names neither column.
        let inserted = try owner.execute("""
            insert into scim.users (tenant_id, user_name, attributes) values (\(tenant.id)::uuid, 'by-sql', '{"userName":"By-SQL"}')
            returning search_text, 'username=by-sql' = any(search_keys) as has
            """)
        #expect(inserted[0, "search_text"] == "username=by-sql")
        #expect(inserted[0, "has"] == "t")
    }
}
