import SCIMCore
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Which tenant each worker of this supervisor is serving right now: one word per worker in
/// memory shared by the forked workers (mapped before the first fork), so a worker can count how
/// many of its siblings one tenant occupies without asking anyone. A word holds a hash of the
/// tenant's id, 0 while the worker serves no authenticated request. The supervisor clears the
/// word of a worker that died, so a crash mid-request never leaves a tenant counted.
public final class WorkerBoard: @unchecked Sendable {
    public let capacity: Int
    private let words: UnsafeMutablePointer<Atomic<UInt64>>

    /// Room for `capacity` workers; nil when the shared mapping cannot be made.
    public init?(capacity: Int) {
        let bytes = MemoryLayout<Atomic<UInt64>>.stride * max(1, capacity)
        guard let mapped = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0),
              mapped != MAP_FAILED else { return nil }
        self.capacity = max(1, capacity)
        words = mapped.bindMemory(to: Atomic<UInt64>.self, capacity: self.capacity)
        for position in 0..<self.capacity { (words + position).initialize(to: Atomic(0)) }
    }

    func set(_ position: Int, to value: UInt64) {
        words[position].store(value, ordering: .sequentiallyConsistent)
    }

    /// Workers serving `tenant`, and workers serving any other tenant.
    func occupancy(of tenant: UInt64) -> (tenant: Int, others: Int) {
        var same = 0, others = 0
        for position in 0..<capacity {
            let value = words[position].load(ordering: .sequentiallyConsistent)
            if value == tenant { same += 1 } else if value != 0 { others += 1 }
        }
        return (same, others)
    }

    /// The board's word for a tenant id (FNV-1a; never 0, which means idle).
    static func word(for tenant: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in tenant.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash == 0 ? 1 : hash
    }
}

/// One worker's admission on the board (`FairShare` decides): it writes its tenant first and then
/// counts, so two workers admitting the same tenant at once both see each other (at worst both
/// refuse, and the client retries after a second).
public final class BoardAdmission: WorkerAdmission {
    let board: WorkerBoard
    let position: Int
    let share: FairShare

    public init(board: WorkerBoard, position: Int, share: FairShare) {
        self.board = board
        self.position = position
        self.share = share
    }

    public func enter(tenant: String) -> Bool {
        let word = WorkerBoard.word(for: tenant)
        board.set(position, to: word)
        let (tenantWorkers, otherWorkers) = board.occupancy(of: word)
        if share.admits(tenantWorkers: tenantWorkers, otherTenantsWorkers: otherWorkers) { return true }
        board.set(position, to: 0)
        return false
    }

    public func leave() {
        board.set(position, to: 0)
    }

    public var refusal: SCIMError { share.refusal }
}
