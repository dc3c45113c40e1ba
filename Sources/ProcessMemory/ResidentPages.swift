#if canImport(Glibc)
@preconcurrency import Glibc
#endif

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
