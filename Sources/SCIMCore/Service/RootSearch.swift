/// `POST /.search` (RFC 7644 §3.4.3): one query over every resource type. Results are Users, then
/// Groups, paged as one list; a filter that names attributes only one type has matches there alone.
struct RootSearch {
    let users: UserEndpoints
    let groups: GroupEndpoints

    func search(_ context: RequestContext) throws(SCIMError) -> HTTPResponse {
        let query = try EndpointSupport.searchQuery(context)
        guard query.cursor == nil else {
            throw .badRequest(.invalidValue, "Cursor paging is offered per resource type (/Users, /Groups), not across them.")
        }
        let transaction = context.transaction
        // A filter naming attributes only one type has is resolved for that type alone.
        let userFilter = try resolvedOrNil { () throws(SCIMError) in try self.users.support.resolved(query).filter }
        let groupFilter = try resolvedOrNil { () throws(SCIMError) in try self.groups.support.resolved(query).filter }
        let userTotal = try userFilter.map { (filter) throws(SCIMError) in
            try transaction.listUsers(filter: filter, window: .index(1, 0), sort: nil).totalResults
        }
        let groupTotal = try groupFilter.map { (filter) throws(SCIMError) in
            try transaction.listGroups(filter: filter, window: .index(1, 0), sort: nil, includeMembers: false).totalResults
        }
        if userTotal == nil && groupTotal == nil {
            throw .badRequest(.invalidFilter, "The filter fits neither Users nor Groups.")
        }
        var resources: [JSONValue] = []
        let offset = query.startIndex - 1
        let users = userTotal ?? 0
        if offset < users, query.count > 0 {
            let page = try transaction.listUsers(filter: userFilter ?? nil, window: .index(query.startIndex, query.count), sort: nil)
            resources += page.resources.map { .object(self.users.support.rendered($0, context, projection: query.projection)) }
        }
        let remaining = query.count - resources.count
        if remaining > 0, let groupTotal, groupTotal > 0 {
            let groupStart = max(1, offset - users + 1)
            let page = try transaction.listGroups(filter: groupFilter ?? nil, window: .index(groupStart, remaining), sort: nil,
                                                  includeMembers: !query.projection.excludes("members"))
            resources += page.resources.map { .object(self.groups.support.rendered($0, context, projection: query.projection)) }
        }
        let total = users + (groupTotal ?? 0)
        return .json(200, .object(ListResponse.body(total: total, startIndex: query.startIndex, resources: resources)))
    }

    /// The filter resolved for one resource type (itself nil when the query has none), or nil when
    /// it names attributes that type does not have.
    private func resolvedOrNil(_ resolve: () throws(SCIMError) -> ResolvedFilter?) throws(SCIMError) -> ResolvedFilter?? {
        do {
            return .some(try resolve())
        } catch where error.scimType == .invalidFilter {
            return nil
        }
    }
}
