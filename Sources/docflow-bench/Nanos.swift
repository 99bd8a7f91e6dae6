#if canImport(Glibc)
    import Glibc
#endif

/// Monotonic time in nanoseconds: every latency and rate of the benchmark is measured on it.
enum Nanos {
    static func now() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_MONOTONIC, &spec)
        return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
    }

    static func seconds(_ nanos: UInt64) -> Double { Double(nanos) / 1e9 }

    /// Blocks the calling thread until the monotonic instant `deadline`.
    static func sleepBlocking(until deadline: UInt64) {
        var spec = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
        while clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &spec, nil) == EINTR {}
    }
}
