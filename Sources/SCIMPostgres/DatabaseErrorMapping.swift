import Logging
import SCIMCore

/// What a client is told when PostgreSQL refuses a statement: the status and wording a client can
/// act on, by SQLSTATE and, for a clash or a refused value, by the constraint that names it. The
/// server's own message names tables, constraints and stored values; it goes to the responder's
/// log, never into a response. The one place database errors become SCIM errors.
enum DatabaseErrorMapping {
    /// A unique key in words: with the value that clashed, and without it. PostgreSQL reports the
    /// value only where row-level security is off (it never shows key values of a table under
    /// RLS), so the wording stands without it too; the log row names the request's subject.
    struct UniqueKey: Sendable {
        /// The subject, with `{}` where the value goes, and as it reads without the value.
        let named: String
        let unnamed: String
        /// What is said of the subject either way.
        let predicate: String
        /// How many leading tenant-id columns the key has before the value.
        let leadingTenantColumns: Int

        init(_ named: String, or unnamed: String, _ predicate: String, leadingTenantColumns: Int = 1) {
            (self.named, self.unnamed, self.predicate, self.leadingTenantColumns) = (named, unnamed, predicate, leadingTenantColumns)
        }

        func withValue(_ value: String) -> String { named.replacing("{}", with: value) + predicate }
        var withoutValue: String { unnamed + predicate }
    }

    static let uniqueKeys: [String: UniqueKey] = [
        "users_tenant_user_name_key": UniqueKey("A user with userName {}", or: "A user with this userName",
                                                " already exists (userName is unique, ignoring case)."),
        "groups_tenant_display_name_key": UniqueKey("A group with displayName {}", or: "A group with this displayName",
                                                    " already exists (displayName is unique, ignoring case)."),
        "tenants_slug_key": UniqueKey("A tenant with slug {}", or: "A tenant with this slug", " already exists.", leadingTenantColumns: 0),
        "departments_tenant_name_key": UniqueKey("A department named {}", or: "A department of that name", " already exists."),
        "roles_tenant_name_key": UniqueKey("A role named {}", or: "A role of that name", " already exists."),
        "custom_fields_pkey": UniqueKey("The custom field {}", or: "A custom field of that name", " already exists."),
        "column_mappings_field_key": UniqueKey("The field {}", or: "That field", " already has a column mapping; change that one instead."),
        "department_mappings_source_key": UniqueKey("The department value {}", or: "That department value",
                                                    " is already mapped; change that mapping instead."),
        "group_role_mappings_key": UniqueKey("That group", or: "That group", " is already mapped to that role."),
        "users_tenant_username_key": UniqueKey("Another application user already has the username {}",
                                               or: "Another application user already has that username", "."),
        "console_users_tenant_email_key": UniqueKey("A console user with the e-mail address {}", or: "A console user with that e-mail address",
                                                    " already exists."),
    ]

    /// Check constraints a client's value can break, in words.
    static let checks: [String: String] = [
        "schema_extensions_urn_check": "An extension schema's id must be a URN of the form urn:<namespace>:....",
        "schema_extensions_resource_type_check": "An extension schema extends User or Group.",
    ]

    static func scimError(_ error: PostgresError, committing: Bool) -> SCIMError {
        if error.isConnectionFailure {
            return .unavailable(committing
                ? "The database connection was lost while committing; the outcome is unknown. Retry the request."
                : "The database is unavailable. Retry the request shortly.")
        }
        if error.isRetryable {
            return .unavailable("The request conflicted with concurrent requests; retry it.", retryAfterSeconds: 1)
        }
        switch error.sqlState {
        case .queryCanceled?: return .unavailable("The request took too long and was cancelled.")
        case .uniqueViolation?: return .conflict(conflictDetail(error))
        case .notNullViolation?: return .badRequest(.invalidValue, "A required value is missing.")
        case .foreignKeyViolation?: return .badRequest(.invalidValue, "A value refers to something that does not exist.")
        case .checkViolation?:
            return .badRequest(.invalidValue, error.constraint.flatMap { checks[$0] }
                               ?? "A value is not allowed here (too long, empty, or not one of the accepted values).")
        case .stringTooLong?: return .badRequest(.invalidValue, "A value is too long.")
        case .numericOutOfRange?: return .badRequest(.invalidValue, "A number is out of range.")
        case .invalidDateTimeFormat?, .dateTimeOutOfRange?:
            return .badRequest(.invalidValue, "A date or time is not valid; use a timestamp such as 2026-11-29T10:00:00Z.")
        case .invalidTextRepresentation?: return .badRequest(.invalidValue, "A value has the wrong format (an id, a number, a date or a boolean).")
        case let state? where state.isRefusedValue:
            return .badRequest(.invalidValue, "A value was refused by the database's rules.")
        default:
            return .internalError("An internal database error occurred.")
        }
    }

    /// Which value clashed, from the constraint's name and the key PostgreSQL reports
    /// (`Key (tenant_id, lower(user_name))=(<uuid>, alice@example.com) already exists.`): the
    /// client's own value, as the key holds it.
    static func conflictDetail(_ error: PostgresError) -> String {
        guard let key = error.constraint.flatMap({ uniqueKeys[$0] }) else { return "A value that must be unique is already in use." }
        guard let value = error.detail.flatMap({ clashingValue(in: $0, skipping: key.leadingTenantColumns) }) else { return key.withoutValue }
        return key.withValue("\"\(value.prefix(200))\"")
    }

    static func clashingValue(in detail: String, skipping leadingColumns: Int) -> String? {
        guard let open = detail.firstRange(of: ")=("), let close = detail.ranges(of: ") already exists").last,
              open.upperBound <= close.lowerBound else { return nil }
        var values = detail[open.upperBound..<close.lowerBound]
        for _ in 0..<leadingColumns {
            guard let comma = values.firstRange(of: ", ") else { return nil }
            values = values[comma.upperBound...]
        }
        return String(values)
    }

    /// Refusals a client caused (classes 22 and 23) are notices; anything else is an error.
    static func log(_ error: PostgresError, _ logger: Logger) {
        let metadata: Logger.Metadata = ["sqlstate": "\(error.sqlState?.rawValue ?? "-")", "constraint": "\(error.constraint ?? "-")",
                                         "error": "\(error)"]
        if error.sqlState?.isRefusedValue == true {
            logger.notice("database refused a value", metadata: metadata)
        } else if !error.isRetryable {
            logger.error("database error", metadata: metadata)
        }
    }
}
