import Foundation
import Testing
@testable import SCIMPostgres

/// What keeps the responder's plans fit for tables that grow after they were planned, and priced
/// for data the server holds in memory (see PostgresConnection.planLifetimeNanoseconds and
/// randomPageCost).
@Suite("The responder's plans: priced for data in memory, made again as tables grow", .enabled(if: TestDatabase.available), .serialized)
struct PlanFreshnessTests {
    static func setting(_ connection: PostgresConnection, _ name: String) throws -> String? {
        try connection.execute(SQL(unsafeRaw: "select current_setting('\(name)') as value"))[0, "value"]
    }

    @Test("a session prices a page read at 1.1 and plans generically, and so does each transaction behind a transaction pooler (with its statement timeout)")
    func pageCostInEverySession() throws {
        let session = try TestDatabase.responderConnection()
        #expect(try Self.setting(session, "random_page_cost") == "1.1")
        #expect(try Self.setting(session, "plan_cache_mode") == "force_generic_plan")

        let url = try #require(TestDatabase.url)
        let pooled = PostgresConnection(conninfo: url, pooling: .transaction, usePreparedStatements: false, statementTimeoutMilliseconds: 4_321)
        try pooled.connect()
        let serverDefault = try Self.setting(pooled, "random_page_cost")
        #expect(serverDefault != "1.1", "nothing rides in the session itself")
        for statement in pooled.beginStatements { try pooled.executeScript(statement) }
        #expect(try Self.setting(pooled, "random_page_cost") == "1.1")
        #expect(try Self.setting(pooled, "plan_cache_mode") == "force_generic_plan")
        #expect(try Self.setting(pooled, "statement_timeout") == "4321ms")
        try pooled.executeScript("rollback")
        #expect(try Self.setting(pooled, "random_page_cost") == serverDefault, "the transaction's settings end with it")
    }

    @Test("a database URL's own options and application name are kept beside the session settings, and win where they clash")
    func urlOptionsAreKept() throws {
        let url = try #require(TestDatabase.url)
        func connection(options: String) throws -> PostgresConnection {
            let encoded = try #require(options.addingPercentEncoding(withAllowedCharacters: .alphanumerics))
            let separator = url.contains("?") ? "&" : "?"
            let withOptions = url.hasPrefix("postgres")
                ? url + separator + "options=" + encoded + "&application_name=dba-chosen"
                : url + " options='\(options)' application_name=dba-chosen"
            let connection = PostgresConnection(conninfo: withOptions, statementTimeoutMilliseconds: 4_321)
            try connection.connect()
            return connection
        }
        let beside = try connection(options: "-c work_mem=7MB")
        #expect(try Self.setting(beside, "work_mem") == "7MB")
        #expect(try Self.setting(beside, "random_page_cost") == "1.1")
        #expect(try Self.setting(beside, "plan_cache_mode") == "force_generic_plan")
        #expect(try Self.setting(beside, "statement_timeout") == "4321ms", "a URL with options keeps the statement timeout")
        #expect(try Self.setting(beside, "application_name") == "dba-chosen")
        let overriding = try connection(options: "-c random_page_cost=2")
        #expect(try Self.setting(overriding, "random_page_cost") == "2", "the DBA's value wins")
        #expect(PostgresConnection.options(in: "host=/tmp dbname=x") == nil)
    }

    /// The plan the connection's prepared statement `text` runs on now.
    static func plan(_ connection: PostgresConnection, _ text: String) throws -> String {
        let name = try #require(connection.execute(SQL(unsafeRaw: "select name from pg_prepared_statements where statement = '\(text)'"))[0, "name"])
        return try connection.execute(SQL(unsafeRaw: "explain (costs off) execute \(name)(1)")).rows.compactMap { $0.first ?? nil }.joined(separator: "\n")
    }

    @Test("a plan made while a table was empty is made again once older than the plan lifetime, from the table's size of the moment")
    func plansAreMadeAgain() throws {
        let connection = try TestDatabase.responderConnection()
        // Temporary: autovacuum never analyzes it, so only a new plan can notice it grew.
        try connection.executeScript("create temporary table plan_growth (id integer primary key, value text); analyze plan_growth")
        let text = "select value from plan_growth where id = $1"
        let statement = PostgresConnection.PipelineStatement.bound("select value from plan_growth where id = \(1)", prepared: true)
        // Planned generically while the table is empty.
        for _ in 0..<8 { _ = try connection.runPipeline([statement]) }
        #expect(try Self.plan(connection, text).contains("Seq Scan"), "an empty table is read whole")

        try connection.executeScript("insert into plan_growth select i, 'value' from generate_series(1, 20000) i")
        _ = try connection.runPipeline([statement])
        #expect(try Self.plan(connection, text).contains("Seq Scan"), "a young plan is kept however the table grew")

        connection.plansMadeSince -= PostgresConnection.planLifetimeNanoseconds + 1
        _ = try connection.runPipeline([statement])
        let remade = try Self.plan(connection, text)
        #expect(remade.contains("Index Scan") && !remade.contains("Seq Scan"), "\(remade)")
    }
}
