import Logging
import SCIMCore
#if canImport(Glibc)
import Glibc
#endif

/// The prefork parent. It forks workers before any thread exists, replaces a worker that dies,
/// on SIGHUP starts a fresh set and retires the old one (the socket stays open, so no request is
/// refused), and on SIGTERM/SIGINT asks every worker to finish and exits 0 once they have.
/// Beside the workers it keeps one housekeeper, a process that serves no requests, for the work
/// no request should wait for: a worker busy with it would leave the next request waiting in the
/// socket's queue (or on a connection it keeps open for a FastCGI client that asks for that).
/// It handles signals with `sigwait` only:
/// no handlers, no threads.
public final class Supervisor {
    /// Runs a worker; its argument is the worker's position on the board (nil without one).
    public typealias WorkerMain = (Int?) -> Int32
    /// Runs the housekeeper until SIGTERM.
    public typealias HousekeeperMain = () -> Int32

    let workerCount: Int
    let logger: Logger
    let workerMain: WorkerMain
    let housekeeperMain: HousekeeperMain?
    let shutdownGraceSeconds: Int
    /// Where workers say which tenant they serve; each live worker has its own position.
    let board: WorkerBoard?
    private var positions: [pid_t: Int] = [:]
    private var workers: Set<pid_t> = []
    private var retiring: Set<pid_t> = []
    private var recentExits: [Int64] = []
    private var housekeeper: pid_t?

    public init(workerCount: Int, shutdownGraceSeconds: Int = 30, board: WorkerBoard? = nil, logger: Logger,
                housekeeperMain: HousekeeperMain? = nil, workerMain: @escaping WorkerMain) {
        self.workerCount = max(1, workerCount)
        self.board = board
        self.shutdownGraceSeconds = shutdownGraceSeconds
        self.logger = logger
        self.workerMain = workerMain
        self.housekeeperMain = housekeeperMain
    }

    public func run() -> Int32 {
        var signals = sigset_t()
        sigemptyset(&signals)
        for signal in [SIGTERM, SIGINT, SIGHUP, SIGCHLD] { sigaddset(&signals, signal) }
        sigprocmask(SIG_BLOCK, &signals, nil)
        for _ in 0..<workerCount { spawn() }
        spawnHousekeeper()
        logger.info("supervisor started", metadata: ["workers": "\(workerCount)"])
        while true {
            var received: Int32 = 0
            guard sigwait(&signals, &received) == 0 else { continue }
            switch received {
            case SIGCHLD:
                reap(respawn: true)
            case SIGHUP:
                logger.info("replacing workers (SIGHUP)")
                let old = workers
                retiring.formUnion(old)
                workers.subtract(old)
                for _ in 0..<workerCount { spawn() }
                for pid in old { kill(pid, SIGTERM) }
                if let old = housekeeper {
                    retiring.insert(old)
                    housekeeper = nil
                    kill(old, SIGTERM)
                    spawnHousekeeper()
                }
            default:
                return shutDown(signals: signals)
            }
        }
    }

    private func spawn() {
        // Old and new workers overlap after SIGHUP: the board has room for both sets.
        let taken = Set(positions.values)
        let position = board.flatMap { board in (0..<board.capacity).first { !taken.contains($0) } }
        if let position { board?.set(position, to: 0) }
        guard let pid = fork(running: { workerMain(position) }) else { return }
        workers.insert(pid)
        if let position { positions[pid] = position }
    }

    private func spawnHousekeeper() {
        guard let housekeeperMain else { return }
        housekeeper = fork(running: housekeeperMain)
    }

    /// Forks a child that runs `main` with SIGTERM and SIGINT still blocked (it looks for them
    /// itself) and exits with its status; nil when fork failed.
    private func fork(running main: () -> Int32) -> pid_t? {
        // A child that keeps dying right away (a broken configuration) must not make us fork in a
        // tight loop: above 10 exits in 10 s, wait a second before each new one.
        let now = monotonicNanoseconds()
        recentExits.removeAll { now - $0 > 10_000_000_000 }
        if recentExits.count > 10 { sleep(1) }
        let pid = Glibc.fork()
        if pid == 0 {
            var none = sigset_t()
            sigemptyset(&none)
            sigaddset(&none, SIGHUP)
            sigaddset(&none, SIGCHLD)
            sigprocmask(SIG_UNBLOCK, &none, nil)
            signal(SIGHUP, SIG_IGN)
            _exit(main())
        }
        if pid < 0 {
            logger.error("fork failed", metadata: ["errno": "\(errno)"])
            return nil
        }
        return pid
    }

    private func reap(respawn: Bool) {
        while true {
            var status: Int32 = 0
            let pid = waitpid(-1, &status, WNOHANG)
            if pid <= 0 { return }
            // A worker that died mid-request must not stay counted for its tenant.
            if let position = positions.removeValue(forKey: pid) { board?.set(position, to: 0) }
            if retiring.remove(pid) != nil { continue }
            if pid == housekeeper {
                housekeeper = nil
                logger.warning("housekeeper exited", metadata: ["housekeeper_pid": "\(pid)"])
                recentExits.append(monotonicNanoseconds())
                if respawn { spawnHousekeeper() }
                continue
            }
            guard workers.remove(pid) != nil else { continue }
            let signaled = (status & 0x7f) != 0
            logger.warning("worker exited", metadata: [
                "worker_pid": "\(pid)", signaled ? "signal" : "status": "\(signaled ? status & 0x7f : (status >> 8) & 0xff)",
            ])
            recentExits.append(monotonicNanoseconds())
            if respawn { spawn() }
        }
    }

    private func shutDown(signals: sigset_t) -> Int32 {
        logger.info("shutting down: workers finish their requests")
        let all = workers.union(retiring).union(housekeeper.map { [$0] } ?? [])
        retiring = all
        workers = []
        housekeeper = nil
        for pid in all { kill(pid, SIGTERM) }
        var mask = signals
        let deadline = monotonicNanoseconds() + Int64(shutdownGraceSeconds) * 1_000_000_000
        while !retiring.isEmpty {
            reap(respawn: false)
            if retiring.isEmpty { break }
            let remaining = deadline - monotonicNanoseconds()
            if remaining <= 0 {
                logger.warning("workers did not stop in time; killing them", metadata: ["count": "\(retiring.count)"])
                for pid in retiring { kill(pid, SIGKILL) }
                while waitpid(-1, nil, 0) > 0 {}
                break
            }
            var timeout = timespec(tv_sec: Int(min(remaining / 1_000_000_000, 1)), tv_nsec: 200_000_000)
            _ = sigtimedwait(&mask, nil, &timeout)
        }
        logger.info("stopped")
        return 0
    }
}
