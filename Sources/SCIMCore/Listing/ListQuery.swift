/// The query of a list request (RFC 7644 §3.4.2): filter, 1-based paging, projection.
public struct ListQuery: Sendable {
    public static let defaultCount = 100
    public static let maxCount = 1000

    public var filter: FilterExpression?
    public var startIndex: Int
    public var count: Int
    public var projection: Projection

    public init(filter: FilterExpression? = nil, startIndex: Int = 1, count: Int = defaultCount, projection: Projection = .all) {
        self.filter = filter
        self.startIndex = startIndex
        self.count = count
        self.projection = projection
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
