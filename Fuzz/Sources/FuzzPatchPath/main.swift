import SCIMCore

/// Any bytes as a PATCH operation's `path`: parsed, or refused with a 400; never a crash.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPatchPath(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard let text = String(validating: UnsafeBufferPointer(start: data, count: size), as: UTF8.self) else { return 0 }
    do {
        _ = try FilterParser.parsePatchPath(text)
    } catch {
        precondition(error.status == 400, "path refused with \(error.status)")
    }
    return 0
}
