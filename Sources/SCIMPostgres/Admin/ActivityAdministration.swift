import SCIMCore

/// The provisioning log, the errors, the audit of changes, and the tenant's API keys.
extension DirectoryAdministration {
    /// Filters of the log and error listings, from query parameters.
    public struct ActivityFilter {
        public var since: String?
        public var until: String?
        /// An exact status ("409") or a class ("4xx", "5xx").
        public var status: String?
        public var resourceType: String?
        public var text: String?
        public var kind: String?
        public var resolved: Bool?
        public var startIndex = 1
        public var count = 50

        public init() {}

        public init(_ request: HTTPRequest) throws(SCIMError) {
            since = request.queryValue("since")
            until = request.queryValue("until")
            status = request.queryValue("status")
            resourceType = request.queryValue("resourceType")
            text = request.queryValue("text")
            kind = request.queryValue("kind")
            if let value = request.queryValue("resolved") {
                guard let flag = Bool(value) else { throw .badRequest(.invalidValue, "resolved must be true or false.") }
                resolved = flag
            }
            (startIndex, count) = try Self.paging(request)
            if let status, !(Int(status) != nil || ["1xx", "2xx", "3xx", "4xx", "5xx"].contains(status.lowercased())) {
                throw .badRequest(.invalidValue, "status must be a status code (409) or a class (4xx).")
            }
        }

        /// `startIndex` (1 or more, default 1) and `count` (0 to 500, default 50) of any admin listing.
        static func paging(_ request: HTTPRequest) throws(SCIMError) -> (startIndex: Int, count: Int) {
            var paging = (startIndex: 1, count: 50)
            if let value = request.queryValue("startIndex") {
                guard let index = Int(value), index >= 1 else { throw .badRequest(.invalidValue, "startIndex must be 1 or more.") }
                paging.startIndex = index
            }
            if let value = request.queryValue("count") {
                guard let count = Int(value), (0...500).contains(count) else { throw .badRequest(.invalidValue, "count must be 0 to 500.") }
                paging.count = count
            }
            return paging
        }

        var statusRange: (Int?, Int?) {
            guard let status else { return (nil, nil) }
            if let exact = Int(status) { return (exact, exact) }
            let hundred = (Int(String(status.prefix(1))) ?? 0) * 100
            return (hundred, hundred + 99)
        }

        var textPattern: String? { text.map { "%" + DirectoryAdministration.likeEscaped($0.lowercased()) + "%" } }
    }

    static func timestamp(_ text: String?) throws(SCIMError) -> String? {
        guard let text else { return nil }
        // Checked by PostgreSQL; only the shape is checked here, so the error names the parameter.
        guard text.count <= 40, text.first?.isNumber == true else {
            throw .badRequest(.invalidValue, "since/until must be timestamps such as 2026-11-29T10:00:00Z.")
        }
        return text
    }

    public func log(_ filter: ActivityFilter) throws(SCIMError) -> JSONObject {
        let (low, high) = filter.statusRange
        let condition: SQL = """
            l.tenant_id = \(tenant)
            and l.logged_at >= coalesce(\(try Self.timestamp(filter.since))::timestamptz, '-infinity')
            and l.logged_at < coalesce(\(try Self.timestamp(filter.until))::timestamptz, 'infinity')
            and l.status between coalesce(\(low.map(String.init))::int, 0) and coalesce(\(high.map(String.init))::int, 999)
            and (\(filter.resourceType)::text is null or l.resource_type = \(filter.resourceType))
            and (\(filter.textPattern)::text is null or lower(coalesce(l.subject, '')) like \(filter.textPattern)
                 or lower(l.path) like \(filter.textPattern) or lower(coalesce(l.detail, '')) like \(filter.textPattern))
            """
        let total = Int(try transaction.query("select count(*) as total from scim.provisioning_log l where \(condition)")[0, "total"] ?? "0") ?? 0
        let items = try json("""
            select coalesce(json_agg(json_build_object('time', l.logged_at, 'requestId', l.request_id,
                    'key', coalesce(l.key_name || ' (' || l.key_prefix || ')', l.key_prefix),
                    'method', l.method, 'path', l.path, 'resourceType', l.resource_type, 'resourceId', l.resource_id,
                    'subject', l.subject, 'status', l.status, 'scimType', l.scim_type, 'detail', l.detail,
                    'durationMs', l.duration_ms, 'requestBody', l.request_body) order by l.logged_at desc), '[]')::text
            from (select * from scim.provisioning_log l where \(condition)
                  order by l.logged_at desc limit \(filter.count) offset \(filter.startIndex - 1)) l
            """)
        return Self.page(items, total: total, startIndex: filter.startIndex)
    }

