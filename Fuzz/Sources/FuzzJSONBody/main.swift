import SCIMCore

/// Any bytes as a request body: parsed by the strict JSON parser (and, when an object, normalised
/// as a User) or refused; a parsed document serialises and parses back to itself.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzJSONBody(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    guard let value = try? JSONParser.parse(bytes) else { return 0 }
    let again = try? JSONParser.parse(value.serialized(), maxDepth: 64)
    precondition(again == value, "serialising and parsing back changed the document")
    if case .object(let object) = value {
        do {
            _ = try ResourceNormalizer(CoreSchemas.userResourceType).normalize(object)
        } catch {
            precondition(error.status == 400, "body refused with \(error.status)")
        }
    }
    return 0
}
