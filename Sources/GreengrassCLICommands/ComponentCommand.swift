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
            try await ComponentCommand.apply(to: names, verb: "restart", global: global) { connection, request in
                let response: RestartComponentResponse = try await connection.call(.restartComponent, request)
                return (response.restartStatus, response.message)
            }
        }
    }

    struct Stop: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop components.")
        @OptionGroup var global: GlobalOptions
        @Option(name: [.short, .customLong("names"), .customLong("name")], help: "Component names, separated by ',' or '&'.")
        var names: String

        func run() async throws {
            try await ComponentCommand.apply(to: names, verb: "stop", global: global) { connection, request in
                let response: StopComponentResponse = try await connection.call(.stopComponent, request)
                return (response.stopStatus, response.message)
            }
        }
    }

    /// Runs a per-component operation for every name in `names` on one connection; the first FAILED status ends
    /// the command with its message.
    static func apply(
        to names: String, verb: String, global: GlobalOptions,
        _ call: @escaping (NucleusConnection, ComponentNameRequest) async throws -> (RequestStatus, String?)
    ) async throws {
        try await global.withConnection { connection in
            for name in CLIOutput.splitNames(names) {
                let (status, message) = try await call(connection, ComponentNameRequest(componentName: name))
                if status == .failed {
                    throw CLIError.operationFailed("Failed to \(verb) \(name): \(message ?? "no reason given")")
                }
            }
        }
    }
}

/// Requests of operations that take no members still carry `{}`.
struct EmptyRequest: Codable, Sendable {}
