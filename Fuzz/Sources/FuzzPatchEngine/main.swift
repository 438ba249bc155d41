import SCIMCore

let resourceType = CoreSchemas.userResourceType
let normalizer = ResourceNormalizer(resourceType)
let engine = PatchEngine(resourceType)
let start: JSONObject = {
    let text = #"""
        {"userName":"fuzz@example.com","name":{"givenName":"F","familyName":"Z"},"active":true,
         "emails":[{"type":"work","value":"fuzz@example.com","primary":true},{"type":"home","value":"h@example.com"}],
         "phoneNumbers":[{"type":"mobile","value":"1"}],
         "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"D","manager":{"value":"m"}}}
        """#
    return (try? normalizer.normalize((try? JSONParser.parse(text))?.objectValue ?? JSONObject())) ?? JSONObject()
}()

/// Any bytes as a PATCH request body applied to a user: a new valid user, or a 4xx; never a crash,
/// and what it produces must normalise again (what the store would keep).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPatchEngine(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let body = try? JSONParser.parse(Array(UnsafeBufferPointer(start: data, count: size))) else { return 0 }
    do {
        let request = try PatchRequest.parse(body)
        let patched = try engine.apply(request, to: start)
        _ = try UserWrite(attributes: try normalizer.normalize(patched))
    } catch {
        precondition((400..<500).contains(error.status), "PATCH refused with \(error.status): \(error.detail)")
    }
    return 0
}