    public func errors(_ filter: ActivityFilter) throws(SCIMError) -> JSONObject {
        let condition: SQL = """
            e.tenant_id = \(tenant)
            and e.last_seen_at >= coalesce(\(try Self.timestamp(filter.since))::timestamptz, '-infinity')
            and e.last_seen_at < coalesce(\(try Self.timestamp(filter.until))::timestamptz, 'infinity')
            and (\(filter.kind)::text is null or e.kind = \(filter.kind))
            and (\(filter.resourceType)::text is null or e.resource_type = \(filter.resourceType))
            and (\(filter.resolved)::boolean is null or (e.resolved_at is not null) = \(filter.resolved)::boolean)
            and (\(filter.textPattern)::text is null or lower(coalesce(e.subject, '')) like \(filter.textPattern)
                 or lower(e.detail) like \(filter.textPattern) or lower(e.cause) like \(filter.textPattern))
            """
        let total = Int(try transaction.query("select count(*) as total from scim.provisioning_errors e where \(condition)")[0, "total"] ?? "0") ?? 0
        let items = try json("""
            select coalesce(json_agg(json_build_object('id', e.id, 'kind', e.kind, 'cause', e.cause, 'resourceType', e.resource_type,
                    'resourceId', e.resource_id, 'subject', e.subject, 'detail', e.detail, 'suggestion', e.suggestion,
                    'occurrences', e.occurrences, 'firstSeenAt', e.first_seen_at, 'lastSeenAt', e.last_seen_at,
                    'requestId', e.request_id, 'resolvedAt', e.resolved_at, 'resolvedBy', e.resolved_by)
                    order by e.last_seen_at desc), '[]')::text
            from (select * from scim.provisioning_errors e where \(condition)
                  order by e.last_seen_at desc limit \(filter.count) offset \(filter.startIndex - 1)) e
            """)
        return Self.page(items, total: total, startIndex: filter.startIndex)
    }

    /// Open errors grouped by kind and cause: how many resources each cause affects.
    public func errorSummary() throws(SCIMError) -> JSONObject {
        let items = try json("""
            select coalesce(json_agg(json_build_object('kind', kind, 'cause', cause, 'resources', resources, 'occurrences', occurrences,
                                                       'lastSeenAt', last_seen_at, 'suggestion', suggestion, 'examples', examples)
                                     order by resources desc, kind, cause), '[]')::text
            from (select kind, cause, count(*) as resources, sum(occurrences) as occurrences, max(last_seen_at) as last_seen_at,
                         min(suggestion) as suggestion, (array_agg(subject order by last_seen_at desc))[1:3] as examples
                  from scim.provisioning_errors where tenant_id = \(tenant) and resolved_at is null
                  group by kind, cause) g
            """)
        return Self.page(items, total: items.arrayValue?.count ?? 0, startIndex: 1)
    }

    public func resolveError(_ id: String) throws(SCIMError) -> JSONObject {
        guard let resolved = try object("""
            update scim.provisioning_errors set resolved_at = coalesce(resolved_at, now()), resolved_by = coalesce(resolved_by, \(actor))
            where tenant_id = \(tenant) and id = \(try Self.uuid(id))::uuid
            returning json_build_object('id', id, 'kind', kind, 'cause', cause, 'subject', subject,
                                        'resolvedAt', resolved_at, 'resolvedBy', resolved_by)::text
            """) else { throw .notFound("No error \(id.prefix(100)).") }
        return resolved
    }

