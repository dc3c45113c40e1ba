import Foundation
import GreengrassDeployment
import GreengrassRecipe
import GreengrassTestSupport
import Testing

/// Known digests of "hello\n" (from `sha1sum`/`sha256sum`/`sha384sum`/`sha512sum | xxd -r -p | base64`).
private let helloDigests: [(String, String)] = [
    ("SHA-1", "9XLTlvrpIGYocU+yzgD3LpTyJY8="),
    ("SHA-256", "WJG1tSLV3whtD/CxEPvZ0hu0/HFjrzTQgoai6Eb2vgM="),
    ("SHA-384", "HQ8oTv4+3qS5yjvVFPoTSxfq42HMx6Hu/v+AG5vWYE4B8h9r8knvAwWZ8MIY8rqM"),
    ("SHA-512", "58IrmUxZ2c8rSOVJseJGZmNgRZMNPafBrLKZ0cO3+TH5Sq5B7dosKyB6NuEPi8uNRSI+VIePWzFufOO2vAGWKQ=="),
]

@Suite("Artifact digests")
struct ArtifactDigestTests {
    func artifact(digest: String?, algorithm: String?) -> ComponentArtifact {
        ComponentArtifact(uri: "s3://bucket/hello.txt", digest: digest, algorithm: algorithm)
    }

    @Test func algorithmNamesFollowJavaAndDefaultToSHA256() {
        #expect(ArtifactDigestAlgorithm(recipeName: nil) == .sha256)
        #expect(ArtifactDigestAlgorithm(recipeName: "SHA-256") == .sha256)
        #expect(ArtifactDigestAlgorithm(recipeName: "sha-512") == .sha512)
        #expect(ArtifactDigestAlgorithm(recipeName: "SHA-1") == .sha1)
        #expect(ArtifactDigestAlgorithm(recipeName: "SHA-384") == .sha384)
        #expect(ArtifactDigestAlgorithm(recipeName: "MD5") == nil)
        #expect(ArtifactDigestAlgorithm(recipeName: "SHA256") == nil)
        #expect(ArtifactDigestAlgorithm(recipeName: "") == nil)
    }

    @Test func noDigestMeansNothingToCheck() throws {
        #expect(try ExpectedArtifactDigest(artifact(digest: nil, algorithm: "SHA-256"), component: "c", version: "1.0.0") == nil)
    }

    @Test func unknownAlgorithmIsRefusedNamingItAndTheArtifact() {
        #expect {
            _ = try ExpectedArtifactDigest(artifact(digest: helloDigests[1].1, algorithm: "SHA-3"), component: "com.example.A", version: "1.0.0")
        } throws: { error in
            let text = "\(error)"
            return text.contains("'SHA-3'") && text.contains("not supported") && text.contains("s3://bucket/hello.txt")
                && text.contains("com.example.A 1.0.0") && (error as? ArtifactError)?.isIntegrityFailure == true
        }
    }

    @Test(arguments: ["not base64!", "WJG1tSLV3whtD/CxEPvZ0hu0/HFjrzTQgoai6Eb2vgM", "9XLTlvrpIGYocU+yzgD3LpTyJY8="])
    func digestOfWrongShapeIsRefused(digest: String) {
        #expect(throws: ArtifactError.self) {
            _ = try ExpectedArtifactDigest(artifact(digest: digest, algorithm: "SHA-256"), component: "c", version: "1.0.0")
        }
    }

    /// A store in a fresh directory holding `com.example.A` 1.0.0's `hello.txt` with `text`.
    func storeHolding(_ text: String) throws -> (TemporaryDirectory, NucleusPaths) {
        let directory = try TemporaryDirectory(prefix: "dg")
        let store = NucleusPaths(root: directory.path)
        let folder = store.artifacts(component: "com.example.A", version: "1.0.0")
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: folder + "/hello.txt"))
        return (directory, store)
    }

    @Test func everyAlgorithmMatchesTheCoreutilsDigest() throws {
        let (directory, store) = try storeHolding("hello\n")
        defer { _ = directory }
        for (algorithm, digest) in helloDigests {
            // A stored artifact reused by a deployment is verified again.
            try ArtifactPreparation(paths: store).prepare(
                component: "com.example.A", version: "1.0.0", artifacts: [artifact(digest: digest, algorithm: algorithm)], owner: nil)
        }
    }

    @Test func aStoredArtifactThatChangedFailsWithExpectedAndActual() throws {
        let (directory, store) = try storeHolding("hellO\n")
        defer { _ = directory }
        #expect {
            try ArtifactPreparation(paths: store).prepare(
                component: "com.example.A", version: "1.0.0", artifacts: [artifact(digest: helloDigests[1].1, algorithm: nil)], owner: nil)
        } throws: { error in
            let text = "\(error)"
            return text.contains("Integrity check for artifact s3://bucket/hello.txt of com.example.A 1.0.0 failed")
                && text.contains("expected SHA-256 digest \(helloDigests[1].1)") && text.contains("actual ")
                && !text.contains("actual \(helloDigests[1].1)")
        }
    }
}

