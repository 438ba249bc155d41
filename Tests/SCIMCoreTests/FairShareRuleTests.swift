import Testing
@testable import SCIMCore

@Suite("The fair share of workers and the request deadline")
struct FairShareRuleTests {
    @Test("a tenant within its share is admitted; beyond it only while no other tenant is served")
    func admission() {
        let share = FairShare(cap: 2)
        #expect(share.admits(tenantWorkers: 1, otherTenantsWorkers: 3))
        #expect(share.admits(tenantWorkers: 2, otherTenantsWorkers: 1))
        #expect(!share.admits(tenantWorkers: 3, otherTenantsWorkers: 1))
        #expect(share.admits(tenantWorkers: 4, otherTenantsWorkers: 0), "alone, a tenant may use every worker")
        #expect(FairShare(cap: 0).cap == 1, "a share is at least one worker")
        let refusal = share.refusal
        #expect(refusal.status == 429)
        #expect(refusal.headers.contains { $0.0 == "Retry-After" && $0.1 == "1" })
    }

    @Test("a deadline counts down on the clock it was given and says how long the limit was")
    func deadline() {
        nonisolated(unsafe) var now: Int64 = 0
        let clock = MonotonicClock { now }
        let deadline = RequestDeadline(seconds: 3, clock: clock)
        #expect(deadline.remainingMilliseconds == 3_000)
        #expect(!deadline.hasPassed)
        now = 2_500_000_000
        #expect(deadline.remainingMilliseconds == 500)
        now = 3_000_000_000
        #expect(deadline.hasPassed)
        #expect(deadline.exceeded.status == 503)
        #expect(deadline.exceeded.detail.contains("3-second"))
    }
}
