#if canImport(Glibc)
@preconcurrency import Glibc
#endif

extension ProcessActivitySample {
    /// This process now: `/proc/self/statm` (its third field counts resident file-backed and shared pages; the
    /// nucleus maps no shared memory, so that is its code and read-only data) and its CPU clock. Nil when either
    /// cannot be read.
    public static func current() -> ProcessActivitySample? {
        guard let statm = IdlePages.readProcFile("/proc/self/statm"), let residentFilePages = residentFilePages(statm: statm) else { return nil }
        var time = timespec()
        guard clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time) == 0 else { return nil }
        let pageKB = Int(sysconf(Int32(_SC_PAGESIZE))) / 1024
        return ProcessActivitySample(
            residentFileKB: residentFilePages * pageKB, cpuTime: .seconds(time.tv_sec) + .nanoseconds(time.tv_nsec))
    }

    /// The third field of a `statm` line ("size resident shared text lib data dt", in pages).
    static func residentFilePages(statm: String) -> Int? {
        let fields = statm.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard fields.count >= 3 else { return nil }
        return Int(fields[2])
    }
}
