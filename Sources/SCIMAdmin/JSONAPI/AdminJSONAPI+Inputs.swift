import SCIMCore

/// The admin API's JSON bodies and query strings, read into the admin layer's typed inputs.
extension AdminJSONAPI {
    /// `startIndex` (default 1) and `count` (default 50) of any admin listing.
    static func paging(_ request: HTTPRequest) throws(SCIMError) -> (startIndex: Int, count: Int) {
        try ActivityFilter.paging(startIndex: try integer(request, "startIndex") ?? 1, count: try integer(request, "count") ?? 50)
    }

    private static func integer(_ request: HTTPRequest, _ name: String) throws(SCIMError) -> Int? {
        guard let text = request.queryValue(name) else { return nil }
        guard let value = Int(text) else { throw .badRequest(.invalidValue, "\(name) must be a whole number.") }
        return value
    }

    static func activityFilter(_ request: HTTPRequest) throws(SCIMError) -> ActivityFilter {
        var resolved: Bool?
        if let value = request.queryValue("resolved") {
            guard let flag = Bool(value) else { throw .badRequest(.invalidValue, "resolved must be true or false.") }
            resolved = flag
        }
        let (startIndex, count) = try paging(request)
        return try ActivityFilter(since: request.queryValue("since"), until: request.queryValue("until"),
                                  status: request.queryValue("status"), resourceType: request.queryValue("resourceType"),
                                  text: request.queryValue("text"), kind: request.queryValue("kind"), resolved: resolved,
                                  startIndex: startIndex, count: count)
    }

    /// `{"scimEnabled": true, "unmappedDepartment": "create"}`; any other member is refused.
    static func settingsChange(_ body: JSONObject) throws(SCIMError) -> SettingsChange {
        var change = SettingsChange()
        for member in body.members {
            switch member.key {
            case "scimEnabled":
                guard let flag = member.value.boolValue else { throw .badRequest(.invalidValue, "\"scimEnabled\" must be true or false.") }
                change.scimEnabled = flag
            case "unmappedDepartment":
                change.unmappedDepartment = try SettingsChange.unmappedDepartment(member.value.stringValue ?? "")
            default:
                throw .badRequest(.invalidValue, "Unknown setting \"\(member.key.prefix(100))\"; settings are scimEnabled and unmappedDepartment.")
            }
        }
        return change
    }

    /// `{"name": "...", "scopes": ["scim"], "expiresAt": "..."}`.
    static func newKey(_ body: JSONObject) throws(SCIMError) -> NewAPIKey {
        guard let name = body["name"]?.stringValue else {
            throw .badRequest(.invalidValue, "A key needs \"name\": a non-empty string of at most 200 characters.")
        }
        let scopes = try NewAPIKey.scopes(body["scopes"]?.arrayValue?.map { $0.stringValue ?? "" } ?? ["scim"])
        return try NewAPIKey(name: name, scopes: scopes, expiresAt: body["expiresAt"]?.stringValue)
    }

    /// `{"overlapHours": 48}` (default 24, at most 720).
    static func overlapHours(_ body: JSONObject) throws(SCIMError) -> Int {
        try KeyRotation.overlapHours(body["overlapHours"]?.intValue)
    }
}