    public func changes(startIndex: Int, count: Int) throws(SCIMError) -> JSONObject {
        let total = Int(try transaction.query("select count(*) as total from scim.mapping_changes where tenant_id = \(tenant)")[0, "total"] ?? "0") ?? 0
        let items = try json("""
            select coalesce(json_agg(json_build_object('id', id, 'changedAt', changed_at, 'changedBy', changed_by, 'kind', kind,
                                                       'action', action, 'old', old_value, 'new', new_value) order by id desc), '[]')::text
            from (select * from scim.mapping_changes where tenant_id = \(tenant)
                  order by id desc limit \(count) offset \(startIndex - 1)) c
            """)
        return Self.page(items, total: total, startIndex: startIndex)
    }

    // MARK: - API keys

    static let keyJSON = """
        json_build_object('id', id, 'name', name, 'prefix', prefix, 'scopes', scopes, 'createdAt', created_at,
                          'lastUsedAt', last_used_at, 'expiresAt', expires_at, 'revokedAt', revoked_at)
        """

    public func keys() throws(SCIMError) -> JSONObject {
        let items = try json("""
            select coalesce(json_agg(\(unsafeRaw: Self.keyJSON) order by created_at), '[]')::text from scim.api_keys where tenant_id = \(tenant)
            """)
        return Self.page(items, total: items.arrayValue?.count ?? 0, startIndex: 1)
    }

    /// `{"name": "...", "scopes": ["scim"], "expiresAt": "..."}`; the answer holds the token, once.
    public func createKey(_ body: JSONObject) throws(SCIMError) -> JSONObject {
        let name = try Self.requiredText(body, "name", "a key")
        let scopes = body["scopes"]?.arrayValue?.compactMap(\.stringValue) ?? ["scim"]
        guard !scopes.isEmpty, scopes.allSatisfy(APIKeyToken.scopes.contains) else {
            throw .badRequest(.invalidValue, "\"scopes\" is a list of \"scim\" (provisioning) and \"admin\" (this API).")
        }
        return try insertKey(name: name, scopes: scopes, expiresAt: try Self.timestamp(body["expiresAt"]?.stringValue))
    }

    func insertKey(name: String, scopes: [String], expiresAt: String?) throws(SCIMError) -> JSONObject {
        let token = APIKeyToken.generate()
        guard var key = try object(token.insertStatement(tenantId: tenantId, name: name, scopes: scopes, expiresAt: expiresAt,
                                                         returning: Self.keyJSON + "::text"))
        else { throw .internalError("The key was not created.") }
        try audit("api_key", "create", old: nil, new: .object(key))
        key["token"] = .string(token.token)
        return key
    }

    public func revokeKey(_ id: String) throws(SCIMError) -> JSONObject {
        guard let key = try object("""
            update scim.api_keys set revoked_at = coalesce(revoked_at, now())
            where tenant_id = \(tenant) and \(APIKeyToken.keyCondition(id))
            returning \(unsafeRaw: Self.keyJSON)::text
            """) else { throw .notFound("No API key \(id.prefix(100)).") }
        try audit("api_key", "delete", old: nil, new: .object(key))
        return key
    }

    /// A new key with the same name and scopes; the old one keeps working for `overlapHours`
    /// (so the identity provider can be switched over without a failed cycle), then expires.
    public func rotateKey(_ id: String, _ body: JSONObject) throws(SCIMError) -> JSONObject {
        let overlap = body["overlapHours"]?.intValue ?? 24
        guard (0...720).contains(overlap) else { throw .badRequest(.invalidValue, "\"overlapHours\" must be 0 to 720.") }
        guard let old = try object("""
            update scim.api_keys set expires_at = least(coalesce(expires_at, 'infinity'), now() + make_interval(hours => \(overlap)))
            where tenant_id = \(tenant) and revoked_at is null and \(APIKeyToken.keyCondition(id))
            returning \(unsafeRaw: Self.keyJSON)::text
            """) else { throw .notFound("No live API key \(id.prefix(100)).") }
        let scopes = old["scopes"]?.arrayValue?.compactMap(\.stringValue) ?? ["scim"]
        let new = try insertKey(name: old["name"]?.stringValue ?? "rotated", scopes: scopes, expiresAt: nil)
        try audit("api_key", "update", old: .object(old), new: .string("rotated to \(new["prefix"]?.stringValue ?? "")"))
        return JSONObject([("previous", .object(old)), ("key", .object(new))])
    }
}
