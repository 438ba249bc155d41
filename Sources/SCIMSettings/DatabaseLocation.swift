#if canImport(Glibc)
import Glibc
#endif

/// Where the database is: `DATABASE_URL`, or else the local cluster the quickstart created, whose
/// connection strings it writes to `.local/` in the project folder. The folder is found by walking
/// up from the working directory, then from the executable's own directory.
///
/// Two roles: the responder connects as one that row-level security confines to a tenant
/// (`.local/database_url`); administration (migrations, scimctl) connects as the owner
/// (`SCIM_ADMIN_DATABASE_URL`, or `.local/admin_database_url`), falling back to `DATABASE_URL`
/// where a deployment uses one role.
public enum DatabaseLocation {
    public static let localFile = ".local/database_url"
    public static let localAdminFile = ".local/admin_database_url"

    public static func resolve(environment: [String: String], admin: Bool = false) -> String? {
        if admin, let url = environment["SCIM_ADMIN_DATABASE_URL"], !url.isEmpty { return url }
        if let url = environment["DATABASE_URL"], !url.isEmpty { return url }
        if admin, let url = localFile(localAdminFile) { return url }
        return localFile(localFile)
    }

    /// The first line of a file under the project folder (.local/...), found as described above.
    public static func localFile(_ relativePath: String) -> String? {
        firstUpward { directory in
            guard let text = readFile("\(directory)/\(relativePath)") else { return nil }
            let firstLine = text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).first.map(String.init) ?? ""
            return firstLine.isEmpty ? nil : firstLine
        }
    }

    /// The first answer `probe` gives for a folder, asked of the working directory and each folder
    /// above it, then of the executable's folder and each above it: how the programs find the
    /// project folder (its `.local/` and `deploy/sql/`) wherever they are started from.
    public static func firstUpward<T>(_ probe: (String) -> T?) -> T? {
        for start in [currentDirectory(), executableDirectory()].compactMap({ $0 }) {
            var directory = start
            while true {
                if let found = probe(directory) { return found }
                guard let slash = directory.lastIndex(of: "/"), directory != "/" else { break }
                directory = slash == directory.startIndex ? "/" : String(directory[..<slash])
            }
        }
        return nil
    }

    /// The connection string without its password, for printing.
    public static func redacted(_ conninfo: String) -> String {
        if let scheme = conninfo.firstRange(of: "://") {
            let rest = conninfo[scheme.upperBound...]
            guard let at = rest.firstIndex(of: "@"), let colon = rest[..<at].firstIndex(of: ":") else { return conninfo }
            return String(conninfo[..<colon]) + ":***" + String(rest[at...])
        }
        return conninfo.split(separator: " ").map { $0.lowercased().hasPrefix("password=") ? "password=***" : String($0) }
            .joined(separator: " ")
    }

    public static let missingMessage = "No database configured: set DATABASE_URL (for example postgresql://user@host/db), "
        + "or run ./deploy/quickstart.sh, which creates a local cluster and records it in \(localFile)."

    static func currentDirectory() -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        guard getcwd(&buffer, buffer.count) != nil else { return nil }
        let length = buffer.firstIndex(of: 0) ?? buffer.count
        return String(decoding: buffer[0..<length].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func executableDirectory() -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        let path = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
        guard let slash = path.lastIndex(of: "/") else { return nil }
        return String(path[..<slash])
    }

    public static func readFile(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = fread(&chunk, 1, chunk.count, file)
            if n <= 0 { break }
            bytes.append(contentsOf: chunk[0..<n])
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
