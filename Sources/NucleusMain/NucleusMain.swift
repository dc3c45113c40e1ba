import ArgumentParser

@main
struct NucleusMain: AsyncParsableCommand {
    func run() async throws {}
}
