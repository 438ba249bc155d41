extension PostgresConnection {
    /// One statement of a pipeline: a single statement without binds (`begin`, `commit`), or a
    /// statement with binds, prepared or not.
    public enum PipelineStatement {
        case plain(String)
        case bound(SQL, prepared: Bool)
    }

    /// What became of one statement of a pipeline.
    public enum PipelineOutcome {
        case rows(PostgresRows)
        case failed(PostgresError)
        /// Not run: an earlier statement of the pipeline failed.
        case skipped

        var rows: PostgresRows? {
            if case .rows(let rows) = self { return rows }
            return nil
        }

        /// The last statement's rows, or the first failure.
        static func lastRows(_ outcomes: [PipelineOutcome]) throws(PostgresError) -> PostgresRows {
            var last = PostgresRows(columns: [], rows: [], affected: 0)
            for outcome in outcomes {
                switch outcome {
                case .rows(let rows): last = rows
                case .failed(let error): throw error
                case .skipped: break
                }
            }
            return last
        }
    }
}
