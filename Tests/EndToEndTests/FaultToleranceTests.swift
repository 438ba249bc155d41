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
        let (baseURL, _) = try Stack.require()
        let root = SCIMClient(base: baseURL, token: nil)
        #expect(try await root.get("/readyz").status == 200)
        try Stack.quickstart("db-stop", "fast")
        do {
            #expect(try await root.get("/healthz").status == 200, "liveness does not depend on the database")
            expectSCIMError(try await root.get("/readyz"), status: 503)
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
        let created = try await tenant.client.post("/Users", #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"after-restart@example.com"}"#)
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
            let response = try await tenant.client.post("/Users", #"{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"\#(name)"}"#)
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

/// Stopping and reloading the responder. Serialized, and last: they restart the responder.
@Suite("Responder lifecycle: SIGHUP and SIGTERM under requests", .serialized, .enabled(if: Stack.available))
struct ResponderLifecycleTests {
    func supervisorPid() throws -> Int32 {
        let (_, project) = try Stack.require()
        let text = try String(contentsOfFile: "\(project)/.local/run/scim-fcgi.pid", encoding: .utf8)
        return try #require(Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)))
    }

    /// The supervisor's worker processes; not being able to tell is a failure, not "none".
    func workers(of supervisor: Int32) throws -> [Int32] {
        let children = try String(contentsOfFile: "/proc/\(supervisor)/task/\(supervisor)/children", encoding: .utf8)
        return children.split(separator: " ").compactMap { Int32($0) }
    }

    /// Sends `requests` GETs from `concurrency` tasks, calling `midway` once part of them are done.
    func burst(_ client: SCIMClient, requests: Int, concurrency: Int, midway: @escaping @Sendable () -> Void) async -> [Int] {
        await withTaskGroup(of: [Int].self) { group in
            for lane in 0..<concurrency {
                group.addTask {
                    var statuses: [Int] = []
                    for i in 0..<(requests / concurrency) {
                        if lane == 0 && i == requests / concurrency / 3 { midway() }
                        statuses.append((try? await client.get("/Users?count=1").status) ?? -1)
                    }
                    return statuses
                }
            }
            return await group.reduce(into: []) { $0 += $1 }
        }
    }

    @Test("SIGHUP replaces every worker without a failed request")
    func reload() async throws {
        let tenant = try TestTenant.make()
        let supervisor = try supervisorPid()
        let before = try workers(of: supervisor)
        #expect(!before.isEmpty, "the supervisor's workers are visible")
        let statuses = await burst(tenant.client, requests: 400, concurrency: 8) { kill(supervisor, SIGHUP) }
        #expect(statuses.allSatisfy { $0 == 200 }, "\(Dictionary(grouping: statuses, by: { $0 }).mapValues(\.count))")
        var after: [Int32] = []
        for _ in 0..<50 {
            after = try workers(of: supervisor)
            if after.count == before.count && Set(after).isDisjoint(with: before) { break }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        #expect(after.count == before.count)
        #expect(Set(after).isDisjoint(with: before), "all workers are new")
    }

    @Test("after SIGHUP a retiring worker goes on answering on the connection it keeps, and leaves once the peer closes it")
    func retiringWorkerServesKeptConnection() async throws {
        let tenant = try TestTenant.make()
        let supervisor = try supervisorPid()
        let before = try workers(of: supervisor)
        do {
            let connection = try FastCGIConnectionTests.Connection()
            connection.send(FastCGIConnectionTests.parameters(tenant, path: "/Users?count=0"), keep: true)
            #expect(connection.answer().status == 200)
            kill(supervisor, SIGHUP)
            try await Task.sleep(nanoseconds: 500_000_000)
            // nginx could be writing a request into a kept connection at any moment: a worker that
            // closed it on its way out would fail that request.
            connection.send(FastCGIConnectionTests.parameters(tenant, path: "/Users?count=0"), keep: true)
            let (status, ended) = connection.answer()
            #expect(status == 200 && ended, "the retiring worker answered on its kept connection: \(status)")
            #expect(connection.isOpenAtResponder, "and kept it open")
        }
        // nginx closes the connections it keeps to the old workers after 2 s unused.
        var after: [Int32] = []
        for _ in 0..<60 {
            after = try workers(of: supervisor)
            if after.count == before.count && Set(after).isDisjoint(with: before) { break }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        #expect(after.count == before.count, "the old workers and housekeeper left: \(before) -> \(after)")
        #expect(Set(after).isDisjoint(with: before), "every worker and the housekeeper are new")
    }

    @Test("a housekeeper that dies is replaced, and the workers go on serving")
    func housekeeperReplaced() async throws {
        let tenant = try TestTenant.make()
        let (_, project) = try Stack.require()
        let supervisor = try supervisorPid()
        let logPath = "\(project)/.local/log/scim-fcgi.log"
        /// The pid of the last "housekeeper started" line from byte `offset` of the log on (the log
        /// holds every request of the suite: searched as bytes, from its end).
        func lastHousekeeper(from offset: UInt64) throws -> Int32? {
            let file = try #require(FileHandle(forReadingAtPath: logPath))
            defer { try? file.close() }
            try file.seek(toOffset: offset)
            let log = file.readDataToEndOfFile()
            guard let mark = log.range(of: Data("\"housekeeper started\"".utf8), options: .backwards) else { return nil }
            let start = log[..<mark.lowerBound].lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? log.startIndex
            let end = log[mark.upperBound...].firstIndex(of: UInt8(ascii: "\n")) ?? log.endIndex
            let object = try JSONSerialization.jsonObject(with: log[start..<end]) as? [String: Any]
            return (object?["pid"] as? Int).map(Int32.init)
        }
        let children = try workers(of: supervisor)
        let housekeeper = try #require(try lastHousekeeper(from: 0).flatMap { children.contains($0) ? $0 : nil },
                                       "the supervisor's children include the housekeeper that logged its start")
        let logSize = try #require(try FileManager.default.attributesOfItem(atPath: logPath)[.size] as? NSNumber).uint64Value
        kill(housekeeper, SIGKILL)
        var replacement: Int32?
        for _ in 0..<50 {
            let current = try workers(of: supervisor)
            if let started = try lastHousekeeper(from: logSize), started != housekeeper, current.contains(started),
               current.count == children.count {
                replacement = started
                break
            }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        #expect(replacement != nil, "a new housekeeper started")
        #expect(try await tenant.client.get("/Users?count=0").status == 200)
    }

    @Test("SIGTERM under requests: no request is cut off mid-way, the responder exits 0, and starts again")
    func gracefulStop() async throws {
        let tenant = try TestTenant.make()
        let (_, project) = try Stack.require()
        let supervisor = try supervisorPid()
        let errorLog = "\(project)/.local/log/nginx-error.log"
        let errorLogBefore = (try? Stack.logText(errorLog))?.count ?? 0
        let statuses = await burst(tenant.client, requests: 300, concurrency: 6) { kill(supervisor, SIGTERM) }
        // Requests after the socket closed are refused by nginx with its SCIM-shaped 502; none may fail otherwise.
        #expect(statuses.allSatisfy { $0 == 200 || $0 == 502 }, "\(Dictionary(grouping: statuses, by: { $0 }).mapValues(\.count))")
        #expect(statuses.contains(200))
        var exited = false
        for _ in 0..<100 {
            if kill(supervisor, 0) != 0 { exited = true; break }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        #expect(exited)
        try await Task.sleep(nanoseconds: 300_000_000)
        let status = try String(contentsOfFile: "\(project)/.local/run/scim-fcgi.exit", encoding: .utf8)
        #expect(status.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
        let log = String((try Stack.logText(errorLog)).dropFirst(errorLogBefore))
        #expect(!log.contains("prematurely closed"), "an in-flight request was cut off: \(log)")
        let refused = try await tenant.client.get("/Users")
        expectSCIMError(refused, status: 502)

        try Stack.quickstart("responder-start")
        #expect(try await tenant.client.get("/Users").status == 200)
    }

    @Test("the production nginx site configuration is valid")
    func productionConfig() throws {
        let (_, project) = try Stack.require()
        let directory = NSTemporaryDirectory() + "scim-nginx-\(UUID().uuidString)"
        let script = """
            set -e
            mkdir -p '\(directory)/snippets' '\(directory)/logs'
            cp '\(project)/deploy/nginx/scim-fastcgi.conf' '\(project)/deploy/nginx/scim-error-codes.conf' '\(project)/deploy/nginx/scim-error-pages.conf' \\
               '\(project)/deploy/nginx/scim-admin-access.conf' '\(project)/deploy/nginx/scim-metrics-access.conf' '\(directory)/snippets/'
            openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=scim.example.com -days 1 \
                -keyout '\(directory)/key.pem' -out '\(directory)/cert.pem' 2>/dev/null
            sed -e 's|/etc/letsencrypt/live/scim.example.com/fullchain.pem|\(directory)/cert.pem|' \
                -e 's|/etc/letsencrypt/live/scim.example.com/privkey.pem|\(directory)/key.pem|' \
                -e 's|/var/log/nginx/|\(directory)/logs/|' \
                -e 's|listen 443|listen 127.0.0.1:18443|; s|listen \\[::\\]:443|listen [::1]:18443|' \
                -e 's|listen 80|listen 127.0.0.1:18080|; s|listen \\[::\\]:80|listen [::1]:18080|' \
                '\(project)/deploy/nginx/scim-site.conf' > '\(directory)/site.conf'
            printf 'pid \(directory)/nginx.pid;\\nerror_log \(directory)/logs/error.log;\\nevents {}\\nhttp {\\n include /etc/nginx/mime.types;\\n include \(directory)/site.conf;\\n}\\n' > '\(directory)/nginx.conf'
            nginx -t -q -p '\(directory)' -c '\(directory)/nginx.conf'
            """
        let (status, output) = try Stack.run("/bin/bash", ["-c", script])
        #expect(status == 0, "\(output)")
    }
}
