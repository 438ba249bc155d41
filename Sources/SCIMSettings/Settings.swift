import SCIMCore
#if canImport(Glibc)
import Glibc
#endif

/// What both programs are configured with: the environment file (`/etc/scim/scim.env`, or the one
/// `SCIM_CONFIG_FILE` names), with the process environment over it, and command-line flags over
/// both. A value that is present but wrong stops the program with a message naming the setting;
/// nothing falls back to a default in silence.
public struct Settings: Sendable {
    public static let defaultFile = "/etc/scim/scim.env"

    /// Each setting's value and where it came from ("/etc/scim/scim.env:4", "environment").
    public private(set) var values: [String: (value: String, origin: String)]

    public init(values: [String: (value: String, origin: String)] = [:]) {
        self.values = values
    }

    /// The file (when it exists, or when `SCIM_CONFIG_FILE` names it: then it must), then the
    /// environment's variables that are settings.
    public static func load(environment: [String: String], file explicitFile: String? = nil) throws(SettingsError) -> Settings {
        var settings = Settings()
        let named = explicitFile ?? environment["SCIM_CONFIG_FILE"].flatMap { $0.isEmpty ? nil : $0 }
        let path = named ?? defaultFile
        if named == nil, access(path, F_OK) == 0, access(path, R_OK) != 0 {
            throw SettingsError("\(path): the configuration file exists but this user cannot read it (run as its owner or group, or name another with SCIM_CONFIG_FILE).")
        }
        if let text = DatabaseLocation.readFile(path) {
            for (name, value, line) in try EnvironmentFile.parse(text, path: path) {
                guard SettingName.isKnown(name) else {
                    throw SettingsError("\(path):\(line): \(name) is not a setting of this server (known: \(SettingName.all.joined(separator: ", "))).")
                }
                settings.values[name] = (value, "\(path):\(line)")
            }
        } else if named != nil {
            throw SettingsError("\(path): cannot read the configuration file.")
        }
        for (name, value) in environment where SettingName.isKnown(name) {
            settings.values[name] = (value, "environment")
        }
        return settings
    }

    public subscript(_ name: String) -> String? {
        values[name]?.value
    }

    /// The values alone, as an environment.
    public var environment: [String: String] {
        values.mapValues(\.value)
    }

    /// Overrides a setting with a command-line flag's value.
    public mutating func set(_ name: String, _ value: String?, origin: String) {
        if let value { values[name] = (value, origin) }
    }

    /// A present, non-empty value, or nil.
    public func text(_ name: String) -> String? {
        guard let value = values[name]?.value, !value.isEmpty else { return nil }
        return value
    }

    /// on/off, true/false, yes/no, 1/0 (any case); anything else is an error.
    public func flag(_ name: String, default fallback: Bool) throws(SettingsError) -> Bool {
        guard let value = text(name) else { return fallback }
        switch value.lowercased() {
        case "on", "true", "yes", "1": return true
        case "off", "false", "no", "0": return false
        default: throw invalid(name, "expected on or off (true/false, yes/no, 1/0)")
        }
    }

    /// A whole number within `range`.
    public func integer(_ name: String, default fallback: Int, in range: ClosedRange<Int>) throws(SettingsError) -> Int {
        guard let value = text(name) else { return fallback }
        guard let number = Int(value), range.contains(number) else {
            throw invalid(name, range.upperBound == Int.max ? "expected a whole number from \(range.lowerBound)"
                                                             : "expected a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return number
    }

    /// Permission bits written in octal (660).
    public func octalMode(_ name: String, default fallback: UInt32) throws(SettingsError) -> UInt32 {
        guard let value = text(name) else { return fallback }
        guard let mode = UInt32(value, radix: 8), mode <= 0o777 else { throw invalid(name, "expected octal permissions such as 660") }
        return mode
    }

    /// One of `choices` (any case), returned in lower case.
    public func choice(_ name: String, _ choices: [String], default fallback: String) throws(SettingsError) -> String {
        guard let value = text(name) else { return fallback }
        guard choices.contains(value.lowercased()) else { throw invalid(name, "expected one of \(choices.joined(separator: ", "))") }
        return value.lowercased()
    }

    /// An origin such as `https://scim.example.com`: scheme and host, no path, no trailing slash.
    public func origin(_ name: String) throws(SettingsError) -> String? {
        guard var value = text(name) else { return nil }
        while value.hasSuffix("/") { value.removeLast() }
        guard let scheme = value.firstRange(of: "://"), ["http", "https"].contains(value[..<scheme.lowerBound].lowercased()),
              !value[scheme.upperBound...].isEmpty, !value[scheme.upperBound...].contains("/")
        else { throw invalid(name, "expected an origin such as https://scim.example.com (scheme and host, no path)") }
        return value
    }

    func invalid(_ name: String, _ expectation: String) -> SettingsError {
        let origin = values[name].map { " (\($0.origin))" } ?? ""
        return SettingsError("\(name)=\(values[name]?.value ?? "")\(origin): \(expectation).")
    }
}

public struct SettingsError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Every setting either program reads; the environment file may hold these and nothing else, so a
/// misspelt name is an error rather than a setting that silently does nothing.
public enum SettingName {
    public static let all = [
        "DATABASE_URL", "SCIM_ADMIN_DATABASE_URL", "SCIM_PUBLIC_URL",
        "SCIM_LISTEN", "SCIM_INHERIT", "SCIM_WORKERS", "SCIM_SOCKET_MODE", "SCIM_BACKLOG", "SCIM_PID_FILE",
        "SCIM_MAX_BODY_BYTES", "SCIM_MAX_PAGE_SIZE", "SCIM_DB_POOL_MODE", "SCIM_DB_PREPARED_STATEMENTS", "SCIM_DB_STATEMENT_TIMEOUT_MS",
        "SCIM_DB_RECONNECT_MS",
        "SCIM_TENANT_MAX_WORKERS", "SCIM_REQUEST_DEADLINE_SECONDS", "SCIM_LOG_LEVEL", "SCIM_SLOW_REQUEST_MS", "SCIM_LOG_READS",
    ]

    public static func isKnown(_ name: String) -> Bool { all.contains(name) }
}

/// The file format systemd's `EnvironmentFile=` reads, so one file serves the unit and the programs:
/// `NAME=value` lines, `#` and `;` comments, blank lines, values optionally in single or double quotes.
public enum EnvironmentFile {
    public static func parse(_ text: String, path: String) throws(SettingsError) -> [(name: String, value: String, line: Int)] {
        var entries: [(name: String, value: String, line: Int)] = []
        for (index, rawLine) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let text = rawLine.trimmingWhitespace
            if text.isEmpty || text.hasPrefix("#") || text.hasPrefix(";") { continue }
            guard let equals = text.firstIndex(of: "="),
                  case let name = text[..<equals].trimmingWhitespace, !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }),
                  !(name.first?.isNumber ?? true)
            else { throw SettingsError("\(path):\(index + 1): expected NAME=value, found \(text)") }
            var value = text[text.index(after: equals)...].trimmingWhitespace
            if value.count >= 2, let quote = value.first, quote == "\"" || quote == "'", value.last == quote {
                value = String(value.dropFirst().dropLast())
            }
            entries.append((name, value, index + 1))
        }
        return entries
    }
}
