import Foundation
import Testing
@testable import SCIMCore

/// Replays every file in Fixtures/patch: `before` (a user), `request` (a PATCH body), and either
/// `after` (the expected user) or `error` (the expected status and scimType). Adding a case is
/// adding a file.
@Suite struct PatchFixtureTests {
    struct Fixture: CustomTestStringConvertible, Sendable {
        let name: String
        let document: JSONObject
        var testDescription: String { name }
    }

    static func fixtures() throws -> [Fixture] { try fixtures(in: "patch") }

    static func fixtures(in subfolder: String) throws -> [Fixture] {
        let folder = try #require(Bundle.module.url(forResource: "Fixtures", withExtension: nil)).appendingPathComponent(subfolder)
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }.sorted()
        return try names.map { name in
            let data = try Data(contentsOf: folder.appendingPathComponent(name))
            guard case .object(let object) = try JSONParser.parse(Array(data)) else { throw FixtureError.notAnObject(name) }
            return Fixture(name: name, document: object)
        }
    }

    enum FixtureError: Error { case notAnObject(String) }

    @Test("fixtures exist") func fixturesExist() throws {
        #expect(try Self.fixtures().count >= 20)
    }

    @Test("PATCH fixture", arguments: try fixtures())
    func replay(_ fixture: Fixture) throws {
        let normalizer = ResourceNormalizer(CoreSchemas.userResourceType)
        let engine = PatchEngine(CoreSchemas.userResourceType)
        let before = try normalizer.normalize(try #require(fixture.document["before"]?.objectValue))
        let body = try #require(fixture.document["request"])
        if let expectedError = fixture.document["error"]?.objectValue {
            let error = #expect(throws: SCIMError.self) {
                _ = try engine.apply(try PatchRequest.parse(body), to: before)
            }
            #expect(error?.status == expectedError["status"]?.intValue, "\(fixture.name): \(String(describing: error))")
            #expect(error?.scimType?.rawValue == expectedError["scimType"]?.stringValue, "\(fixture.name): \(String(describing: error))")
        } else {
            let expected = try normalizer.normalize(try #require(fixture.document["after"]?.objectValue))
            let after = try engine.apply(try PatchRequest.parse(body), to: before)
            #expect(JSONValue.object(after).serialized() == JSONValue.object(expected).serialized())
        }
    }
}

/// Replays Fixtures/group-patch: a Group PATCH body, and the membership changes it must make
/// (`changes`: "removeAll", {"add": [...]}, {"remove": [...]}) with the number of operations left
/// for the attribute PATCH engine, or the error it must raise.
@Suite struct GroupPatchFixtureTests {
    @Test("fixtures exist") func fixturesExist() throws {
        #expect(try PatchFixtureTests.fixtures(in: "group-patch").count >= 10)
    }

    @Test("group PATCH fixture", arguments: try PatchFixtureTests.fixtures(in: "group-patch"))
    func replay(_ fixture: PatchFixtureTests.Fixture) throws {
        let body = try #require(fixture.document["request"])
        if let expectedError = fixture.document["error"]?.objectValue {
            let error = #expect(throws: SCIMError.self) { _ = try MemberPatchPlan(try PatchRequest.parse(body)) }
            #expect(error?.status == expectedError["status"]?.intValue)
            #expect(error?.scimType?.rawValue == expectedError["scimType"]?.stringValue, "\(String(describing: error))")
            return
        }
        let plan = try MemberPatchPlan(try PatchRequest.parse(body))
        let expected: [MemberPatchPlan.Change] = try (fixture.document["changes"]?.arrayValue ?? []).map { change in
            if change == .string("removeAll") { return .removeAll }
            let object = try #require(change.objectValue)
            if let ids = object["add"]?.arrayValue { return .add(ids.compactMap(\.stringValue)) }
            return .remove(try #require(object["remove"]?.arrayValue).compactMap(\.stringValue))
        }
        #expect(plan.changes == expected)
        #expect(plan.remaining.count == fixture.document["remaining"]?.intValue)
    }
}
