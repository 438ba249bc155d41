import Foundation
import Testing
@testable import SCIMCore

/// The provisioning log is kept by the responder itself: no scimctl, no cron.
@Suite("The responder keeps the provisioning log by itself", .serialized, .enabled(if: Stack.available))
struct LogMaintenanceTests {
    @Test("fresh workers run the log's maintenance when it is due: partitions ahead, months past the retention dropped")
    func workersMaintainTheLog() async throws {
        let (_, project) = try Stack.require()
        // A month past any retention, made by hand as a stale partition would be, and the last run long ago.
        let stale = "provisioning_log_200001"
        _ = try FaultSuiteTests.ownerValue("""
            create table if not exists scim.\(stale) partition of scim.provisioning_log for values from ('2000-01-01') to ('2000-02-01');
            update scim.log_retention set last_run_at = now() - interval '2 hours' where singleton;
            select 1
            """)
        let supervisorText = try String(contentsOfFile: "\(project)/.local/run/scim-fcgi.pid", encoding: .utf8)
        let supervisor = try #require(Int32(supervisorText.trimmingCharacters(in: .whitespacesAndNewlines)))
        kill(supervisor, SIGHUP)
        var lastRun = ""
        for _ in 0..<100 {
            lastRun = try FaultSuiteTests.ownerValue("select (last_run_at > now() - interval '1 minute')::text from scim.log_retention")
            if lastRun == "true" { break }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        #expect(lastRun == "true", "no worker ran the maintenance after SIGHUP")
        #expect(try FaultSuiteTests.ownerValue("select count(*) from pg_class where relname = '\(stale)'") == "0",
                "the month of January 2000 was dropped")
        let ahead = try FaultSuiteTests.ownerValue("""
            select count(*) from generate_series(0, 3) as i
            where to_regclass('scim.provisioning_log_' || to_char(now() + make_interval(months => i), 'YYYYMM')) is not null
            """)
        #expect(ahead == "4", "this month and the next three have partitions")
        // Done within the hour: a second round of fresh workers does not run it again.
        let firstRun = try FaultSuiteTests.ownerValue("select last_run_at from scim.log_retention")
        kill(supervisor, SIGHUP)
        try await Task.sleep(nanoseconds: 1_500_000_000)
        #expect(try FaultSuiteTests.ownerValue("select last_run_at from scim.log_retention") == firstRun)
    }
}
