import ArgumentParser

@main
struct CLIMain: AsyncParsableCommand {
    func run() async throws {}
}
