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

@Suite("Database errors in words a client can act on")
struct DatabaseErrorMappingTests {
    @Test("a clash names the attribute by its constraint, with the value when PostgreSQL shows it (never under row-level security)")
    func uniqueClash() {
        var error = PostgresError(kind: .server, message: "duplicate key value violates unique constraint \"users_tenant_user_name_key\"",
                                  sqlState: .uniqueViolation, constraint: "users_tenant_user_name_key",
                                  detail: "Key (tenant_id, lower(user_name))=(0b0e9a5e-6c1f-4c55-9a52-1c9d1f1d3a10, ann, jr@example.com) already exists.")
        let shown = DatabaseErrorMapping.scimError(error, committing: false)
        #expect(shown.status == 409 && shown.scimType == .uniqueness)
        #expect(shown.detail == #"A user with userName "ann, jr@example.com" already exists (userName is unique, ignoring case)."#)
        error.detail = nil
        #expect(DatabaseErrorMapping.scimError(error, committing: false).detail
                == "A user with this userName already exists (userName is unique, ignoring case).")
        error.constraint = "something_else_key"
        #expect(DatabaseErrorMapping.scimError(error, committing: false).detail == "A value that must be unique is already in use.")
        #expect(!DatabaseErrorMapping.scimError(error, committing: false).detail.contains("something_else"), "no constraint name reaches a client")
    }
}
