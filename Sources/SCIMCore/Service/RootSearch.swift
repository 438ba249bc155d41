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
        let userTotal = try countOrZero { () throws(SCIMError) in
            try transaction.listUsers(filter: query.filter, window: .index(1, 0), sort: nil).totalResults
        }
        let groupTotal = try countOrZero { () throws(SCIMError) in
            try transaction.listGroups(filter: query.filter, window: .index(1, 0), sort: nil, includeMembers: false).totalResults
        }
        if userTotal == nil && groupTotal == nil {
            throw .badRequest(.invalidFilter, "The filter fits neither Users nor Groups.")
        }
        var resources: [JSONValue] = []
        let offset = query.startIndex - 1
        let users = userTotal ?? 0
        if offset < users, query.count > 0 {
            let page = try transaction.listUsers(filter: query.filter, window: .index(query.startIndex, query.count), sort: nil)
            resources += page.resources.map { .object(self.users.support.rendered($0, context, projection: query.projection)) }
        }
        let remaining = query.count - resources.count
        if remaining > 0, let groupTotal, groupTotal > 0 {
            let groupStart = max(1, offset - users + 1)
            let page = try transaction.listGroups(filter: query.filter, window: .index(groupStart, remaining), sort: nil,
                                                  includeMembers: !query.projection.excludes("members"))
            resources += page.resources.map { .object(self.groups.support.rendered($0, context, projection: query.projection)) }
        }
        let total = users + (groupTotal ?? 0)
        return .json(200, .object(ListResponse.body(total: total, startIndex: query.startIndex, resources: resources)))
    }

    /// The count, or nil when the filter names attributes this resource type does not have.
    private func countOrZero(_ count: () throws(SCIMError) -> Int) throws(SCIMError) -> Int? {
        do {
            return try count()
        } catch where error.scimType == .invalidFilter {
            return nil
        }
    }
}
