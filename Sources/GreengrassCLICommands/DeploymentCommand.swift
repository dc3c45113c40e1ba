import ArgumentParser
import GreengrassIPCModel
import GreengrassJSON

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

struct DeploymentCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deployment",
        abstract: "Create local deployments and retrieve deployment status.",
        subcommands: [Create.self, Cancel.self, List.self, Status.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create or update a local deployment.",
            discussion: "Example: greengrass-cli deployment create --recipeDir ~/recipes --artifactDir ~/artifacts --merge \"com.example.HelloWorld=1.0.0\""
        )
        @OptionGroup var global: GlobalOptions

        @Option(name: [.short, .customLong("recipeDir")], help: "Folder with component recipe files (JSON or YAML).")
        var recipeDir: String?
        @Option(name: [.short, .customLong("artifactDir")], help: "Folder with artifacts laid out as <name>/<version>/<files>.")
        var artifactDir: String?
        @Option(name: [.short, .customLong("merge")], help: "Component to add or update, as NAME=VERSION (repeat --merge for each component).")
        var merge: [String] = []
        @Option(name: [.customLong("remove")], help: "Root components to remove, separated by ',' (repeatable).")
        var remove: [String] = []
        @Option(name: [.short, .customLong("groupId")], help: "Thing group of the deployment (default: the local group).")
        var groupId: String?
        @Option(name: [.short, .customLong("update-config")], help: "Configuration update: JSON text or a file, {\"Name\":{\"MERGE\":{...},\"RESET\":[\"/ptr\"]}}.")
        var updateConfig: String?
        @Option(name: [.customLong("runWith")], help: "Run-as user, as NAME:posixUser=USER[:GROUP] (repeatable).")
        var runWith: [String] = []
        @Option(name: [.customLong("systemLimits")], help: "Resource limits: JSON text or a file, {\"Name\":{\"memory\":KB,\"cpus\":N}}.")
        var systemLimits: String?
        @Option(name: [.customLong("failure-handling-policy"), .customLong("fp", withSingleDash: true)], help: "ROLLBACK or DO_NOTHING (default DO_NOTHING).")
        var failureHandlingPolicy: String?
        @Option(
            name: [.customLong("notify-components")],
            help: ArgumentHelp(
                "Not in the AWS CLI: use the NOTIFY_COMPONENTS update policy with this timeout in seconds (cloud default 60).",
                discussion: "Components subscribed with SubscribeToComponentUpdates get PreComponentUpdateEvent before anything changes and may defer with DeferComponentUpdate; the deployment goes ahead when none defers or the timeout has passed, then sends PostComponentUpdateEvent. Without this flag local deployments skip notification, as in AWS Greengrass.",
                valueName: "seconds"))
        var notifyComponents: Int?

        func validate() throws {
            if let notifyComponents, notifyComponents < 0 || notifyComponents > 86_400 {
                throw ValidationError("--notify-components takes a timeout from 0 to 86400 seconds, got \(notifyComponents).")
            }
            if merge.isEmpty && remove.isEmpty && updateConfig == nil && recipeDir == nil {
                throw ValidationError("Nothing to deploy: give --merge, --remove, --update-config or --recipeDir.")
            }
            if let policy = failureHandlingPolicy, FailureHandlingPolicy(rawValue: policy.uppercased()) == nil {
                throw ValidationError("--failure-handling-policy must be ROLLBACK or DO_NOTHING, got '\(policy)'.")
            }
        }

        func run() async throws {
            let request = try DeploymentRequestBuilder(currentDirectory: FileManager.default.currentDirectoryPath).build(
                recipeDir: recipeDir, artifactDir: artifactDir, merge: merge, remove: remove, groupId: groupId,
                updateConfig: updateConfig, runWith: runWith, systemLimits: systemLimits,
                failureHandlingPolicy: failureHandlingPolicy, notifyComponentsTimeout: notifyComponents
            )
            try await global.withConnection { connection in
                let response: CreateLocalDeploymentResponse = try await connection.call(.createLocalDeployment, request)
                print("Local deployment submitted! Deployment Id: \(response.deploymentId ?? "null")")
            }
        }
    }

    struct Cancel: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Cancels a local deployment.",
            discussion: "A QUEUED deployment, or an IN_PROGRESS one that has not started changing components, is cancelled: it never runs, and its status stays CANCELED.")
        @OptionGroup var global: GlobalOptions
        @Option(name: [.customShort("i"), .customLong("deploymentId")], help: "The ID of the deployment.") var deploymentId: String

        func run() async throws {
            try await global.withConnection { connection in
                let response: CancelLocalDeploymentResponse = try await connection.call(
                    .cancelLocalDeployment, CancelLocalDeploymentRequest(deploymentId: deploymentId))
                print(response.message ?? "null")
            }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the last local deployments.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            try await global.withConnection { connection in
                let response: ListLocalDeploymentsResponse = try await connection.call(.listLocalDeployments, EmptyRequest())
                print(CLIOutput.deploymentList(response.localDeployments ?? []), terminator: "")
            }
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show the status of one local deployment.")
        @OptionGroup var global: GlobalOptions
        @Option(name: [.customShort("i"), .customLong("deploymentId")], help: "Deployment ID.") var deploymentId: String

        func run() async throws {
            try await global.withConnection { connection in
                let response: GetLocalDeploymentStatusResponse = try await connection.call(
                    .getLocalDeploymentStatus, GetLocalDeploymentStatusRequest(deploymentId: deploymentId))
                if let deployment = response.deployment {
                    print(CLIOutput.deploymentStatus(deployment), terminator: "")
                }
            }
        }
    }
}

