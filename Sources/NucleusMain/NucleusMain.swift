import ArgumentParser
import GreengrassNucleus

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `greengrass-nucleus`: parses the command line and runs the nucleus in the foreground.
///
/// A synchronous entry point that blocks the main thread while the nucleus runs on the concurrency pool: an async
/// `@main` (`AsyncParsableCommand`) measured 0.9 MB more resident memory (issue 16).
@main
struct NucleusMain: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "greengrass-nucleus",
        abstract: "Runs the Greengrass nucleus: components, IPC socket, local deployments.",
        version: NucleusVersion.current)

    @Option(name: [.customLong("root"), .customShort("r")], help: "Greengrass root directory (default: $GGC_ROOT_PATH, else /greengrass/v2).")
    var root: String?

    @Option(
        name: [.customLong("config"), .customShort("i"), .customLong("init-config")],
        help: "Initial configuration (config.yaml shape, YAML or JSON), merged into the persisted configuration.")
    var config: String?

    func run() throws {
        let environmentRoot = ProcessInfo.processInfo.environment["GGC_ROOT_PATH"].flatMap { $0.isEmpty ? nil : $0 }
        let options = NucleusOptions(root: root ?? environmentRoot ?? "/greengrass/v2", configFile: config)
        do {
            try Nucleus.runProcess(options: options)
        } catch let error as NucleusStartupError {
            throw ValidationErrorWithoutUsage(message: error.description)
        }
    }
}

/// Start-up failures are one line on stderr and exit code 1, without the usage text.
struct ValidationErrorWithoutUsage: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
