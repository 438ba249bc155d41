import SCIMAdmin
import SCIMCore

/// The provisioning log, the errors, the audit of changes, and the tenant's API keys.
extension DirectoryAdministration {
    /// The SCIM page's status panel.
    public func activitySummary(hours: Int) throws(SCIMError) -> ActivitySummary {
        let statements = AdminListingStatements(tenant: tenant)
        let last = try transaction.query(statements.lastRequest)
        let lastWrite = try transaction.query(statements.lastSuccessfulWrite)
        let currentHour = try transaction.query(AdminListingStatements.currentHour)[0, "hour"] ?? ""
        let hourly = try transaction.query(statements.hourly(hours: hours, endingAt: currentHour))
        let open = try transaction.query("""
            select count(*) as open from scim.provisioning_errors where tenant_id = \(tenant) and resolved_at is null
            """)
        return ActivitySummary(
            lastRequest: last[0, "logged_at"].map { ActivitySummary.LastRequest(at: $0, key: last[0, "key"], status: Int(last[0, "status"] ?? "") ?? 0) },
            lastSuccessfulWriteAt: lastWrite[0, "logged_at"],
            hours: (0..<hourly.rows.count).map { i in
                ActivitySummary.Hour(start: hourly[i, "hour"] ?? "", requests: Int(hourly[i, "requests"] ?? "") ?? 0,
                                     failures: Int(hourly[i, "failures"] ?? "") ?? 0)
            },
            openErrors: Int(open[0, "open"] ?? "") ?? 0)
    }

    static func textPattern(_ filter: ActivityFilter) -> String? {
        filter.text.map(\.likeContainingPattern)
    }

    static let countCap = AdminListingStatements.countCap

    public func log(_ filter: ActivityFilter) throws(SCIMError) -> JSONObject {
        let statements = AdminListingStatements(tenant: tenant)
        let total = try transaction.query(statements.logCount(filter)).int(0, "total") ?? 0
        let items = try json(statements.logPage(filter))
        var page = Self.page(items, total: min(total, Self.countCap), startIndex: filter.startIndex)
        page["totalResultsIsLowerBound"] = .bool(total > Self.countCap)
        return page
    }

    public func errors(_ filter: ActivityFilter) throws(SCIMError) -> JSONObject {
        let condition: SQL = """
            e.tenant_id = \(tenant)
            and e.last_seen_at >= coalesce(\(filter.since)::timestamptz, '-infinity')
            and e.last_seen_at < coalesce(\(filter.until)::timestamptz, 'infinity')
            and (\(filter.kind)::text is null or e.kind = \(filter.kind))
            and (\(filter.resourceType)::text is null or e.resource_type = \(filter.resourceType))
            and (\(filter.resolved)::boolean is null or (e.resolved_at is not null) = \(filter.resolved)::boolean)
            and (\(Self.textPattern(filter))::text is null or lower(coalesce(e.subject, '')) like \(Self.textPattern(filter))
                 or lower(e.detail) like \(Self.textPattern(filter)) or lower(e.cause) like \(Self.textPattern(filter)))
            """
        let total = try transaction.query("select count(*) as total from scim.provisioning_errors e where \(condition)").int(0, "total") ?? 0
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
        let total = try transaction.query("select count(*) as total from scim.mapping_changes where tenant_id = \(tenant)").int(0, "total") ?? 0
        let items = try json("""
            select coalesce(json_agg(json_build_object('id', id, 'changedAt', changed_at, 'changedBy', changed_by, 'kind', kind,
                                                       'action', action, 'old', old_value, 'new', new_value)
                                    order by changed_at desc, id desc), '[]')::text
            from (select * from scim.mapping_changes where tenant_id = \(tenant)
                  order by changed_at desc, id desc limit \(count) offset \(startIndex - 1)) c
            """)
        return Self.page(items, total: total, startIndex: startIndex)
    }

    // MARK: - API keys

    static let keyJSON: SQL = """
        json_build_object('id', id, 'name', name, 'prefix', prefix, 'scopes', scopes, 'createdAt', created_at,
                          'lastUsedAt', last_used_at, 'expiresAt', expires_at, 'revokedAt', revoked_at)
        """

    public func keys() throws(SCIMError) -> JSONObject {
        let items = try json("""
            select coalesce(json_agg(\(Self.keyJSON) order by created_at), '[]')::text from scim.api_keys where tenant_id = \(tenant)
            """)
        return Self.page(items, total: items.arrayValue?.count ?? 0, startIndex: 1)
    }

    /// The answer holds the token, once.
    public func createKey(_ key: NewAPIKey) throws(SCIMError) -> JSONObject {
        try insertKey(name: key.name, scopes: key.scopes.map(\.rawValue), expiresAt: key.expiresAt)
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
            returning \(Self.keyJSON)::text
            """) else { throw .notFound("No API key \(id.prefix(100)).") }
        try audit("api_key", "delete", old: nil, new: .object(key))
        return key
    }

    /// A new key with the same name and scopes; the old one keeps working for `overlapHours`
    /// (so the identity provider can be switched over without a failed cycle), then expires.
    public func rotateKey(_ id: String, overlapHours overlap: Int) throws(SCIMError) -> JSONObject {
        guard let old = try object("""
            update scim.api_keys set expires_at = least(coalesce(expires_at, 'infinity'), now() + make_interval(hours => \(overlap)))
            where tenant_id = \(tenant) and revoked_at is null and \(APIKeyToken.keyCondition(id))
            returning \(Self.keyJSON)::text
            """) else { throw .notFound("No live API key \(id.prefix(100)).") }
        let scopes = old["scopes"]?.arrayValue?.compactMap(\.stringValue) ?? ["scim"]
        let new = try insertKey(name: old["name"]?.stringValue ?? "rotated", scopes: scopes, expiresAt: nil)
        try audit("api_key", "update", old: .object(old), new: .string("rotated to \(new["prefix"]?.stringValue ?? "")"))
        return JSONObject([("previous", .object(old)), ("key", .object(new))])
    }
}