/// Turns `deployment create` flags into a `CreateLocalDeploymentRequest`: resolves relative paths against the
/// CLI's working directory (the nucleus has another one) and reads JSON-or-file arguments.
struct DeploymentRequestBuilder {
    var currentDirectory: String

    func build(
        recipeDir: String?, artifactDir: String?, merge: [String], remove: [String], groupId: String?,
        updateConfig: String?, runWith: [String], systemLimits: String?, failureHandlingPolicy: String?,
        notifyComponentsTimeout: Int? = nil
    ) throws -> CreateLocalDeploymentRequest {
        var versions: [String: String] = [:]
        for item in merge {
            let parts = item.split(separator: "=", maxSplits: 1).map { $0.trimmedWhitespace() }
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                throw ValidationError("--merge expects NAME=VERSION, got '\(item)'.")
            }
            // The AWS CLI takes one NAME=VERSION per --merge (a picocli map option, no split) and would send
            // "1.0.0,B=2.0.0" as A's version; no version contains a comma, so say how to write it instead.
            guard !parts[1].contains(",") else {
                throw ValidationError("--merge takes one NAME=VERSION, got '\(item)': repeat --merge for each component.")
            }
            versions[parts[0]] = parts[1]
        }
        // `--remove A,B` names two components, as the AWS CLI documents (`--remove <component-name>,...`) and
        // as `component restart --names` splits; the flag may also be repeated.
        let removals = remove.flatMap(CLIOutput.splitNames)
        if !remove.isEmpty && removals.isEmpty {
            throw ValidationError("--remove expects component names, got '\(remove.joined(separator: " "))'.")
        }
        var runWithInfo: [String: RunWithInfo] = [:]
        for item in runWith {
            let (name, info) = try Self.parseRunWith(item)
            runWithInfo[name, default: RunWithInfo()].posixUser = info
        }
        if let systemLimits {
            let limits = try JSONValueDecoder().decode(
                [String: SystemResourceLimits].self, from: try readJSONArgument(systemLimits, flag: "--systemLimits"))
            for (name, limit) in limits { runWithInfo[name, default: RunWithInfo()].systemResourceLimits = limit }
        }
        var configuration: [String: ConfigurationUpdate]?
        if let updateConfig {
            do {
                configuration = try JSONValueDecoder().decode(
                    [String: ConfigurationUpdate].self, from: try readJSONArgument(updateConfig, flag: "--update-config"))
            } catch let error as DecodingError {
                throw ValidationError("--update-config: expected {\"ComponentName\": {\"MERGE\": {...}, \"RESET\": [\"/path\"]}}: \(error.jsonSummary)")
            }
        }
        return CreateLocalDeploymentRequest(
            groupName: groupId,
            rootComponentVersionsToAdd: versions.isEmpty ? nil : versions,
            rootComponentsToRemove: removals.isEmpty ? nil : removals,
            componentToConfiguration: configuration,
            componentToRunWithInfo: runWithInfo.isEmpty ? nil : runWithInfo,
            recipeDirectoryPath: recipeDir.map(absolute),
            artifactsDirectoryPath: artifactDir.map(absolute),
            failureHandlingPolicy: failureHandlingPolicy.flatMap { FailureHandlingPolicy(rawValue: $0.uppercased()) },
            componentUpdatePolicy: notifyComponentsTimeout.map { ComponentUpdatePolicy(action: .notifyComponents, timeoutInSeconds: $0) }
        )
    }

    /// `NAME:posixUser=USER[:GROUP]`.
    static func parseRunWith(_ item: String) throws -> (String, String) {
        guard let colon = item.firstIndex(of: ":") else {
            throw ValidationError("--runWith expects NAME:posixUser=USER[:GROUP], got '\(item)'.")
        }
        let name = String(item[..<colon])
        let setting = item[item.index(after: colon)...]
        guard setting.hasPrefix("posixUser="), !name.isEmpty, setting.count > "posixUser=".count else {
            throw ValidationError("--runWith expects NAME:posixUser=USER[:GROUP], got '\(item)'.")
        }
        return (name, String(setting.dropFirst("posixUser=".count)))
    }

    func absolute(_ path: String) -> String {
        let expanded = path.hasPrefix("~/") ? (ProcessInfo.processInfo.environment["HOME"] ?? "") + path.dropFirst(1) : path
        if expanded.hasPrefix("/") { return expanded }
        return currentDirectory.hasSuffix("/") ? currentDirectory + expanded : currentDirectory + "/" + expanded
    }

    /// Arguments like `--update-config` take JSON text, or the path of a file holding it.
    func readJSONArgument(_ argument: String, flag: String) throws -> Data {
        let trimmed = argument.trimmedWhitespace()
        if trimmed.hasPrefix("{") { return Data(trimmed.utf8) }
        let path = absolute(trimmed)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ValidationError("\(flag): '\(argument)' is neither JSON text nor a readable file.")
        }
        return data
    }
}
