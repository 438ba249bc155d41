import Testing
@testable import SCIMPostgres

/// A foreign key without an index on its referencing columns makes every delete of a referenced row
/// read all the referencing rows (deleting a tenant of 20,000 users scanned its users once for each
/// user, to clear the manager of their reports).
@Suite("Every foreign key has an index on its referencing columns", .enabled(if: TestDatabase.available))
struct ForeignKeyIndexTests {
    @Test("no foreign key of scim or app lacks an index that starts with its columns (beyond the tenant)")
    func everyForeignKeyIndexed() throws {
        let missing = try TestDatabase.connection().execute("""
            select string_agg(c.conrelid::regclass::text || ' ' || pg_get_constraintdef(c.oid), '; ') as keys
            from pg_constraint c
            where c.contype = 'f' and c.connamespace in ('scim'::regnamespace, 'app'::regnamespace)
              -- An index serves the key when its leading columns are the key's, or some of them
              -- beyond the tenant (ids are unique across tenants).
              and not exists (
                select 1 from pg_index i
                cross join generate_series(1, cardinality(c.conkey)) as lead(n)
                where i.indrelid = c.conrelid
                  and (i.indkey::int2[])[0:lead.n - 1] <@ c.conkey
                  and (cardinality(c.conkey) = 1
                       or (i.indkey::int2[])[0:lead.n - 1] <> array[(select attnum from pg_attribute
                                                                    where attrelid = c.conrelid and attname = 'tenant_id')]::int2[]))
            """)[0, "keys"]
        #expect(missing == nil, "foreign keys without an index: \(missing ?? "")")
    }
}
