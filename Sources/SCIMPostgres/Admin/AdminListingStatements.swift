import SCIMAdmin
import SCIMCore

/// The statements behind the busiest admin listings (the log, the SCIM page's status panel,
/// the user search), built in one place so that `ConsoleQueryPlanTests` explains exactly what
/// the responder runs. Each is index-backed on a tenant with a million log rows.
struct AdminListingStatements {
    let tenant: SQL

    /// Listings count at most this many rows: past it the total is given as a lower bound
    /// (`totalResultsIsLowerBound`), so a page never costs a scan of the whole log.
    static let countCap = 10_000

    /// The newest of the log's rows and of the counted reads (scim.read_counts), each newest first
    /// through its (tenant_id, time) index.
    var lastRequest: SQL {
        """
        select logged_at, key, status from (
            (select l.logged_at, coalesce(l.key_name || ' (' || l.key_prefix || ')', l.key_prefix) as key, l.status
             from scim.provisioning_log l where l.tenant_id = \(tenant) order by l.logged_at desc limit 1)
            union all
            (select c.last_at, coalesce(k.name || ' (' || c.key_prefix || ')', nullif(c.key_prefix, '')), 200
             from scim.read_counts c left join scim.api_keys k on k.prefix = c.key_prefix and k.tenant_id = c.tenant_id
             where c.tenant_id = \(tenant) order by c.minute desc, c.last_at desc limit 1)
        ) latest order by logged_at desc limit 1
        """
    }

    /// Through the partial index of writes (method <> 'GET'), newest first.
    var lastSuccessfulWrite: SQL {
        """
        select l.logged_at from scim.provisioning_log l
        where l.tenant_id = \(tenant) and l.method <> 'GET' and l.logged_at > now() - interval '90 days' and l.status < 300
        order by l.logged_at desc limit 1
        """
    }

    /// The current hour, as the database's clock has it: the last hour of the chart.
    static var currentHour: SQL { "select date_trunc('hour', now())::text as hour" }

    /// One range scan of the period's rows, then the empty hours filled in. The period's start is
    /// a value, not `now()` arithmetic, so the planner estimates the range from its statistics and
    /// reads it through the (tenant_id, logged_at) index.
    func hourly(hours: Int, endingAt currentHour: String) -> SQL {
        """
        with logged as (
            select date_trunc('hour', l.logged_at) as hour, count(*) as requests, count(*) filter (where l.status >= 400) as failures
            from scim.provisioning_log l
            where l.tenant_id = \(tenant) and l.logged_at >= \(currentHour)::timestamptz - make_interval(hours => \(hours - 1))
            group by 1
        ), read as (
            select date_trunc('hour', c.minute) as hour, sum(c.requests) as requests
            from scim.read_counts c
            where c.tenant_id = \(tenant) and c.minute >= \(currentHour)::timestamptz - make_interval(hours => \(hours - 1))
            group by 1
        ), counted as (
            select coalesce(l.hour, r.hour) as hour, coalesce(l.requests, 0) + coalesce(r.requests, 0) as requests,
                   coalesce(l.failures, 0) as failures
            from logged l full join read r on r.hour = l.hour
        )
        select to_char(h.hour at time zone 'UTC', 'YYYY-MM-DD"T"HH24:00"Z"') as hour,
               coalesce(c.requests, 0) as requests, coalesce(c.failures, 0) as failures
        from generate_series(\(currentHour)::timestamptz - make_interval(hours => \(hours - 1)), \(currentHour)::timestamptz,
                             interval '1 hour') as h(hour)
        left join counted c on c.hour = h.hour
        order by h.hour
        """
    }

    /// The rows of the log a filter selects. The time range and the order use (tenant_id,
    /// logged_at); failures the partial index of failed requests (the status range is rendered
    /// as constants, so the planner sees that it implies `status >= 400`); text is the beginning
    /// of the user or group name the request was about (the subject index, as a range, which a
    /// generic plan keeps too).
    func logCondition(_ filter: ActivityFilter) -> SQL {
        var condition: SQL = """
            l.tenant_id = \(tenant)
            and l.logged_at >= coalesce(\(filter.since)::timestamptz, '-infinity')
            and l.logged_at < coalesce(\(filter.until)::timestamptz, 'infinity')
            and (\(filter.resourceType)::text is null or l.resource_type = \(filter.resourceType))
            """
        let (low, high) = filter.statusRange
        if let low, let high {
            condition = condition + " and l.status between \(low)::integer and \(high)::integer"
        }
        if let text = filter.text?.lowercased(), !text.isEmpty {
            condition = condition + " and lower(l.subject) ~>=~ \(text) and lower(l.subject) ~<~ \(text + "\u{10FFFF}")"
        }
        return condition
    }

