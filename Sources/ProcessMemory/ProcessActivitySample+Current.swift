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

/// This process's resident pages as `/proc/self/statm` counts them, in kB.
struct ResidentPages: Equatable {
    var residentKB: Int
    /// File-backed and shared: code and read-only data.
    var fileKB: Int
    var anonymousKB: Int { residentKB - fileKB }

    static func current() -> ResidentPages? {
        IdlePages.readProcFile("/proc/self/statm", chunk: 256).flatMap { parse(statm: $0, pageKB: Int(sysconf(Int32(_SC_PAGESIZE))) / 1024) }
    }

    /// The second and third fields of a `statm` line ("size resident shared text lib data dt", in pages).
    static func parse(statm: String, pageKB: Int) -> ResidentPages? {
        let fields = statm.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard fields.count >= 3, let resident = Int(fields[1]), let file = Int(fields[2]) else { return nil }
        return ResidentPages(residentKB: resident * pageKB, fileKB: file * pageKB)
    }
}
