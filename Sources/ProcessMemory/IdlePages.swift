import CMalloc
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Hands back to the kernel the code and read-only data pages this process has mapped but no longer uses.
///
/// The kernel maps file pages in 64 KiB windows around each page fault ("fault-around"), so the code that start-up
/// and a deployment ran — and everything next to it — stays mapped long after it ran: 20.4 MB resident at idle, of
/// which 8 MB was touched in 10 s of idle (issue 16, BENCHMARKS.md §8). `MADV_DONTNEED` on a clean, private,
/// read-only file mapping only unmaps its pages: they stay in the page cache, and the next touch maps them back
/// with a minor fault, so nothing the process reads changes; what it holds shrinks to what it runs.
public struct IdlePages: Sendable {
    let startupFiles: Set<String>

    /// Records the files mapped now: only their mappings are ever returned. Call it at process start, before any
    /// `dlopen`, so that a library mapped later (whose relocation could race with a return) is never touched.
    public static func recordingStartupMappings() -> IdlePages {
        IdlePages(startupFiles: FileMappingTable.mappedFiles(maps: readProcFile("/proc/self/maps") ?? ""))
    }

    init(startupFiles: Set<String>) {
        self.startupFiles = startupFiles
    }

    /// What one return released.
    public struct Returned: Equatable, Sendable {
        public var mappings = 0
        public var residentKB = 0
        /// Anonymous resident kB the allocator handed back (see ``returnToKernel()``).
        public var heapKB = 0
    }

    /// Unmaps the resident pages of every returnable mapping (see ``FileMapping/isReturnable(startupFiles:)``), and
    /// has the allocator hand back the whole free pages inside its heaps: glibc gives back on its own only the free
    /// memory at the top of a heap, so a burst of traffic leaves freed pages resident below what is still in use, in
    /// every event loop thread's arena (0.2–0.4 MB after 10,000 messages, BENCHMARKS.md §8).
    @discardableResult
    public func returnToKernel() -> Returned {
        var returned = Returned()
        // A debugger's breakpoints are private copies of code pages; never race one that is attached.
        guard !Self.isTraced(status: Self.readProcFile("/proc/self/status") ?? ""),
            let smaps = Self.readProcFile("/proc/self/smaps")
        else { return returned }
        for mapping in FileMappingTable.parse(smaps: smaps) where mapping.isReturnable(startupFiles: startupFiles) {
            guard let address = UnsafeMutableRawPointer(bitPattern: mapping.start),
                madvise(address, Int(mapping.end - mapping.start), MADV_DONTNEED) == 0
            else { continue }
            returned.mappings += 1
            returned.residentKB += mapping.residentKB
        }
        let before = ResidentPages.current()
        malloc_trim(0)
        if let before, let after = ResidentPages.current() { returned.heapKB = max(0, before.anonymousKB - after.anonymousKB) }
        return returned
    }

    /// Whether `/proc/self/status` names a tracer (`TracerPid:` other than 0).
    static func isTraced(status: String) -> Bool {
        for line in status.split(separator: "\n") where line.hasPrefix("TracerPid:") {
            return line.dropFirst("TracerPid:".count).drop(while: { $0 == "\t" || $0 == " " }) != "0"
        }
        return false
    }

    /// The whole of a `/proc` file (they report size 0, so read until end of file, bounded at 16 MiB: a process
    /// with so many mappings that its table is larger is left as it is); nil when it cannot be opened or is larger.
    /// `chunk` bytes are read at a time: a one-line file such as `statm`, read every 10 s, needs no 64 KiB buffer.
    static func readProcFile(_ path: String, chunk chunkSize: Int = 64 * 1024) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            bytes.append(contentsOf: chunk[..<count])
            // A truncated table would cut a mapping's fields off: better no return than one on partial facts.
            guard bytes.count <= 16 << 20 else { return nil }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
