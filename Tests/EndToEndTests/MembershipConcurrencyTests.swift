import Foundation
import Testing
@testable import SCIMCore

/// Okta-shaped membership traffic: many groups sharing members, changed at once. Every PATCH must
/// succeed without PostgreSQL having to break a deadlock (each costs a second of deadlock_timeout
/// before the retry), and the memberships must end exactly as the last PATCHes left them.
@Suite("Concurrent membership changes on groups that share members", .enabled(if: Stack.available))
struct MembershipConcurrencyTests {
    static let patchOp = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

    static func deadlocks() throws -> Int {
        let database = try #require(ProcessInfo.processInfo.environment["SCIM_TEST_DATABASE_URL"], "run ./deploy/test.sh")
        let (_, output) = try Stack.run("/usr/bin/psql", [database, "-qAtc", "select deadlocks from pg_stat_database where datname = current_database()"])
        return Int(output.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1
    }

    @Test("PATCHes adding and removing overlapping members of eight groups at once: all succeed, no deadlock, exact result")
    func overlappingGroups() async throws {
        let tenant = try TestTenant.make()
        let client = tenant.client
        var users: [String] = []
        for i in 0..<40 { users.append(try await client.createUser("overlap\(i)@example.com").id) }
        var groups: [String] = []
        for g in 0..<8 {
            let created = try await client.post("/Groups", #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group"],"displayName":"Overlap \#(g)"}"#)
            groups.append(try #require(created.object?["id"]?.stringValue, "\(created.text)"))
        }
        let before = try Self.deadlocks()
        // Each round, every group gets 20 members picked from the same 40 users, in a different
        // order per group, and loses the ones it had that are not among them.
        var expected: [String: Set<String>] = [:]
        for round in 0..<4 {
            let plans = groups.enumerated().map { (index, group) -> (String, [String]) in
                var generator = SplitMix(seed: UInt64(round * 31 + index))
                return (group, Array(users.shuffled(using: &generator).prefix(20)))
            }
            let statuses = try await withThrowingTaskGroup(of: Int.self) { taskGroup in
                for (group, members) in plans {
                    let removed = Set(expected[group] ?? []).subtracting(members)
                    var operations = [#"{"op":"add","path":"members","value":[\#(members.map { #"{"value":"\#($0)"}"# }.joined(separator: ","))]}"#]
                    operations += removed.map { #"{"op":"remove","path":"members[value eq \"\#($0)\"]"}"# }
                    let body = #"{"schemas":["\#(Self.patchOp)"],"Operations":[\#(operations.joined(separator: ","))]}"#
                    taskGroup.addTask { try await client.patch("/Groups/\(group)", body).status }
                }
                return try await taskGroup.reduce(into: [Int]()) { $0.append($1) }
            }
            #expect(statuses.allSatisfy { $0 == 200 || $0 == 204 }, "round \(round): \(statuses)")
            for (group, members) in plans { expected[group] = Set(members) }
        }
        let after = try Self.deadlocks()
        #expect(after - before == 0, "PostgreSQL broke \(after - before) deadlock(s)")
        for group in groups {
            let members = try await client.get("/Groups/\(group)").object?["members"]?.arrayValue?
                .compactMap { $0.objectValue?["value"]?.stringValue } ?? []
            #expect(Set(members) == expected[group], "group \(group)")
        }
    }
}

/// A small seeded generator, so each round's plan is the same on every run.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
