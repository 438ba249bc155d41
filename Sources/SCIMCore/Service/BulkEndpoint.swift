/// `POST /Bulk` (RFC 7644 §3.7). Every operation runs through the same dispatch as a request of
/// its own, inside a savepoint of the bulk's transaction: a failed operation is undone alone and
/// reported, the others stand. `bulkId` references ("bulkId:x" as a value or in a path) are
/// resolved once the operation that creates "x" has run, in whatever order the client listed them.
struct BulkEndpoint {
    static let requestURN = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
    static let responseURN = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
    static let maxOperations = 1000

    struct Operation {
        var index: Int
        var method: String
        var bulkId: String?
        var path: String
        var version: String?
        var data: JSONValue?
    }

    func run(_ context: RequestContext, dispatch: (RequestContext) throws(SCIMError) -> HTTPResponse) throws(SCIMError) -> HTTPResponse {
        let body = try RequestBody.object(context.request)
        if let schemas = body.member(caseInsensitive: "schemas")?.value.arrayValue,
           !schemas.contains(where: { $0.stringValue?.caseInsensitiveEquals(Self.requestURN) == true }) {
            throw .badRequest(.invalidSyntax, "\"schemas\" must contain \"\(Self.requestURN)\".")
        }
        guard let list = body.member(caseInsensitive: "Operations")?.value.arrayValue else {
            throw .badRequest(.invalidSyntax, "A bulk request needs an \"Operations\" array.")
        }
        guard list.count <= Self.maxOperations else {
            throw SCIMError(status: 413, detail: "A bulk request may carry at most \(Self.maxOperations) operations; this one has \(list.count).")
        }
        let failOnErrors = body.member(caseInsensitive: "failOnErrors")?.value.intValue
        var operations: [Operation] = []
        var bulkIds = Set<String>()
        for (index, element) in list.enumerated() {
            guard case .object(let object) = element,
                  let method = object.member(caseInsensitive: "method")?.value.stringValue?.uppercased(),
                  ["POST", "PUT", "PATCH", "DELETE"].contains(method),
                  let path = object.member(caseInsensitive: "path")?.value.stringValue, path.hasPrefix("/")
            else { throw .badRequest(.invalidSyntax, "Operation \(index + 1) needs a method (POST, PUT, PATCH, DELETE) and a path.") }
            let bulkId = object.member(caseInsensitive: "bulkId")?.value.stringValue
            if method == "POST" {
                guard let bulkId, !bulkId.isEmpty else {
                    throw .badRequest(.invalidValue, "Operation \(index + 1): a POST needs a bulkId (RFC 7644 §3.7).")
                }
                guard bulkIds.insert(bulkId).inserted else {
                    throw .badRequest(.invalidValue, "Operation \(index + 1): bulkId \"\(bulkId.prefix(100))\" is used twice.")
                }
            }
            operations.append(Operation(index: index, method: method, bulkId: bulkId, path: path,
                                        version: object.member(caseInsensitive: "version")?.value.stringValue,
                                        data: object.member(caseInsensitive: "data")?.value))
        }

        var resolved: [String: String] = [:]
        var results: [Int: JSONObject] = [:]
        var pending = operations
        var errors = 0
        // Each pass runs what has all its references resolved; a pass without progress leaves cycles
        // and dangling references, reported as errors.
        while !pending.isEmpty {
            var deferred: [Operation] = []
            for operation in pending {
                if let failOnErrors, failOnErrors > 0, errors >= failOnErrors { break }
                guard unresolvedReferences(operation, resolved).isEmpty else {
                    deferred.append(operation)
                    continue
                }
                let result = perform(operation, resolved: resolved, context, dispatch: dispatch)
                if let id = result.id, let bulkId = operation.bulkId { resolved[bulkId] = id }
                if result.failed { errors += 1 }
                results[operation.index] = result.object
            }
            if let failOnErrors, failOnErrors > 0, errors >= failOnErrors { break }
            if deferred.count == pending.count {
                for operation in deferred {
                    let missing = unresolvedReferences(operation, resolved).joined(separator: ", ")
                    let error = SCIMError.conflict("bulkId references that no operation resolves, or that form a cycle: \(missing).")
                    results[operation.index] = describe(operation, status: error.status, error: error)
                }
                break
            }
            pending = deferred
        }
        let ordered = operations.compactMap { results[$0.index] }.map { JSONValue.object($0) }
        return .json(200, .object(JSONObject([("schemas", .array([.string(Self.responseURN)])), ("Operations", .array(ordered))])))
    }

