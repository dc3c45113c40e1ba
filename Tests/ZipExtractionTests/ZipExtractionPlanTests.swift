import Testing
import ZipExtraction

@Suite("Archive entry paths")
struct ZipEntryPathTests {
    @Test(arguments: [
        ("a.txt", ["a.txt"]), ("dir/b/c.sh", ["dir", "b", "c.sh"]), ("./x/./y", ["x", "y"]), ("dir/", ["dir"]),
        ("win\\style\\f", ["win", "style", "f"]), ("données/été.txt", ["données", "été.txt"]),
    ])
    func acceptedEntryPaths(path: String, components: [String]) throws {
        #expect(try ZipEntryPath.components(of: path) == components)
    }

    @Test(arguments: [
        ("../evil", "outside"), ("a/../../evil", "outside"), ("a/..", "outside"), ("/etc/passwd", "absolute"),
        ("\\abs", "absolute"), ("", "empty name"), (".", "empty name"), ("./", "empty name"), ("nul\0byte", "NUL byte"),
    ])
    func rejectedEntryPaths(path: String, reason: String) {
        #expect {
            try ZipEntryPath.components(of: path)
        } throws: { error in
            "\(error)".contains(reason) && "\(error)".contains("\"\(path)\"")
        }
    }
}

@Suite("Entry kinds from external attributes")
struct ZipEntryKindTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var madeOnUnix: Bool
        var attributes: UInt32
        var kind: ZipEntryKind
        var permissions: UInt16?
        var testDescription: String { name }

        /// An archive made on Unix, `mode` in the upper half as zip tools store it.
        static func unix(_ name: String, mode: UInt32, dos: UInt32 = 0, _ kind: ZipEntryKind, _ permissions: UInt16?) -> Case {
            Case(name: name, madeOnUnix: true, attributes: mode << 16 | dos, kind: kind, permissions: permissions)
        }

        static func other(_ name: String, attributes: UInt32, _ kind: ZipEntryKind) -> Case {
            Case(name: name, madeOnUnix: false, attributes: attributes, kind: kind, permissions: nil)
        }
    }

    static let cases: [Case] = [
        .unix("f", mode: 0o100644, .file, 0o644),
        .unix("tool", mode: 0o104755, .file, 0o4755),
        .unix("d/", mode: 0o040755, dos: 0x10, .directory, 0o755),
        .unix("d", mode: 0o040700, .directory, 0o700),
        .unix("untyped/", mode: 0o755, .directory, 0o755),
        .unix("untyped", mode: 0o755, .file, 0o755),
        .unix("link", mode: 0o120777, .symbolicLink, 0o777),
        .unix("fifo", mode: 0o010644, .special, 0o644),
        .unix("dev", mode: 0o020644, .special, 0o644),
        // Made on Unix but without a mode: the DOS rules apply.
        .unix("no-mode", mode: 0, .file, nil),
        .unix("no-mode-dir", mode: 0, dos: 0x10, .directory, nil),
        .other("dos-file", attributes: 0x20, .file),
        .other("dos-dir", attributes: 0x10, .directory),
        .other("named-dir/", attributes: 0, .directory),
        // A Unix-looking mode from a non-Unix archive is not trusted.
        .other("not-unix", attributes: 0o120777 << 16, .file),
    ]

    @Test(arguments: cases)
    func classify(_ example: Case) {
        let result = ZipEntry.classify(name: example.name, madeOnUnix: example.madeOnUnix, externalAttributes: example.attributes)
        #expect(result.kind == example.kind)
        #expect(result.unixPermissions == example.permissions)
    }
}

@Suite("Extraction plan")
struct ZipExtractionPlanTests {
    func file(_ name: String, _ size: UInt64 = 1, method: UInt16 = ZipCompression.deflated) -> ZipEntry {
        ZipEntry(name: name, uncompressedSize: size, compressionMethod: method)
    }

    func directory(_ name: String) -> ZipEntry {
        ZipEntry(name: name, uncompressedSize: 0, compressionMethod: ZipCompression.stored, kind: .directory)
    }

