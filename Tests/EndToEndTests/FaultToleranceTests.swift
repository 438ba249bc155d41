import Foundation
import Testing
@testable import SCIMCore

/// Faults of the running stack. Serialized: they stop the database and kill workers.
@Suite("Faults: a killed worker, a database restart", .serialized, .enabled(if: Stack.available))
struct FaultToleranceTests {
    func workerPids() throws -> (supervisor: Int32, workers: [Int32]) {
        let (_, project) = try Stack.require()
        let text = try String(contentsOfFile: "\(project)/.local/run/scim-fcgi.pid", encoding: .utf8)
        let supervisor = try #require(Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)))
        let children = try String(contentsOfFile: "/proc/\(supervisor)/task/\(supervisor)/children", encoding: .utf8)
        return (supervisor, children.split(separator: " ").compactMap { Int32($0) })
    }

    @Test("a worker killed with SIGKILL is replaced while requests continue")
    func killedWorker() async throws {
        let tenant = try TestTenant.make()
        let (_, before) = try workerPids()
        #expect(before.count >= 2)
        let victim = try #require(before.first)
        kill(victim, SIGKILL)
        var statuses: [Int] = []
        for _ in 0..<40 {
            statuses.append(try await tenant.client.get("/Users?count=1").status)
        }
        #expect(statuses.allSatisfy { $0 == 200 }, "\(statuses)")
        var after: [Int32] = []
        for _ in 0..<50 {
            after = try workerPids().workers
            if after.count == before.count && !after.contains(victim) { break }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        #expect(after.count == before.count)
        #expect(!after.contains(victim))
    }

    @Test("while the database is down requests get 503 with Retry-After; after it is back they recover by themselves")
    func databaseRestart() async throws {
        let tenant = try TestTenant.make()
        let (id, _) = try await tenant.client.createUser("survivor@example.com")
        let (_, workersBefore) = try workerPids()
        try Stack.quickstart("db-stop", "fast")
        do {
            for _ in 0..<4 {
                let response = try await tenant.client.get("/Users/\(id)")
                expectSCIMError(response, status: 503)
                #expect(response.header("Retry-After") != nil)
            }
        } catch {
            try Stack.quickstart("db-start")
            throw error
        }
        try Stack.quickstart("db-start")
        // Every worker had its connection cut; each must reconnect on its own.
        for _ in 0..<20 {
            let response = try await tenant.client.get("/Users/\(id)")
            #expect(response.status == 200, "\(response.text)")
        }
        let created = try await tenant.client.post("/Users", #"{"userName":"after-restart@example.com"}"#)
        #expect(created.status == 201)
        #expect(try workerPids().workers.sorted() == workersBefore.sorted(), "no worker crashed")
    }

    @Test("the database restarted (immediate) under a stream of writes: every acknowledged write is there once")
    func restartUnderLoad() async throws {
        let tenant = try TestTenant.make()
        var acknowledged: [String] = []
        var failures: [Int] = []
        for i in 0..<60 {
            if i == 20 { try Stack.quickstart("db-stop", "immediate") }
            if i == 30 { try Stack.quickstart("db-start") }
            let name = "load\(i)@example.com"
            let response = try await tenant.client.post("/Users", #"{"userName":"\#(name)"}"#)
            if response.status == 201 { acknowledged.append(name) } else { failures.append(response.status) }
        }
        #expect(failures.allSatisfy { $0 == 503 }, "\(failures)")
        #expect(acknowledged.count >= 45)
        for name in acknowledged {
            let found = try await tenant.client.filterUsers(#"userName eq "\#(name)""#)
            #expect(found.object?["totalResults"] == .integer(1), "\(name)")
        }
    }
}
