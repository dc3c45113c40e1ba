import Foundation
import GreengrassTestSupport
import Testing
import ZipExtraction

/// Real archives made by Python's zipfile (on every CI machine), which also writes entries a friendly tool would
/// refuse to make; some are then patched byte by byte to lie.
@Suite("ZIP extraction on disk")
struct ZipExtractorTests {
    let root: TemporaryDirectory
    let archive: String
    let target: String
    let extractor = ZipExtractor(modes: ZipOutputModes(directory: 0o755, file: 0o644, executableFile: 0o755))

    init() throws {
        root = try TemporaryDirectory(prefix: "zipx")
        archive = root.file("in.zip")
        target = root.file("out/bundle")
    }

    /// Runs `body` (Python, `z` an open ZipFile, `path` the archive) and then `patch` (Python over `data`, the
    /// archive's bytes as a bytearray, written back afterwards).
    func makeZip(_ body: String, patch: String = "") async throws {
        let indent = { (code: String) in code.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n") }
        let script = """
            import struct, sys, zipfile
            path = sys.argv[1]
            with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            \(indent(body))
            data = bytearray(open(path, "rb").read())
            local = data.find(b"PK\\x03\\x04")
            central = data.find(b"PK\\x01\\x02")
            \(patch)
            open(path, "wb").write(data)
            """
        let result = try await ChildProcess.run("python3", ["-c", script, archive], timeout: .seconds(30))
        try #require(result.exitCode == 0, "python3 failed: \(result.stderr)")
    }

    func contents(_ path: String) throws -> Data { try Data(contentsOf: URL(fileURLWithPath: path)) }

    func mode(_ path: String) throws -> UInt16 {
        UInt16((try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? -1)
    }

    func exists(_ path: String) -> Bool {
        var status = stat()
        return lstat(path, &status) == 0
    }

    /// Expects a refusal whose message contains every one of `parts`, and no output at all.
    func expectRefusal(_ parts: [String], sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(sourceLocation: sourceLocation) {
            try extractor.extract(archive: archive, into: target)
        } throws: { error in
            parts.allSatisfy { "\(error)".contains($0) }
        }
        #expect(!exists(target), sourceLocation: sourceLocation)
        #expect(!exists(target + ".partial"), sourceLocation: sourceLocation)
    }

    @Test func extractsStoredDeflatedNestedAndUnicodeEntriesWithSafeModes() async throws {
        try await makeZip("""
            z.writestr(zipfile.ZipInfo("stored.txt"), "kept as is")
            z.writestr("deflated.txt", "squeeze " * 1000)
            z.writestr("a/b/c/deep.txt", "deep")
            z.writestr("empty-dir/", "")
            z.writestr("données/été.txt", "accents")
            z.writestr("日本語.txt", "kanji")
            info = zipfile.ZipInfo("bin/run.sh"); info.external_attr = 0o100755 << 16
            z.writestr(info, "#!/bin/sh\\n")
            info = zipfile.ZipInfo("bin/suid"); info.external_attr = 0o104777 << 16
            z.writestr(info, "x")
            z.writestr("big.bin", bytes(range(256)) * 1200)
            """, patch: "assert data[local + 8] == 0  # the first entry is stored")
        try extractor.extract(archive: archive, into: target)

        #expect(try contents(target + "/stored.txt") == Data("kept as is".utf8))
        #expect(try contents(target + "/deflated.txt") == Data(String(repeating: "squeeze ", count: 1000).utf8))
        #expect(try contents(target + "/a/b/c/deep.txt") == Data("deep".utf8))
        #expect(try contents(target + "/données/été.txt") == Data("accents".utf8))
        #expect(try contents(target + "/日本語.txt") == Data("kanji".utf8))
        // Larger than one 64 KiB chunk, so streaming is exercised.
        #expect(try contents(target + "/big.bin") == Data((0..<1200).flatMap { _ in (0...255).map(UInt8.init) }))
        #expect(try FileManager.default.contentsOfDirectory(atPath: target + "/empty-dir").isEmpty)
        for directory in ["", "/a", "/a/b", "/a/b/c", "/empty-dir", "/données", "/bin"] {
            #expect(try mode(target + directory) == 0o755, "\(directory)")
        }
        #expect(try mode(target + "/stored.txt") == 0o644)
        #expect(try mode(target + "/bin/run.sh") == 0o755)
        // Neither setuid nor world-writable bits come from the archive.
        #expect(try mode(target + "/bin/suid") == 0o755)
        #expect(!exists(target + ".partial"))
    }

    /// Streaming writers (Java's ZipOutputStream, `zip` to a pipe) put sizes and CRC in a data descriptor after
    /// the data, leaving zeros in the local header: libzip's consistency check must still accept them.
    @Test func archiveWrittenAsAStreamWithDataDescriptorsExtracts() async throws {
        try await makeZip("pass", patch: """
            import io
            class Pipe(io.RawIOBase):
                def __init__(self): self.chunks = []
                def writable(self): return True
                def write(self, b): self.chunks.append(bytes(b)); return len(b)
            pipe = Pipe()
            with zipfile.ZipFile(pipe, "w", zipfile.ZIP_DEFLATED) as streamed:
                streamed.writestr("streamed/a.txt", "streamed " * 100)
            data[:] = b"".join(pipe.chunks)
            assert data[6] & 0x08, "sizes follow the data"
            """)
        try extractor.extract(archive: archive, into: target)
        #expect(try contents(target + "/streamed/a.txt") == Data(String(repeating: "streamed ", count: 100).utf8))
    }

    @Test func emptyArchiveGivesAnEmptyDirectory() async throws {
        try await makeZip("pass")
        try extractor.extract(archive: archive, into: target)
        #expect(try FileManager.default.contentsOfDirectory(atPath: target).isEmpty)
    }

    @Test(arguments: [
        ("../x", #"z.writestr("../x", "x")"#, "points outside the extraction directory"),
        ("/tmp/gg-absolute-entry", #"z.writestr(zipfile.ZipInfo("/tmp/gg-absolute-entry"), "x")"#, "absolute path"),
        ("link", "info = zipfile.ZipInfo(\"link\"); info.external_attr = 0o120777 << 16\nz.writestr(info, \"/etc/passwd\")", "symbolic link"),
        ("fifo", "info = zipfile.ZipInfo(\"fifo\"); info.external_attr = 0o010644 << 16\nz.writestr(info, \"\")", "FIFO"),
        ("fine.txt/inner", #"z.writestr("fine.txt/inner", "x")"#, "which is a file"),
    ])
    func hostileEntriesAreRefusedBeforeAnythingIsWritten(entry: String, python: String, reason: String) async throws {
        try await makeZip("z.writestr(\"fine.txt\", \"ok\")\n" + python)
        expectRefusal([archive, "\"\(entry)\"", reason])
        #expect(!exists(root.file("out/x")) && !exists(root.file("x")) && !exists("/tmp/gg-absolute-entry"))
    }

    @Test(arguments: [
        // 1 MiB of zeros declared as 1000 bytes: the bound on declared sizes must not be defeated.
        (UInt32(1000), "more than its declared 1000 bytes"),
        // Declared larger than the data: a damaged archive.
        (UInt32(2 << 20), "not its declared 2097152"),
    ])
    func entryWhoseHeadersLieAboutItsSizeIsRefused(declared: UInt32, reason: String) async throws {
        try await makeZip(#"z.writestr("big", b"\0" * (1 << 20))"#, patch: """
            struct.pack_into("<I", data, local + 22, \(declared))
            struct.pack_into("<I", data, central + 24, \(declared))
            """)
        expectRefusal([archive, "\"big\"", reason])
    }

    @Test(arguments: [
        ("truncated", "del data[len(data) // 2:]", "is not a readable ZIP archive"),
        ("corrupt data", "for i in range(40, 60): data[local + 30 + 4 + i] ^= 0xFF", "\"data\" is damaged"),
        ("zero bytes", "del data[:]", "is empty"),
        ("text", "data[:] = b'not a zip at all'", "is not a readable ZIP archive"),
    ])
    func damagedArchiveIsAClearErrorNamingIt(damage: String, patch: String, reason: String) async throws {
        try await makeZip(#"z.writestr("data", bytes(range(256)) * 64)"#, patch: patch)
        expectRefusal([archive, reason])
    }

    @Test func previousExtractionIsReplacedOnlyBySuccess() async throws {
        try await makeZip(#"z.writestr("v1.txt", "one")"#)
        try extractor.extract(archive: archive, into: target)
        try await makeZip(#"z.writestr("v2.txt", "two")"# + "\n" + #"z.writestr("../escape", "x")"#)
        #expect(throws: ZipExtractionError.self) { try extractor.extract(archive: archive, into: target) }
        #expect(try contents(target + "/v1.txt") == Data("one".utf8))

        try await makeZip(#"z.writestr("v2.txt", "two")"#)
        try extractor.extract(archive: archive, into: target)
        #expect(try FileManager.default.contentsOfDirectory(atPath: target) == ["v2.txt"])
    }

    @Test func symbolicLinksAlreadyAtTheDestinationAreRemovedNotFollowed() async throws {
        let outside = root.file("outside")
        try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
        try Data("precious".utf8).write(to: URL(fileURLWithPath: outside + "/keep.txt"))
        try FileManager.default.createDirectory(atPath: root.file("out"), withIntermediateDirectories: true)
        // A leftover staging directory and the previous extraction both point outside.
        try FileManager.default.createSymbolicLink(atPath: target + ".partial", withDestinationPath: outside)
        try FileManager.default.createSymbolicLink(atPath: target, withDestinationPath: outside)

        try await makeZip(#"z.writestr("keep.txt", "replaced")"#)
        try extractor.extract(archive: archive, into: target)
        #expect(try contents(target + "/keep.txt") == Data("replaced".utf8))
        #expect(try FileManager.default.destinationOfSymbolicLinkOrNil(target) == nil)
        #expect(try contents(outside + "/keep.txt") == Data("precious".utf8))
    }
}

extension FileManager {
    fileprivate func destinationOfSymbolicLinkOrNil(_ path: String) throws -> String? {
        try attributesOfItem(atPath: path)[.type] as? FileAttributeType == .typeSymbolicLink
            ? destinationOfSymbolicLink(atPath: path) : nil
    }
}
