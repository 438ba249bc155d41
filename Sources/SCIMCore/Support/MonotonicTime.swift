#if canImport(Glibc)
import Glibc
#endif

/// Nanoseconds on the monotonic clock: what every duration in the project is measured with
/// (request times, statement timings, deadlines through `MonotonicClock`).
public func monotonicNanoseconds() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}
