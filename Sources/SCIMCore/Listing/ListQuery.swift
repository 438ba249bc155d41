/// The query of a list request (RFC 7644 §3.4.2): filter, 1-based paging, projection.
public struct ListQuery: Sendable {
    public static let defaultCount = 100
    public static let maxCount = 1000

    public var filter: FilterExpression?
    public var startIndex: Int
    public var count: Int
    public var projection: Projection
    public var sort: SortOrder?

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

    public init(attribute: AttributePath, descending: Bool) {
        self.attribute = attribute
        self.descending = descending
    }

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
