import Foundation
import GreengrassTestSupport

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// `persistent_collector.py`: an outside subscriber with a persistent session (it survives broker restarts) that
/// appends every payload it receives on `topic` to `output`, one per line. Killed on deinit.
final class PersistentCollector {
    let process = Process()

    init(port: Int, topic: String, output: String) throws {
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            RepositoryFiles.python3, repositoryRoot + "/Tests/NucleusIntegrationTests/Components/persistent_collector.py",
            "\(port)", topic, output, "collector-\(UInt32.random(in: 0...UInt32.max))",
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    deinit {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
