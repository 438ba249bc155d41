import Testing
@testable import SCIMCore

@Suite("Read counts summed in the worker")
struct ReadTallyTests {
    @Test("sums are taken in the table's key order, so workers writing at once lock shared rows in one order")
    func takenInKeyOrder() {
        let tally = ReadTally(wallClock: { 1_800_000_000 })
        let added = [("b-tenant", "k2", "Users"), ("a-tenant", "k9", "Groups"), ("b-tenant", nil, "Users"),
                     ("a-tenant", "k1", "Users"), ("b-tenant", "k2", "Groups"), ("a-tenant", "k1", "Groups")]
        for (tenant, key, endpoint) in added.shuffled() {
            tally.add(tenantId: tenant, keyPrefix: key, endpoint: endpoint, milliseconds: 1)
        }
        tally.add(tenantId: "a-tenant", keyPrefix: "k1", endpoint: "Users", milliseconds: 3)
        let taken = tally.take()
        #expect(taken.map { "\($0.tenantId) \($0.keyPrefix ?? "") \($0.endpoint)" } == [
            "a-tenant k1 Groups", "a-tenant k1 Users", "a-tenant k9 Groups",
            "b-tenant  Users", "b-tenant k2 Groups", "b-tenant k2 Users",
        ])
        #expect(taken[1].requests == 2 && taken[1].maxMilliseconds == 3)
        #expect(tally.take().isEmpty)
    }
}
