import ArgumentParser

/// The `greengrass-cli` command tree. Commands, flags and output match the AWS Greengrass CLI
/// (`aws.greengrass.Cli`), so commands copied from the AWS documentation work unchanged.
public struct GreengrassCLI: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "greengrass-cli",
        abstract: "Manage local deployments and components of a running Greengrass nucleus.",
        version: GreengrassCLIVersion.current,
        // Every command of the AWS Greengrass CLI, in its order.
        subcommands: [
            ComponentCommand.self, DeploymentCommand.self, LogsCommand.self, GetDebugPasswordCommand.self,
            PubSubCommand.self, IoTCoreCommand.self,
        ]
    )

    public init() {}

    /// Runs the CLI with the process arguments.
    public static func runFromCommandLine() async {
        await main(normalizedArguments(Array(CommandLine.arguments.dropFirst())))
    }

    /// The AWS CLI accepts its global `--ggcRootPath DIR` before the command (`greengrass-cli --ggcRootPath /gg
    /// component list`); ArgumentParser only parses options after the subcommand that declares them, so leading
    /// global options are moved to the end.
    public static func normalizedArguments(_ arguments: [String]) -> [String] {
        var leading: [String] = []
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            let name = argument.split(separator: "=", maxSplits: 1).first.map(String.init) ?? argument
            guard name == "--root" || name == "--ggcRootPath" else { break }
            if argument.contains("=") {
                leading.append(argument)
                index += 1
            } else {
                leading.append(contentsOf: arguments[index..<min(index + 2, arguments.count)])
                index += 2
            }
        }
        return Array(arguments[min(index, arguments.count)...]) + leading
    }
}

public enum GreengrassCLIVersion {
    public static let current = "2.14.0-swift"
}

/// Options every command accepts. `--ggcRootPath` is the AWS spelling; `--root` matches `greengrass-nucleus`.
struct GlobalOptions: ParsableArguments {
    @Option(
        name: [.customLong("root"), .customLong("ggcRootPath")],
        help: "Greengrass root directory (default: $GGC_ROOT_PATH, else the root this CLI is installed in, else /greengrass/v2)."
    )
    var root: String?

    /// Runs `body` on a fresh connection to the nucleus and closes it afterwards, whatever happens.
    func withConnection(_ body: (NucleusConnection) async throws -> Void) async throws {
        let connection = try await NucleusConnection.open(root: RootLocator.locate(explicit: root))
        do {
            try await body(connection)
        } catch {
            await connection.close()
            throw error
        }
        await connection.close()
    }
}
