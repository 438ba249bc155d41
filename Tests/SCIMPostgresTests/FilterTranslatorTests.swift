import Testing
@testable import SCIMCore
@testable import SCIMPostgres

/// Every filter shape runs against real rows; the expected users are named, so a wrong translation
/// (too many, too few) fails.
@Suite("Filters translated to SQL, run in PostgreSQL", .enabled(if: TestDatabase.available))
struct FilterTranslatorTests {
    static let users = [
        #"{"userName":"alice@contoso.com","externalId":"ext-A","displayName":"Alice Smith","title":"Engineer","active":true,"name":{"givenName":"Alice","familyName":"Smith"},"emails":[{"value":"alice@contoso.com","type":"work","primary":true},{"value":"alice@home.org","type":"home"}],"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Sales","manager":{"value":"m-1"}}}"#,
        #"{"userName":"bob@contoso.com","externalId":"ext-B","displayName":"Bob Jones","active":false,"name":{"givenName":"Bob","familyName":"Jones"},"emails":[{"value":"bob@fabrikam.com","type":"work"}],"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Retail"}}"#,
        #"{"userName":"carol_100%@contoso.com","displayName":"Carol","title":"Manager","active":true,"roles":[{"value":"admin","primary":true}]}"#,
    ]

    func matches(_ filter: String) throws -> [String] {
        let (tenantId, store) = try Self.fixture()
        let expression = try FilterResolver(TenantSchemas.standard.user).resolve(try FilterParser.parse(filter))
        let page = try store.inTenant(tenantId) { (t) throws(SCIMError) in try t.listUsers(filter: expression, window: .index(1, 100), sort: nil) }
        return page.resources.compactMap { $0.attributes["userName"]?.stringValue?.split(separator: "@").first.map(String.init) }.sorted()
    }

    nonisolated(unsafe) static var cached: (String, PostgresStore)?

    static func fixture() throws -> (String, PostgresStore) {
        if let cached { return cached }
        let tenant = try TestDatabase.tenant()
        let store = PostgresStore(connection: try TestDatabase.connection(), logger: TestDatabase.logger)
        for json in users {
            _ = try store.inTenant(tenant.id) { (t) throws(SCIMError) in try t.insertUser(try user(json)) }
        }
        cached = (tenant.id, store)
        return cached!
    }

    @Test("filter", arguments: [
        (#"userName eq "ALICE@contoso.com""#, ["alice"]),
        (#"userName ne "alice@contoso.com""#, ["bob", "carol_100%"]),
        (#"userName sw "b""#, ["bob"]),
        (#"userName co "100%""#, ["carol_100%"]),
        (#"userName co "_""#, ["carol_100%"]),
        (#"userName ew "CONTOSO.COM""#, ["alice", "bob", "carol_100%"]),
        (#"externalId eq "ext-A""#, ["alice"]),
        (#"externalId eq "EXT-A""#, []),
        (#"externalId pr"#, ["alice", "bob"]),
        (#"active eq false"#, ["bob"]),
        (#"active eq "True""#, ["alice", "carol_100%"]),
        (#"displayName co "smith" and active eq true"#, ["alice"]),
        (#"title eq "engineer" or title eq "Manager""#, ["alice", "carol_100%"]),
        (#"not (title pr)"#, ["bob"]),
        (#"name.familyName eq "jones""#, ["bob"]),
        (#"emails.value co "fabrikam""#, ["bob"]),
        (#"emails co "home.org""#, ["alice"]),
        (#"emails[type eq "work" and value ew "@contoso.com"]"#, ["alice"]),
        (#"emails[type eq "work"].value eq "bob@fabrikam.com""#, ["bob"]),
        (#"emails[type eq "home"]"#, ["alice"]),
        (#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "retail""#, ["bob"]),
        (#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m-1""#, ["alice"]),
        (#"manager eq "m-1""#, ["alice"]),
        (#"roles[primary eq "True"].value eq "admin""#, ["carol_100%"]),
        (#"meta.created gt "2000-01-01T00:00:00Z""#, ["alice", "bob", "carol_100%"]),
        (#"meta.lastModified lt "2000-01-01T00:00:00Z""#, []),
        (#"id eq "00000000-0000-0000-0000-000000000000""#, []),
        (#"id eq "garbage""#, []),
    ])
    func filter(_ filter: String, _ expected: [String]) throws {
        #expect(try matches(filter) == expected, "\(filter)")
    }

    @Test("filters that cannot be served are invalidFilter", arguments: [
        #"nosuch eq "x""#, #"urn:example:unknown:attr eq "x""#, #"active gt true"#, #"meta.created co "2020""#,
        #"id gt "x""#, #"name[givenName eq "x"]"#,
    ])
    func unsupported(_ filter: String) throws {
        let error = #expect(throws: SCIMError.self) { _ = try matches(filter) }
        #expect(error?.scimType == .invalidFilter)
    }
}