    private func perform(_ operation: Operation, resolved: [String: String], _ context: RequestContext,
                         dispatch: (RequestContext) throws(SCIMError) -> HTTPResponse) -> (id: String?, failed: Bool, object: JSONObject) {
        var request = context.request
        request.method = operation.method
        request.path = replacingReferences(in: operation.path, resolved)
        request.query = []
        request.headers = ["content-type": "application/scim+json"]
        if let version = operation.version { request.headers["if-match"] = version }
        request.body = operation.data.map { replacingReferences(in: $0, resolved).serializedBytes() } ?? []
        var inner = context
        inner.request = request
        do throws(SCIMError) {
            inner.route = try Route(resourcePath: request.path, tenant: context.route.tenant)
            guard inner.route.resource != .bulk else { throw SCIMError.badRequest(.invalidPath, "A bulk operation cannot be a bulk request.") }
            let response = try context.transaction.withSavepoint { () throws(SCIMError) -> HTTPResponse in
                let response = try dispatch(inner)
                if response.status >= 400 { throw SCIMError(status: response.status, detail: "failed") }
                return response
            }
            var object = describe(operation, status: response.status, error: nil)
            let location = response.headers.first { $0.0 == "Location" }?.1
            if let location { object["location"] = .string(location) }
            if let etag = response.headers.first(where: { $0.0 == "ETag" })?.1 { object["version"] = .string(etag) }
            let id = location.flatMap { $0.split(separator: "/").last.map(String.init) }
            return (id, false, reorder(object))
        } catch {
            return (nil, true, describe(operation, status: error.status, error: error))
        }
    }

    private func describe(_ operation: Operation, status: Int, error: SCIMError?) -> JSONObject {
        var object = JSONObject([("method", .string(operation.method))])
        if let bulkId = operation.bulkId { object.append("bulkId", .string(bulkId)) }
        object.append("status", .string(String(status)))
        if let error { object.append("response", error.body) }
        return object
    }

    private func reorder(_ object: JSONObject) -> JSONObject {
        var result = JSONObject()
        for key in ["location", "method", "bulkId", "version", "status", "response"] {
            if let value = object[key] { result.append(key, value) }
        }
        return result
    }

    static let referencePrefix = "bulkId:"

    private func unresolvedReferences(_ operation: Operation, _ resolved: [String: String]) -> [String] {
        var found: [String] = []
        func collect(_ text: String) {
            guard let range = text.firstRange(of: Self.referencePrefix) else { return }
            let id = String(text[range.upperBound...].prefix { $0 != "/" })
            if resolved[id] == nil { found.append(id) }
        }
        func walk(_ value: JSONValue) {
            switch value {
            case .string(let text): if text.hasPrefix(Self.referencePrefix) { collect(text) }
            case .array(let items): items.forEach(walk)
            case .object(let object): object.members.forEach { walk($0.value) }
            default: break
            }
        }
        collect(operation.path)
        if let data = operation.data { walk(data) }
        return found
    }

    private func replacingReferences(in path: String, _ resolved: [String: String]) -> String {
        guard let range = path.firstRange(of: Self.referencePrefix) else { return path }
        let id = String(path[range.upperBound...].prefix { $0 != "/" })
        guard let value = resolved[id] else { return path }
        var result = path
        result.replaceSubrange(range.lowerBound..<path.index(range.upperBound, offsetBy: id.count), with: value)
        return result
    }

    private func replacingReferences(in value: JSONValue, _ resolved: [String: String]) -> JSONValue {
        switch value {
        case .string(let text) where text.hasPrefix(Self.referencePrefix):
            return .string(resolved[String(text.dropFirst(Self.referencePrefix.count))] ?? text)
        case .array(let items):
            return .array(items.map { replacingReferences(in: $0, resolved) })
        case .object(let object):
            var result = JSONObject()
            for member in object.members { result.append(member.key, replacingReferences(in: member.value, resolved)) }
            return .object(result)
        default:
            return value
        }
    }
}
