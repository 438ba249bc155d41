import SCIMCore

/// Any bytes as a `filter` query parameter: parsed (then evaluated against a member of a
/// multi-valued attribute), or refused with a 400; never a crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFilter(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let text = String(validating: UnsafeBufferPointer(start: data, count: size), as: UTF8.self) else { return 0 }
    do {
        let expression = try FilterParser.parse(text)
        if let emails = CoreSchemas.userResourceType.schema.attribute(named: "emails") {
            let element = JSONValue.object(JSONObject([("type", .string("work")), ("value", .string("a@example.com")),
                                                       ("primary", .bool(true))]))
            _ = FilterEvaluator(attribute: emails).matches(expression, element)
        }
    } catch {
        precondition(error.status == 400, "filter refused with \(error.status)")
    }
    return 0
}