    func refusal(_ entries: [ZipEntry], limits: ZipLimits = ZipLimits()) -> String? {
        do {
            _ = try ZipExtractionPlan.plan(entries, limits: limits)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func acceptsFilesAndDirectoriesInArchiveOrder() throws {
        let entries = [directory("a/"), file("a/x", 3), file("a/b/y", 4, method: ZipCompression.stored), file("z")]
        let plan = try ZipExtractionPlan.plan(entries, limits: ZipLimits())
        #expect(plan.map(\.index) == [0, 1, 2, 3])
        #expect(plan.map(\.components) == [["a"], ["a", "x"], ["a", "b", "y"], ["z"]])
        #expect(plan.map(\.entry) == entries)
    }

    @Test func emptyArchiveIsAnEmptyPlan() throws {
        #expect(try ZipExtractionPlan.plan([], limits: ZipLimits()).isEmpty)
    }

    @Test func everyRefusalNamesTheEntry() {
        let cases: [(ZipEntry, String)] = [
            (file("../x"), "outside the extraction directory"),
            (file("/abs"), "absolute path"),
            (ZipEntry(name: "link", uncompressedSize: 4, kind: .symbolicLink), "symbolic link"),
            (ZipEntry(name: "fifo", uncompressedSize: 0, kind: .special), "device, FIFO or socket"),
            (ZipEntry(name: "secret", uncompressedSize: 4, isEncrypted: true), "encrypted"),
            (file("bz", method: 12), "compression method 12"),
        ]
        for (entry, reason) in cases {
            let text = refusal([file("fine"), entry])
            #expect(text?.contains(reason) == true && text?.contains("\"\(entry.name)\"") == true, "\(entry.name): \(text ?? "accepted")")
        }
    }

    @Test func declaredTotalIsBounded() {
        let limits = ZipLimits(maximumTotalBytes: 100)
        #expect(refusal([file("a", 60), file("b", 40)], limits: limits) == nil)
        let text = refusal([file("a", 60), file("b", 41)], limits: limits)
        #expect(text?.contains("\"b\"") == true && text?.contains("more than 100 bytes") == true, "\(text ?? "accepted")")
        // Sizes that would wrap a 64-bit sum are refused, not added.
        let wrap = refusal([file("a", UInt64.max), file("b", 2)], limits: ZipLimits(maximumTotalBytes: .max))
        #expect(wrap?.contains("\"b\"") == true, "\(wrap ?? "accepted")")
        // Directories carry no data whatever size they declare.
        var sizedDirectory = directory("d/")
        sizedDirectory.uncompressedSize = 1 << 40
        #expect(refusal([sizedDirectory], limits: limits) == nil)
    }

    @Test func entryCountAndNameLengthAreBounded() {
        let limits = ZipLimits(maximumEntries: 2, maximumNameBytes: 10)
        #expect(refusal([file("a"), file("b")], limits: limits) == nil)
        #expect(refusal([file("a"), file("b"), file("c")], limits: limits)?.contains("more than 2 entries") == true)
        #expect(refusal([file("0123456789")], limits: limits) == nil)
        #expect(refusal([file("0123456789a")], limits: limits)?.contains("longer than 10 bytes") == true)
    }

    @Test func pathsUsedTwiceOrAsBothFileAndDirectoryAreRefused() {
        #expect(refusal([file("a"), file("./a")])?.contains("\"./a\" appears twice") == true)
        #expect(refusal([file("a"), file("a/b")])?.contains("\"a/b\" is inside \"a\", which is a file") == true)
        #expect(refusal([file("a/b"), file("a")])?.contains("\"a\" is both a file and a directory") == true)
        #expect(refusal([file("a"), directory("a/")])?.contains("\"a/\" is both a file and a directory") == true)
        #expect(refusal([directory("a/"), file("a")])?.contains("\"a\" is both a file and a directory") == true)
        // A directory listed again, or after its own files, is fine.
        #expect(refusal([directory("a/"), file("a/x"), directory("a/")]) == nil)
    }
}

@Suite("Declared size guard")
struct DeclaredSizeGuardTests {
    @Test func admitsUpToTheDeclaredSizeAndNoMore() throws {
        var sizeGuard = DeclaredSizeGuard(entryName: "big", declaredBytes: 10)
        try sizeGuard.admit(4)
        try sizeGuard.admit(6)
        try sizeGuard.finish()
        #expect(sizeGuard.receivedBytes == 10)
        #expect {
            try sizeGuard.admit(1)
        } throws: { error in
            "\(error)".contains("\"big\" holds more than its declared 10 bytes")
        }
        #expect(sizeGuard.receivedBytes == 10)
    }

    @Test func shortDataIsAnError() throws {
        var sizeGuard = DeclaredSizeGuard(entryName: "short", declaredBytes: 10)
        try sizeGuard.admit(9)
        #expect {
            try sizeGuard.finish()
        } throws: { error in
            "\(error)".contains("\"short\" holds 9 bytes, not its declared 10")
        }
    }
}
