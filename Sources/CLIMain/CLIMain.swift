import GreengrassCLICommands

/// `greengrass-cli`: all behaviour lives in GreengrassCLICommands.
@main
enum CLIMain {
    static func main() async {
        await GreengrassCLI.runFromCommandLine()
    }
}
