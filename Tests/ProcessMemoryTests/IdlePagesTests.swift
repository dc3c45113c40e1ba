import GreengrassTestSupport
import Testing

@testable import ProcessMemory

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// A file of `pages` pages, page `i` filled with byte `i + 1`, mapped into this process.
private final class MappedFile {
    static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))
    let path: String
    let pages: Int
    let base: UnsafeMutableRawPointer
    var length: Int { pages * Self.pageSize }

    init(in directory: TemporaryDirectory, name: String, pages: Int, protection: Int32) throws {
        path = directory.file(name)
        self.pages = pages
        let descriptor = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o600)
        #expect(descriptor >= 0)
        defer { close(descriptor) }
        for page in 0..<pages {
            let bytes = [UInt8](repeating: UInt8(page + 1), count: Self.pageSize)
            #expect(bytes.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) } == Self.pageSize)
        }
        let mapped = mmap(nil, pages * Self.pageSize, protection, MAP_PRIVATE, descriptor, 0)
        #expect(mapped != MAP_FAILED)
        base = mapped!
    }

    deinit { munmap(base, length) }

    func touchAll() -> Int {
        (0..<pages).reduce(0) { $0 + Int(base.load(fromByteOffset: $1 * Self.pageSize, as: UInt8.self)) }
    }

    /// Resident kB of this mapping, from `/proc/self/smaps`.
    var residentKB: Int {
        let start = UInt(bitPattern: base)
        return FileMappingTable.parse(smaps: IdlePages.readProcFile("/proc/self/smaps") ?? "")
            .first { $0.start == start }?.residentKB ?? -1
    }
}

@Suite(.serialized) struct IdlePagesTests {
    @Test func cleanReadOnlyMappingsAreUnmappedAndReadBackUnchanged() throws {
        let directory = try TemporaryDirectory(prefix: "idle")
        let file = try MappedFile(in: directory, name: "code", pages: 32, protection: PROT_READ)
        let sum = file.touchAll()
        #expect(file.residentKB == 32 * MappedFile.pageSize / 1024)

        let returned = IdlePages(startupFiles: [file.path]).returnToKernel()

        #expect(returned.mappings == 1)
        #expect(returned.residentKB == 32 * MappedFile.pageSize / 1024)
        #expect(file.residentKB == 0)
        #expect(file.touchAll() == sum, "the pages map back from the file with the same bytes")
    }

    @Test func copiedPagesOfAReadOnlyMappingAreKept() throws {
        // As RELRO: written while writable, then made read-only. Dropping it would revert the writes.
        let directory = try TemporaryDirectory(prefix: "idle")
        let file = try MappedFile(in: directory, name: "relro", pages: 4, protection: PROT_READ | PROT_WRITE)
        file.base.storeBytes(of: 0xEE, toByteOffset: 0, as: UInt8.self)
        #expect(mprotect(file.base, file.length, PROT_READ) == 0)

        let returned = IdlePages(startupFiles: [file.path]).returnToKernel()

        #expect(returned.mappings == 0)
        #expect(file.base.load(fromByteOffset: 0, as: UInt8.self) == 0xEE)
    }

    @Test func freePagesInsideTheHeapGoBackToo() throws {
        // 8 MiB in small blocks, then all freed but the last: the free memory lies below a block in use, where
        // glibc does not give it back on its own.
        let blocks = (0..<32_768).map { _ in malloc(256)! }
        for block in blocks { memset(block, 0x5A, 256) }
        for block in blocks.dropLast() { free(block) }
        defer { free(blocks.last) }

        let returned = IdlePages(startupFiles: []).returnToKernel()

        #expect(returned.mappings == 0)
        #expect(returned.heapKB >= 4_096, "most of the 8 MiB freed comes back")
    }

    @Test func threadTeardownRunsAThreadToItsEnd() {
        #expect(ThreadTeardown.bindNow())
        #expect(ThreadTeardown.bindNow(), "and again: each call starts and joins its own thread")
    }

    @Test func procFilesAreReadWholeInSmallChunks() throws {
        let directory = try TemporaryDirectory(prefix: "idle")
        let text = String(repeating: "0123456789abcdef\n", count: 100)
        let path = directory.file("table")
        let descriptor = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        #expect(Array(text.utf8).withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) } == text.utf8.count)
        close(descriptor)

        #expect(IdlePages.readProcFile(path, chunk: 7) == text, "1,700 bytes read 7 at a time")
        #expect(IdlePages.readProcFile(path) == text)
        #expect(IdlePages.readProcFile(directory.file("missing"), chunk: 7) == nil)
    }

    @Test func writableMappingsAndFilesMappedAfterTheRecordAreKept() throws {
        let directory = try TemporaryDirectory(prefix: "idle")
        let recorded = IdlePages.recordingStartupMappings()
        let later = try MappedFile(in: directory, name: "later", pages: 4, protection: PROT_READ)
        let writable = try MappedFile(in: directory, name: "data", pages: 4, protection: PROT_READ | PROT_WRITE)
        _ = later.touchAll()
        _ = writable.touchAll()

        _ = recorded.returnToKernel()
        _ = IdlePages(startupFiles: [writable.path]).returnToKernel()

        #expect(later.residentKB == 4 * MappedFile.pageSize / 1024)
        #expect(writable.residentKB == 4 * MappedFile.pageSize / 1024)
    }
}
