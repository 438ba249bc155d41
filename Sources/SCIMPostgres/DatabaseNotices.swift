import CLibPQ
import Logging

/// What the server sends besides results (a function's RAISE WARNING, "terminating connection due
/// to administrator command") goes to the log, a line of its own with the request's id, instead of
/// the bare text libpq's default prints on stderr among the JSON lines. Warnings and worse are
/// logged as warnings; notices ("already exists, skipping") only at debug level.
let databaseNoticeReceiver: PQnoticeReceiver = { _, result in
    guard let result else { return }
    func field(_ code: UInt8) -> String? {
        PQresultErrorField(result, Int32(code)).map { String(cString: $0) }
    }
    // 'V': the severity, never translated; 'M': the primary message; 'C': the SQLSTATE.
    let severity = field(UInt8(ascii: "V")) ?? "NOTICE"
    let metadata: Logger.Metadata = [
        "severity": .string(severity), "notice": .string(field(UInt8(ascii: "M")) ?? ""), "sqlstate": .string(field(UInt8(ascii: "C")) ?? ""),
    ]
    let logger = Logger(label: "postgres")
    if ["NOTICE", "INFO", "LOG", "DEBUG"].contains(severity) {
        logger.debug("database notice", metadata: metadata)
    } else {
        logger.warning("database notice", metadata: metadata)
    }
}
