#if canImport(Glibc)
@preconcurrency import Glibc
#endif

extension ProcessActivitySample {
    /// This process now: `/proc/self/statm` (its third field counts resident file-backed and shared pages; the
    /// nucleus maps no shared memory, so that is its code and read-only data) and its CPU clock. Nil when either
    /// cannot be read.
    public static func current() -> ProcessActivitySample? {
        guard let pages = ResidentPages.current() else { return nil }
        var time = timespec()
        guard clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time) == 0 else { return nil }
        return ProcessActivitySample(residentFileKB: pages.fileKB, cpuTime: .seconds(time.tv_sec) + .nanoseconds(time.tv_nsec))
    }
}
