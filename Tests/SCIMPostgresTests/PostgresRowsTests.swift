import Testing
@testable import SCIMPostgres

@Suite("Reading PostgreSQL's text output")
struct PostgresRowsTests {
    @Test("array literals: plain, quoted with escapes, NULL elements, empty")
    func arrays() {
        #expect(PostgresRows.arrayElements("{scim,admin}") == ["scim", "admin"])
        #expect(PostgresRows.arrayElements(#"{"a,b","say \"hi\"","back\\slash",plain}"#) == ["a,b", #"say "hi""#, #"back\slash"#, "plain"])
        #expect(PostgresRows.arrayElements("{NULL,x}") == ["x"])
        #expect(PostgresRows.arrayElements(#"{"NULL"}"#) == ["NULL"], "a quoted NULL is the text, not a null")
        #expect(PostgresRows.arrayElements("{}") == [])
        #expect(PostgresRows.arrayElements("scim,admin") == nil)
    }

    @Test("booleans and integers by column name; NULL and missing columns are nil")
    func scalars() {
        let rows = PostgresRows(columns: ["on", "off", "n", "none"], rows: [["t", "f", "42", nil]], affected: 0)
        #expect(rows.bool(0, "on") == true)
        #expect(rows.bool(0, "off") == false)
        #expect(rows.bool(0, "none") == nil)
        #expect(rows.int(0, "n") == 42)
        #expect(rows.int(0, "missing") == nil)
        #expect(rows.int(1, "n") == nil, "past the last row")
    }
}
