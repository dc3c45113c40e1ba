import ArgumentParser

/// `greengrass-cli get-debug-password`. The AWS command asks the Cli component (`CreateDebugPassword`) for a login
/// to the local debug console (`aws.greengrass.LocalDebugConsole`); this nucleus has no such console, so there is
/// nothing to log in to and the command says so and fails.
struct GetDebugPasswordCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get-debug-password",
        abstract: "Not supported: generate a password for the local debug console, which this nucleus does not have.")
    @OptionGroup var global: GlobalOptions

    static let unsupportedMessage =
        "get-debug-password is not supported: this nucleus has no local debug console (aws.greengrass.LocalDebugConsole), so there is no password to generate."

    func run() async throws {
        throw CLIError.operationFailed(Self.unsupportedMessage)
    }
}