@Suite("Artifact import")
struct ArtifactImportTests {
    let source: TemporaryDirectory
    let root: TemporaryDirectory
    let store: PackageStore

    init() throws {
        source = try TemporaryDirectory(prefix: "ds")
        root = try TemporaryDirectory(prefix: "dr")
        store = PackageStore(paths: NucleusPaths(root: root.path))
        for (name, text) in [("com.example.A", "hello\n"), ("com.example.B", "other\n")] {
            let folder = source.path + "/\(name)/1.0.0"
            try FileManager.default.createDirectory(atPath: folder + "/sub", withIntermediateDirectories: true)
            try Data(text.utf8).write(to: URL(fileURLWithPath: folder + "/hello.txt"))
            try Data("nested".utf8).write(to: URL(fileURLWithPath: folder + "/sub/n.txt"))
            try FileManager.default.createSymbolicLink(atPath: folder + "/link", withDestinationPath: "hello.txt")
        }
    }

    func expected(_ digest: String, for component: String) -> (String, String) throws(ArtifactError) -> [String: ExpectedArtifactDigest] {
        { name, version throws(ArtifactError) in
            guard name == component else { return [:] }
            return try ExpectedArtifactDigest.byFileName(
                [ComponentArtifact(uri: "s3://b/hello.txt", digest: digest)], component: name, version: version)
        }
    }

    @Test func aCorrectDigestCopiesTheWholeTree() throws {
        let imported = try store.importArtifacts(from: source.path, expectedDigests: expected(helloDigests[1].1, for: "com.example.A"))
        #expect(imported == ["com.example.A@1.0.0", "com.example.B@1.0.0"])
        let folder = store.paths.artifacts(component: "com.example.A", version: "1.0.0")
        #expect(try String(contentsOfFile: folder + "/hello.txt", encoding: .utf8) == "hello\n")
        #expect(try String(contentsOfFile: folder + "/sub/n.txt", encoding: .utf8) == "nested")
        #expect(try FileManager.default.destinationOfSymbolicLink(atPath: folder + "/link") == "hello.txt")
        #expect(!FileManager.default.fileExists(atPath: folder + ".incoming"))
    }