    func logCount(_ filter: ActivityFilter) -> SQL {
        "select count(*) as total from (select 1 from scim.provisioning_log l where \(logCondition(filter)) limit \(Self.countCap + 1)) c"
    }

    func logPage(_ filter: ActivityFilter) -> SQL {
        """
        select coalesce(json_agg(json_build_object('time', l.logged_at, 'requestId', l.request_id,
                'key', coalesce(l.key_name || ' (' || l.key_prefix || ')', l.key_prefix),
                'method', l.method, 'path', l.path, 'resourceType', l.resource_type, 'resourceId', l.resource_id,
                'subject', l.subject, 'status', l.status, 'scimType', l.scim_type, 'detail', l.detail,
                'durationMs', l.duration_ms, 'requestBody', l.request_body) order by l.logged_at desc), '[]')::text
        from (select * from scim.provisioning_log l where \(logCondition(filter))
              order by l.logged_at desc limit \(filter.count) offset \(filter.startIndex - 1)) l
        """
    }

    /// A text at least this many users match is listed by walking the user-name index and
    /// checking each user; a rarer one by sorting its matches (found through trigram indexes).
    static let broadMatch = 1_000

    /// Users matching `text`, counted up to the cap. Every provisioned SCIM user has its one
    /// application user, so matches are counted on the SCIM users (through the trigram index of
    /// `search_text`, which holds every user's name and display name, or a scan that stops at the
    /// cap), plus the application users no longer linked.
    func userCount(text: String?) -> SQL {
        guard let pattern = Self.containsPattern(text) else {
            return "select count(*) as total from (select 1 from app.users u where u.tenant_id = \(tenant) limit \(Self.countCap + 1)) c"
        }
        return """
            select (select count(*) from (select 1 from scim.users s where s.tenant_id = \(tenant)
                      and s.search_text like \(pattern) and (lower(s.user_name) like \(pattern) or lower(s.display_name) like \(pattern))
                      limit \(Self.countCap + 1)) a)
                 + (select count(*) from (select 1 from app.users u where u.tenant_id = \(tenant) and u.scim_user_id is null
                      and (lower(u.username) like \(pattern) or lower(coalesce(u.display_name, '')) like \(pattern)
                           or lower(coalesce(u.email, '')) like \(pattern)) limit \(Self.countCap + 1)) b) as total
            """
    }

    /// One page of matching application users, in user-name order.
    func userPage(text: String?, broad: Bool, startIndex: Int, count: Int) -> SQL {
        let window: SQL = "order by lower(u.username) limit \(count) offset \(startIndex - 1)"
        guard let pattern = Self.containsPattern(text) else {
            return "select u.* from app.users u where u.tenant_id = \(tenant) \(window)"
        }
        if broad {
            return """
                select u.* from app.users u left join scim.users s on s.tenant_id = u.tenant_id and s.id = u.scim_user_id
                where u.tenant_id = \(tenant)
                  and case when s.id is not null then lower(s.user_name) like \(pattern) or lower(s.display_name) like \(pattern)
                           else lower(u.username) like \(pattern) or lower(coalesce(u.display_name, '')) like \(pattern)
                                or lower(coalesce(u.email, '')) like \(pattern) end
                \(window)
                """
        }
        // Each matching SCIM user's application user through its index (the lateral subquery is
        // kept apart by `offset 0`): trigram estimates run high, and a hash join would read
        // every application user of the tenant for a handful of matches.
        return """
            select u.* from (
                select u.* from scim.users s
                cross join lateral (select * from app.users u where u.tenant_id = s.tenant_id and u.scim_user_id = s.id offset 0) u
                 where s.tenant_id = \(tenant) and s.search_text like \(pattern)
                   and (lower(s.user_name) like \(pattern) or lower(s.display_name) like \(pattern))
                union all
                select u.* from app.users u
                 where u.tenant_id = \(tenant) and u.scim_user_id is null
                   and (lower(u.username) like \(pattern) or lower(coalesce(u.display_name, '')) like \(pattern)
                        or lower(coalesce(u.email, '')) like \(pattern))) u
            \(window)
            """
    }

    static func containsPattern(_ text: String?) -> String? {
        guard let text, !text.isEmpty else { return nil }
        return text.likeContainingPattern
    }
}
