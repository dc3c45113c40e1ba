import Foundation
import GreengrassDeployment
import GreengrassTestSupport
import Testing

/// Our libcrypto EVP SHA-256 over a 256 MiB file agrees with `sha256sum`; the rates both print are diagnostics
/// (a debug build on a shared machine), not a benchmark: no assertion depends on timing.
@Suite("Artifact hashing rate", .serialized)
struct ArtifactHashingRateTests {
    @Test func sha256AgreesWithSha256sumOnALargeFile() async throws {
        let directory = try TemporaryDirectory(prefix: "hr")
        let file = directory.file("random.bin")
        // Random bytes (not a sparse file), so the page cache holds real data for both readers.
        let made = try await ChildProcess.run("sh", ["-c", "head -c 268435456 /dev/urandom > \(file)"], timeout: .seconds(120))
        try #require(made.exitCode == 0, "\(made.stderr)")
        let megabytes = 256.0
        _ = try ArtifactDigestAlgorithm.sha256.digest(ofFile: file)  // warm the page cache

        let clock = ContinuousClock()
        var ours: [Double] = []
        var digest: [UInt8] = []
        for _ in 0..<3 {
            let elapsed = try clock.measure { digest = try ArtifactDigestAlgorithm.sha256.digest(ofFile: file) }
            ours.append(megabytes / elapsed.seconds)
        }
        var theirs: [Double] = []
        var text = ""
        for _ in 0..<3 {
            let start = clock.now
            let result = try await ChildProcess.run("sha256sum", [file], timeout: .seconds(120))
            theirs.append(megabytes / (clock.now - start).seconds)
            text = result.stdout
        }
        let hex = digest.map { String(format: "%02x", $0) }.joined()
        #expect(text.hasPrefix(hex), "sha256sum says \(text), we say \(hex)")
        let best = (ours.max() ?? 0, theirs.max() ?? 0)
        print("HASHING-RATE ours=\(Int(best.0)) MB/s sha256sum=\(Int(best.1)) MB/s (256 MiB, best of 3)")
    }
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
