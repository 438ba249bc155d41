/// The query of a list request (RFC 7644 §3.4.2): filter, 1-based paging, projection.
public struct ListQuery: Sendable {
    public static let defaultCount = 100
    public static let maxCount = 1000

    public var filter: FilterExpression?
    public var startIndex: Int
    public var count: Int
    public var projection: Projection
    public var sort: SortOrder?
    /// Set for RFC 9865 cursor paging (`cursor` present, empty for the first page).
    public var cursor: ListWindow.Cursor?

    public var window: ListWindow { ListWindow(startIndex: startIndex, count: count, cursor: cursor) }

    public init(filter: FilterExpression? = nil, startIndex: Int = 1, count: Int = defaultCount, projection: Projection = .all,
                sort: SortOrder? = nil) {
        self.filter = filter
        self.startIndex = startIndex
        self.count = count
        self.projection = projection
        self.sort = sort
    }

    public init(request: HTTPRequest, maxCount: Int = ListQuery.maxCount) throws(SCIMError) {
        if let text = request.queryValue("filter"), !text.trimmingSpaces.isEmpty {
            filter = try FilterParser.parse(text)
        }
        // RFC 7644 §3.4.2.4: a startIndex below 1 is read as 1, a negative count as 0.
        startIndex = max(1, try ListQuery.integer(request.queryValue("startIndex"), name: "startIndex") ?? 1)
        count = min(maxCount, max(0, try ListQuery.integer(request.queryValue("count"), name: "count") ?? ListQuery.defaultCount))
        projection = try Projection(attributes: request.queryValue("attributes"),
                                    excludedAttributes: request.queryValue("excludedAttributes"))
        sort = try SortOrder(sortBy: request.queryValue("sortBy"), sortOrder: request.queryValue("sortOrder"))
        if let text = request.queryValue("cursor") {
            guard request.queryValue("startIndex") == nil else {
                throw .badRequest(.invalidValue, "Use either cursor or startIndex paging, not both (RFC 9865).")
            }
            guard sort == nil else {
                throw .badRequest(.invalidValue, "Cursor paging returns resources in a fixed order; sortBy cannot be combined with it.")
            }
            cursor = try ListCursorText.decode(text)
        }
    }

    private static func integer(_ text: String?, name: String) throws(SCIMError) -> Int? {
        guard let text, !text.isEmpty else { return nil }
        guard let value = Int(text.trimmingSpaces) else {
            // Past Int's range is still a number; clamp rather than refuse.
            if text.allSatisfy({ $0.isNumber }) { return Int.max }
            if text.first == "-", text.dropFirst().allSatisfy({ $0.isNumber }) { return Int.min }
            throw .badRequest(.invalidValue, "'\(name)' must be an integer, got \"\(text.prefix(40))\".")
        }
        return value
    }
}

/// `sortBy` / `sortOrder` (RFC 7644 §3.4.2.3).
public struct SortOrder: Sendable, Equatable {
    public var attribute: AttributePath
    public var descending: Bool

    public init?(sortBy: String?, sortOrder: String?) throws(SCIMError) {
        guard let sortBy, !sortBy.trimmingSpaces.isEmpty else { return nil }
        let path = try FilterParser.parsePatchPath(sortBy)
        guard path.valueFilter == nil else { throw .badRequest(.invalidValue, "sortBy must name an attribute, not a filter.") }
        attribute = path.attribute
        switch sortOrder?.lowercased() {
        case nil, "", "ascending": descending = false
        case "descending": descending = true
        default: throw .badRequest(.invalidValue, "sortOrder must be \"ascending\" or \"descending\".")
        }
    }
}

/// The opaque `nextCursor` text: the last id of a page, versioned and base64url-encoded.
public enum ListCursorText {
    public static func encode(afterId id: String) -> String {
        base64URL(Array("v1:\(id)".utf8))
    }

    public static func decode(_ text: String) throws(SCIMError) -> ListWindow.Cursor {
        if text.isEmpty { return .first }
        guard let bytes = fromBase64URL(text), let decoded = String(validating: bytes, as: UTF8.self),
              decoded.hasPrefix("v1:"), ResourceID.isValid(String(decoded.dropFirst(3))) else {
            throw SCIMError(status: 400, scimType: .invalidCursor, detail: "The cursor is not one this server issued.")
        }
        return .after(String(decoded.dropFirst(3)).lowercased())
    }

    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

    static func base64URL(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        var i = 0
        while i < bytes.count {
            let chunk = Array(bytes[i..<min(i + 3, bytes.count)])
            let n = (UInt32(chunk[0]) << 16) | (UInt32(chunk.count > 1 ? chunk[1] : 0) << 8) | UInt32(chunk.count > 2 ? chunk[2] : 0)
            for j in 0..<(chunk.count + 1) { out.append(alphabet[Int((n >> (18 - 6 * UInt32(j))) & 0x3F)]) }
            i += 3
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func fromBase64URL(_ text: String) -> [UInt8]? {
        var values: [UInt32] = []
        for byte in text.utf8 {
            guard let index = alphabet.firstIndex(of: byte) else { return nil }
            values.append(UInt32(index))
        }
        guard values.count % 4 != 1, values.count <= 200 else { return nil }
        var out: [UInt8] = []
        var i = 0
        while i < values.count {
            let group = Array(values[i..<min(i + 4, values.count)])
            var n: UInt32 = 0
            for j in 0..<4 { n = (n << 6) | (j < group.count ? group[j] : 0) }
            for j in 0..<(group.count - 1) { out.append(UInt8((n >> (16 - 8 * UInt32(j))) & 0xFF)) }
            i += 4
        }
        return out
    }
}
