import Testing
@testable import SCIMCore

@Suite struct JSONParserTests {
    @Test("parses and re-serialises, keeping member order and number text")
    func roundTrip() throws {
        let text = #"{"b":1,"a":[true,false,null,"x\"y",12345678901234567890123,-1.5e3],"c":{}}"#
        #expect(try JSONParser.parse(text).serialized() == text)
    }

    @Test("decodes escapes and surrogate pairs")
    func escapes() throws {
        let value = try JSONParser.parse(#""\u00e9\n\ud83d\ude00\/""#)
        #expect(value == .string("é\n😀/"))
    }

    @Test("refuses malformed documents with a position", arguments: [
        "", "{", "[1,]", "{\"a\":1,}", "{'a':1}", "tru", "01", "1.", "\"\\x\"", "[1] 2", "{\"a\" 1}", "\"abc",
        "\"\\ud83d\"", "nul", "-", "{\"a\":1}}",
    ])
    func malformed(_ text: String) {
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(text) }
    }

    @Test("refuses duplicate member names")
    func duplicates() {
        let error = #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(#"{"a":1,"a":2}"#) }
        #expect(error?.message.contains("duplicate") == true)
    }

    @Test("refuses NUL, raw control characters and invalid UTF-8")
    func badStrings() {
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(#""a\u0000b""#) }
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse([0x22, 0x61, 0x00, 0x22]) }
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse([0x22, 0x0A, 0x22]) }
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse([0x22, 0xC3, 0x28, 0x22]) }
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse([0x22, 0xED, 0xA0, 0x80, 0x22]) }
    }

    @Test("refuses nesting deeper than the limit, accepts it at the limit")
    func depth() throws {
        let deep = String(repeating: "[", count: 33) + String(repeating: "]", count: 33)
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(deep) }
        let ok = String(repeating: "[", count: 32) + String(repeating: "]", count: 32)
        _ = try JSONParser.parse(ok)
    }

    @Test("escapes control characters on output")
    func serialiseEscapes() {
        #expect(JSONValue.string("a\"b\\c\n\u{01}").serialized() == #""a\"b\\c\n\u0001""#)
    }
}
