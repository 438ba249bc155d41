import SCIMCore

/// Pages of users or groups: one statement for the page and its total where a window count is
/// cheap, a count of its own where it is not (a whole tenant) or no row carries it.
extension PostgresTransaction {
    /// One page and the total. The total rides along as a window count; a page past the end (no
    /// rows to carry it) asks for the count alone.
    func list(table: SQL, columns: SQL, renderer: FilterRenderer, kind: ResourceKind, filter: ResolvedFilter?,
              window: ListWindow, sort: ResolvedSort?) throws(SCIMError) -> ListPage {
        let statement = Self.listStatement(table: table, columns: columns, renderer: renderer, filter: filter, window: window, sort: sort,
                                           tenant: tenant)
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
        return ListPage(totalResults: totalResults, resources: resources)
    }

    func total(_ statement: SQL, prepared: Bool = true) throws(SCIMError) -> Int {
        try query(statement, prepared: prepared).int(0, "total") ?? 0
    }

    /// The statements of a list request: the page (with the total as a window count in index
    /// paging of a filtered list), and the count alone for a page past the end, `count=0`, cursor
    /// paging and a whole tenant.
    static func listStatement(table: SQL, columns: SQL, renderer: FilterRenderer, filter: ResolvedFilter?,
                              window: ListWindow, sort: ResolvedSort?, tenant: SQL) -> (page: SQL, count: SQL, pageCarriesTotal: Bool) {
        let condition = filter.map(renderer.condition) ?? "true"
        let total: SQL = "select count(*) as total from \(table) r where r.tenant_id = \(tenant) and (\(condition))"
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
            // A whole tenant, page after page (Okta's import): the ids of the page are found by
            // walking the primary key alone, and the total is counted apart on it, instead of a
            // window count that reads every user's document on every page.
            page = """
                select \(columns) from \(table) r
                where r.tenant_id = \(tenant) and r.id in (
                    select p.id from \(table) p where p.tenant_id = \(tenant)
                    order by p.id limit \(window.count) offset \(window.startIndex - 1))
                order by r.id
                """
            return (page, total, false)
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
        return (page, total, window.cursor == nil)
    }
}
