/// A PATCH request body (RFC 7644 §3.5.2).
public struct PatchRequest: Sendable {
    public enum Op: String, Sendable { case add, remove, replace }

    public struct Operation: Sendable {
        public var op: Op
        public var path: PatchPath?
        public var rawPath: String?
        public var value: JSONValue?
    }

    public static let maxOperations = 1000

    public var operations: [Operation]

    public init(operations: [Operation]) { self.operations = operations }

    /// Parses the body. `op` is matched case-insensitively: Entra's default dialect sends
    /// "Add"/"Replace"/"Remove" (docs/identity-providers.md §4.1).
    public static func parse(_ body: JSONValue) throws(SCIMError) -> PatchRequest {
        guard case .object(let object) = body else {
            throw .badRequest(.invalidSyntax, "A PATCH body must be a JSON object with \"schemas\" and \"Operations\".")
        }
        // RFC 7644 §3.5.2: the body's "schemas" is the PatchOp URN; every client we know sends it.
        guard let list = object.member(caseInsensitive: "schemas")?.value.arrayValue,
              list.contains(where: { $0.stringValue?.caseInsensitiveEquals(CoreSchemas.patchOpURN) == true })
        else {
            throw .badRequest(.invalidSyntax, "A PATCH body needs \"schemas\": [\"\(CoreSchemas.patchOpURN)\"] (RFC 7644 §3.5.2).")
        }
        guard let operationsValue = object.member(caseInsensitive: "Operations")?.value else {
            throw .badRequest(.invalidSyntax, "The PATCH body has no \"Operations\" array.")
        }
        guard case .array(let list) = operationsValue else {
            throw .badRequest(.invalidSyntax, "\"Operations\" must be an array, got \(operationsValue.typeName).")
        }
        guard !list.isEmpty else { throw .badRequest(.invalidValue, "\"Operations\" is empty.") }
        guard list.count <= maxOperations else {
            throw .badRequest(.tooMany, "A PATCH may carry at most \(maxOperations) operations; this one has \(list.count).")
        }
        var operations: [Operation] = []
        for (number, element) in list.enumerated() {
            guard case .object(let operation) = element else {
                throw .badRequest(.invalidSyntax, "Operation \(number + 1) must be an object.")
            }
            guard let opText = operation.member(caseInsensitive: "op")?.value.stringValue else {
                throw .badRequest(.invalidSyntax, "Operation \(number + 1) has no \"op\".")
            }
            guard let op = Op(rawValue: opText.lowercased()) else {
                throw .badRequest(.invalidSyntax,
                                  "Operation \(number + 1) has op \"\(opText.prefix(40))\"; expected add, remove or replace.")
            }
            var path: PatchPath?
            var rawPath: String?
            if let pathValue = operation.member(caseInsensitive: "path")?.value, !pathValue.isNull {
                guard case .string(let text) = pathValue else {
                    throw .badRequest(.invalidPath, "Operation \(number + 1) has a path that is not a string.")
                }
                if !text.trimmingSpaces.isEmpty {
                    path = try FilterParser.parsePatchPath(text)
                    rawPath = text
                }
            }
            let value = operation.member(caseInsensitive: "value")?.value
            if op != .remove && path == nil && value?.objectValue == nil {
                throw .badRequest(.invalidValue, "Operation \(number + 1) (\(op.rawValue)) without a path needs an object value.")
            }
            if op != .remove && value == nil {
                throw .badRequest(.invalidValue, "Operation \(number + 1) (\(op.rawValue)) has no value.")
            }
            if op == .remove && path == nil {
                throw .badRequest(.noTarget, "Operation \(number + 1) (remove) has no path.")
            }
            operations.append(Operation(op: op, path: path, rawPath: rawPath, value: value))
        }
        return PatchRequest(operations: operations)
    }
}

