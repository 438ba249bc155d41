import Logging
#if canImport(Glibc)
import Glibc
#endif

/// The loop of the supervisor's housekeeper: `work` every quarter second until SIGTERM or SIGINT
/// (blocked since the fork and taken with `sigtimedwait`, so a stop never cuts a piece of work).
public enum Housekeeper {
    public static func run(logger: Logger, _ work: () -> Void) -> Int32 {
        var stopSignals = sigset_t()
        sigemptyset(&stopSignals)
        sigaddset(&stopSignals, SIGTERM)
        sigaddset(&stopSignals, SIGINT)
        sigprocmask(SIG_BLOCK, &stopSignals, nil)
        logger.info("housekeeper started")
        while true {
            var quarterSecond = timespec(tv_sec: 0, tv_nsec: 250_000_000)
            let received = sigtimedwait(&stopSignals, nil, &quarterSecond)
            if received == SIGTERM || received == SIGINT { return 0 }
            work()
        }
    }
}
