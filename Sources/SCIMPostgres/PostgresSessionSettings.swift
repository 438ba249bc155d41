/// What every session (or, behind a transaction pooler, every transaction) of the responder runs with.
extension PostgresConnection {
    /// How the planner should price a page read for the responder's statements. PostgreSQL's
    /// default (4, a disk seek) makes a sequential scan of a small table look cheaper than one
    /// probe of its index, so the role refresh walked every group and every mapping of the tenant
    /// for each group a membership change touched (lower() of each name), 0.3 ms a group, and a
    /// group read by id went through any index that starts with tenant_id. Every statement here
    /// reads rows by key from tables the server keeps in memory, where an index probe costs about
    /// what a sequential page costs: 1.1, as PostgreSQL's documentation suggests for data that
    /// fits in RAM or sits on solid-state storage. Overlapping 20-member PATCHes in a tenant of
    /// 20,000 users, three alternating rounds: 490 -> 735 a second.
    static let randomPageCost = "1.1"

    /// The settings each session (or, behind a transaction pooler, each transaction) runs with.
    /// Generic plans only (`plan_cache_mode`): a plan for the values at hand estimates a tenant
    /// from the statistics' most common values, which know nothing of a tenant that arrived since
    /// the last ANALYZE, so every statement of a new tenant's initial sync was planned for an
    /// empty tenant (a membership removal walked all the tenant's memberships through an index
    /// that starts with tenant_id), and PostgreSQL, finding those plans cheap, kept planning that
    /// way. A generic plan takes a tenant as 1/n of the table (migration 20261130001400) and uses
    /// the keys: overlapping 20-member PATCHes right after an Entra-shaped cycle, 179-892 -> 923-989
    /// a second in four alternating runs.
    var sessionSettings: [(name: String, value: String)] {
        [("random_page_cost", Self.randomPageCost), ("plan_cache_mode", "force_generic_plan")]
            + (statementTimeoutMilliseconds.map { [("statement_timeout", "\($0)")] } ?? [])
    }

    /// What opens a transaction: with a transaction pooler, the session's settings ride in it.
    public var beginStatements: [String] {
        guard pooling == .transaction else { return ["begin"] }
        return ["begin", "select " + sessionSettings.map { "set_config('\($0.name)', '\($0.value)', true)" }.joined(separator: ", ")]
    }

    /// The statement timeout for the rest of the transaction. `set_config` rather than `SET LOCAL`,
    /// which warns in a read's round trip (a transaction PostgreSQL opened by itself, not a block).
    static func localStatementTimeout(_ milliseconds: Int) -> String {
        "select set_config('statement_timeout', '\(milliseconds)', true)"
    }
}
