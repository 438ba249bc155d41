import SCIMCore

/// Pages of users or groups: one statement for the page and its total. A filtered list counts with
/// a window; a whole tenant reads its total from `scim.resource_counts` and starts a page after the
/// id the previous page ended with (`scim.page_marks`) instead of walking every earlier row.
extension PostgresTransaction {
    /// One page and the total. The total rides along (a window count, or the tenant's count for a
    /// whole tenant); a page past the end (no rows to carry it) asks for the count alone.
    func list(table: SQL, columns: SQL, renderer: FilterRenderer, kind: ResourceKind, filter: ResolvedFilter?,
              window: ListWindow, sort: ResolvedSort?) throws(SCIMError) -> ListPage {
        let statement = Self.listStatement(table: table, columns: columns, renderer: renderer, kind: kind, filter: filter, window: window,
                                           sort: sort, tenant: tenant)
        if window.count == 0 { return ListPage(totalResults: try total(statement.count), resources: []) }
        let rows = try query(statement.page)
        var resources: [StoredResource] = []
        for row in 0..<min(rows.rows.count, window.count) { resources.append(try resource(rows, row, kind)) }
        if window.cursor != nil {
            // One row more than asked tells whether another page follows; the total is counted apart,
            // since the page query sees only what lies after the cursor.
            return ListPage(totalResults: try total(statement.count), resources: resources,
                            hasMore: rows.rows.count > window.count)
        }
        let totalResults = !statement.pageCarriesTotal || (rows.rows.isEmpty && window.startIndex > 1)
            ? try total(statement.count)
            : rows.int(0, "total") ?? 0
        if statement.marksPages, rows.rows.count == window.count, let lastId = rows[window.count - 1, "id"],
           let changes = rows.int(window.count - 1, "changes") {
            // The next page of the walk starts after this id, unless a resource comes or goes meanwhile.
            sendWithCommit("""
                select scim.mark_page(\(tenant), \(kind.typeName), \(window.startIndex + window.count), \(lastId)::uuid,
                                      \(changes), \(window.startIndex == 1))
                """)
        }
        return ListPage(totalResults: totalResults, resources: resources)
    }

    func total(_ statement: SQL, prepared: Bool = true) throws(SCIMError) -> Int {
        try query(statement, prepared: prepared).int(0, "total") ?? 0
    }

    /// The statements of a list request: the page (with the total as a window count in index
    /// paging of a filtered list, from the tenant's counts for a whole tenant), and the count alone
    /// for a page past the end, `count=0` and cursor paging. `marksPages`: the page's rows carry
    /// the tenant's `changes`, and a full page is marked for the next one.
    static func listStatement(table: SQL, columns: SQL, renderer: FilterRenderer, kind: ResourceKind, filter: ResolvedFilter?,
                              window: ListWindow, sort: ResolvedSort?, tenant: SQL)
        -> (page: SQL, count: SQL, pageCarriesTotal: Bool, marksPages: Bool) {
        let condition = filter.map(renderer.condition) ?? "true"
        let total: SQL = "select count(*) as total from \(table) r where r.tenant_id = \(tenant) and (\(condition))"
        let counted: SQL = """
            select coalesce(sum(c.resources), 0) as total, coalesce(sum(c.changes), 0) as changes
            from scim.resource_counts c where c.tenant_id = \(tenant) and c.resource_type = \(kind.typeName)
            """
        let page: SQL
        switch window.cursor {
        case nil where window.startIndex == 1 && sort == nil && filter.map(renderer.matchesAtMostOne) == true:
            // One row at most: the unique index finds it; sorting and counting a window would only
            // give the planner a reason to walk another index (and a generic plan sometimes does).
            page = """
                select \(columns), 1 as total from \(table) r
                where r.tenant_id = \(tenant) and (\(condition))
                limit \(window.count)
                """
        case nil where filter == nil && sort == nil:
            // A whole tenant, page after page (Okta's import): the total is the tenant's count, and
            // the page's ids come from the primary key alone, after the id the previous page ended
            // with when nothing came or went since (else after walking startIndex-1 of them). The
            // bound is a subquery's value: under row-level security only a comparison of the column
            // with a plain value (not a COALESCE) is used as the index's condition.
            page = """
                with counted as (\(counted)),
                mark as (
                    select m.after_id from scim.page_marks m, counted
                    where m.tenant_id = \(tenant) and m.resource_type = \(kind.typeName) and m.start_index = \(window.startIndex)
                      and m.changes = counted.changes)
                select \(columns), counted.total, counted.changes from \(table) r, counted
                where r.tenant_id = \(tenant) and r.id in (
                    select p.id from \(table) p
                    where p.tenant_id = \(tenant)
                      and p.id > (select coalesce((select after_id from mark), '00000000-0000-0000-0000-000000000000'::uuid))
                    order by p.id limit \(window.count)
                    offset (case when exists (select 1 from mark) then 0 else \(window.startIndex - 1) end))
                order by r.id
                """
            return (page, "select total from (\(counted)) c", true, true)
        case nil:
            page = """
                select \(columns), count(*) over () as total from \(table) r
                where r.tenant_id = \(tenant) and (\(condition))
                order by \(renderer.orderBy(sort)) limit \(window.count) offset \(window.startIndex - 1)
                """
        case .first:
            page = """
                select \(columns) from \(table) r where r.tenant_id = \(tenant) and (\(condition))
                order by r.id limit \(window.count + 1)
                """
        case .after(let id):
            page = """
                select \(columns) from \(table) r
                where r.tenant_id = \(tenant) and r.id > \(id)::uuid and (\(condition))
                order by r.id limit \(window.count + 1)
                """
        }
        return (page, total, window.cursor == nil, false)
    }
}
