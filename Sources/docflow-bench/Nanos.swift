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

    /// Sleeps until the monotonic instant `deadline`; returns at once when it has passed.
    static func sleep(until deadline: UInt64) async {
        let now = now()
        guard deadline > now else { return }
        try? await Task.sleep(for: .nanoseconds(Int64(deadline - now)))
    }
}
