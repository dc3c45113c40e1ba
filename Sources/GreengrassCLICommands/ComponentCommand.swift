import ArgumentParser
import GreengrassIPCModel

struct ComponentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "component",
        abstract: "Retrieve information about components and restart or stop them.",
        subcommands: [List.self, Details.self, Restart.self, Stop.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the components deployed on this core device.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            try await global.withConnection { connection in
                let response: ListComponentsResponse = try await connection.call(.listComponents, EmptyRequest())
                print(CLIOutput.componentList(response.components ?? []), terminator: "")
            }
        }
    }

    struct Details: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the version, state and configuration of one component.")
        @OptionGroup var global: GlobalOptions
        @Option(name: [.short, .long], help: "Component name.") var name: String

        func run() async throws {
            try await global.withConnection { connection in
                let response: GetComponentDetailsResponse = try await connection.call(
                    .getComponentDetails, ComponentNameRequest(componentName: name))
                if let details = response.componentDetails {
                    print(CLIOutput.componentDetails(details), terminator: "")
                }
            }
        }
    }

    struct Restart: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Restart components.")
        @OptionGroup var global: GlobalOptions
        @Option(name: [.short, .customLong("names"), .customLong("name")], help: "Component names, separated by ',' or '&'.")
        var names: String

        func run() async throws {
            try await global.withConnection { connection in
                for name in CLIOutput.splitNames(names) {
                    let response: RestartComponentResponse = try await connection.call(
                        .restartComponent, ComponentNameRequest(componentName: name))
                    if response.restartStatus == .failed {
                        throw CLIError.operationFailed("Failed to restart \(name): \(response.message ?? "no reason given")")
                    }
                }
            }
        }
    }

    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop components.")
        @OptionGroup var global: GlobalOptions
        @Option(name: [.short, .customLong("names"), .customLong("name")], help: "Component names, separated by ',' or '&'.")
        var names: String

        func run() async throws {
            try await global.withConnection { connection in
                for name in CLIOutput.splitNames(names) {
                    let response: StopComponentResponse = try await connection.call(
                        .stopComponent, ComponentNameRequest(componentName: name))
                    if response.stopStatus == .failed {
                        throw CLIError.operationFailed("Failed to stop \(name): \(response.message ?? "no reason given")")
                    }
                }
            }
        }
    }
}

/// Requests of operations that take no members still carry `{}`.
struct EmptyRequest: Codable, Sendable {}