    @Test func aFlippedByteFailsAndNothingOfTheDeploymentReachesTheStore() throws {
        // A previous deployment's artifacts of B must survive a failed one.
        let previous = store.paths.artifacts(component: "com.example.B", version: "1.0.0")
        try FileManager.default.createDirectory(atPath: previous, withIntermediateDirectories: true)
        try Data("previous".utf8).write(to: URL(fileURLWithPath: previous + "/hello.txt"))
        let flipped = Data(base64Encoded: helloDigests[1].1)!.enumerated().map { $0.offset == 0 ? $0.element ^ 1 : $0.element }
        let wrong = Data(flipped).base64EncodedString()
        #expect {
            try store.importArtifacts(from: source.path, expectedDigests: expected(wrong, for: "com.example.A"))
        } throws: { error in
            guard let failure = error as? DeploymentFailure else { return false }
            return failure.errorStack == ["DEPLOYMENT_FAILURE", "ARTIFACT_CHECKSUM_MISMATCH"]
                && failure.cause.contains("s3://b/hello.txt of com.example.A 1.0.0")
                && failure.cause.contains("expected SHA-256 digest \(wrong), actual \(helloDigests[1].1)")
        }
        #expect(!FileManager.default.fileExists(atPath: store.paths.artifacts(component: "com.example.A", version: "1.0.0")))
        #expect(try String(contentsOfFile: previous + "/hello.txt", encoding: .utf8) == "previous")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: store.paths.artifactsDirectory + "/com.example.A")
        #expect(leftovers.isEmpty, "\(leftovers)")
    }

    @Test func aLargeSparseArtifactVerifiesWithFlatMemory() throws {
        let folder = source.path + "/com.example.Big/1.0.0"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let file = folder + "/big.bin"
        let descriptor = open(file, O_CREAT | O_WRONLY, 0o644)
        #expect(ftruncate(descriptor, 1 << 30) == 0)
        close(descriptor)
        // sha256 of 1 GiB of zeros (`head -c 1G /dev/zero | sha256sum`), base64.
        let zeros = "Sbwg3xXkEqZEckIeE/6G/xxRZeGLKvzPFg1NwZ/mihQ="
        let before = maximumResidentKilobytes()
        try store.importArtifacts(from: source.path, expectedDigests: expected(zeros, for: "com.example.Big"))
        let grown = maximumResidentKilobytes() - before
        #expect(grown < 32 * 1024, "peak resident size grew by \(grown) KB verifying a 1 GiB artifact")
        var copied = stat()
        #expect(stat(store.paths.artifacts(component: "com.example.Big", version: "1.0.0") + "/big.bin", &copied) == 0)
        #expect(copied.st_size == 1 << 30)
        #expect(copied.st_blocks * 512 < 1 << 20, "the copy of a sparse artifact stays sparse (\(copied.st_blocks) blocks)")
        try ArtifactPreparation(paths: store.paths).prepare(
            component: "com.example.Big", version: "1.0.0",
            artifacts: [ComponentArtifact(uri: "s3://b/big.bin", digest: zeros)], owner: nil)
    }

    /// A version directory that is a symbolic link to the real one is imported like a directory (Greengrass follows
    /// links, `Files.isDirectory`); it was skipped without a word.
    @Test func aVersionDirectoryThatIsASymbolicLinkIsImported() throws {
        let elsewhere = try TemporaryDirectory(prefix: "dl")
        try Data("linked\n".utf8).write(to: URL(fileURLWithPath: elsewhere.path + "/run.sh"))
        try FileManager.default.createDirectory(atPath: source.path + "/com.example.Linked", withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: source.path + "/com.example.Linked/1.0.0", withDestinationPath: elsewhere.path)
        let imported = try store.importArtifacts(from: source.path)
        #expect(imported.contains("com.example.Linked@1.0.0"))
        let copied = try Data(contentsOf: URL(fileURLWithPath: store.paths.artifacts(component: "com.example.Linked", version: "1.0.0") + "/run.sh"))
        #expect(String(decoding: copied, as: UTF8.self) == "linked\n")
    }

    @Test func chunksOfZerosAmongDataAreCopiedExactly() throws {
        let folder = source.path + "/com.example.Holes/1.0.0"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        var bytes = [UInt8](repeating: 0, count: 3 << 20 + 17)
        bytes[0] = 1
        bytes[(2 << 20) + 5] = 7
        try Data(bytes).write(to: URL(fileURLWithPath: folder + "/holes.bin"))
        try store.importArtifacts(from: source.path)
        let copied = try Data(contentsOf: URL(fileURLWithPath: store.paths.artifacts(component: "com.example.Holes", version: "1.0.0") + "/holes.bin"))
        #expect(Array(copied) == bytes)
    }

    func maximumResidentKilobytes() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_maxrss
    }
}
