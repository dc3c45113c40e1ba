import Foundation
import GreengrassTestSupport
import Testing

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Three components for the durability tests — `DurBase`, `DurApp` (HARD dependency on `DurBase`) and `DurSolo` —
/// in versions 1.0.0 and 2.0.0 (and a 3.0.0 whose `DurApp` crashes), written as a local deployment input.
///
/// Every process they start carries `marker` in its environment, so a test finds them in `/proc` whoever their
/// parent is (after `kill -9` of the nucleus they are orphans).
struct DurableComponents {
    static let base = "com.example.DurBase"
    static let app = "com.example.DurApp"
    static let solo = "com.example.DurSolo"

    let input: ComponentFolder
    /// `GG_DURABILITY=<random>`: set in every component process.
    let marker: String

    /// Writes the recipes. `install` is each healthy version's Install script (gives deployments a window to
    /// be interrupted in); `run` the Run script; `shutdown` an optional Shutdown script (`NAME` is replaced by
    /// the component's short name).
    init(in directory: TemporaryDirectory, install: String = "sleep 0.2", run: String = "exec sleep 600", shutdown: String? = nil) throws {
        input = try ComponentFolder(in: directory, name: "durable")
        marker = "GG_DURABILITY=\(UInt64.random(in: 0...UInt64.max))"
        for version in ["1.0.0", "2.0.0", "3.0.0"] {
            for name in [Self.base, Self.app, Self.solo] {
                let short = name.components(separatedBy: ".").last!
                let crashes = version == "3.0.0" && name == Self.app
                let dependency = name == Self.app
                    ? "ComponentDependencies:\n  \(Self.base):\n    VersionRequirement: \">=1.0.0\"\n    DependencyType: HARD\n"
                    : ""
                let stop = shutdown.map { "      Shutdown: \(Self.quoted($0.replacingOccurrences(of: "NAME", with: short)))\n" } ?? ""
                try input.recipe("\(short)-\(version).yaml", """
                    RecipeFormatVersion: "2020-01-25"
                    ComponentName: \(name)
                    ComponentVersion: "\(version)"
                    \(dependency)
                    Manifests:
                      - Lifecycle:
                          Setenv:
                            \(marker.replacingOccurrences(of: "=", with: ": "))
                          Install: \(Self.quoted(crashes ? "true" : install))
                          Run: \(Self.quoted(crashes ? "exit 1" : run))
                    \(stop)
                    """)
            }
        }
    }

    /// A YAML double-quoted scalar.
    static func quoted(_ text: String) -> String {
        "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
    }

    /// A deployed set: component name → version.
    typealias ComponentSet = [String: String]

    static let setA: ComponentSet = [base: "1.0.0", app: "1.0.0", solo: "1.0.0"]
    static let setB: ComponentSet = [base: "2.0.0", app: "2.0.0"]
    /// `DurApp` 3.0.0 crashes: a deployment to this set fails.
    static let setBroken: ComponentSet = [base: "2.0.0", app: "3.0.0", solo: "1.0.0"]

    /// `deployment create` arguments that turn `current` into `target`.
    func arguments(from current: ComponentSet, to target: ComponentSet, extra: [String] = []) -> [String] {
        ["--recipeDir", input.recipes]
            + target.keys.sorted().flatMap { ["--merge", "\($0)=\(target[$0]!)"] }
            + current.keys.sorted().filter { target[$0] == nil }.flatMap { ["--remove", $0] }
            + extra
    }

    /// Every live process of these components.
    var processes: Set<ProcessIdentity> { ProcessIdentity.withEnvironment(marker) }
}

/// One row of `greengrass-cli component list`.
struct ListedComponent: Equatable, CustomStringConvertible {
    var version: String
    var state: String
    var description: String { "\(version) \(state)" }
}

extension NucleusProcess {
    /// `component list`, parsed: name → version and state (without the nucleus itself); nil when the CLI failed.
    func listedComponents() async throws -> [String: ListedComponent]? {
        let result = try await cli(["component", "list"])
        guard result.exitCode == 0 else { return nil }
        var components: [String: ListedComponent] = [:]
        for block in result.stdout.components(separatedBy: "Component Name: ").dropFirst() {
            let lines = block.components(separatedBy: "\n")
            func field(_ name: String) -> String {
                lines.first { $0.hasPrefix("    \(name): ") }.map { String($0.dropFirst(name.count + 6)) } ?? ""
            }
            components[lines[0]] = ListedComponent(version: field("Version"), state: field("State"))
        }
        components["aws.greengrass.Nucleus"] = nil
        return components
    }

    /// Whether `component list` shows exactly `set`, every component in `state`.
    func shows(_ set: DurableComponents.ComponentSet, allIn state: String = "RUNNING") async throws -> Bool {
        guard let listed = try await listedComponents() else { return false }
        return listed == set.mapValues { ListedComponent(version: $0, state: state) }
    }

    /// Submits a deployment without waiting for it; returns its id.
    func submitDeployment(_ arguments: [String]) async throws -> String {
        let created = try await cli(["deployment", "create"] + arguments)
        try #require(created.exitCode == 0, "deployment create failed: \(created.stderr)")
        return try #require(created.stdout.components(separatedBy: "Deployment Id: ").last?
            .trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Polls `deployment status` until the deployment is SUCCEEDED or FAILED (bounded by `timeout`); returns
    /// whether it ended and the last status seen.
    func awaitEnd(ofDeployment id: String, timeout: Duration = .seconds(60)) async throws -> (ended: Bool, status: String?) {
        var status: String?
        let ended = try await eventually(timeout: timeout) {
            status = try await deploymentStatus(id)
            return status == "SUCCEEDED" || status == "FAILED"
        }
        return (ended, status)
    }

    /// The deployment's status word (`QUEUED`, `IN_PROGRESS`, `SUCCEEDED`, `FAILED`), or nil when unknown.
    func deploymentStatus(_ id: String) async throws -> String? {
        let text = try await cli(["deployment", "status", "-i", id]).stdout
        guard let range = text.range(of: "\(id): ") else { return nil }
        return text[range.upperBound...].components(separatedBy: CharacterSet.whitespacesAndNewlines).first
    }
}

/// Runs `body` with a nucleus in a fresh root and `DurableComponents` written beside it. With `deploySetA` the
/// set A is deployed first (and must succeed). Afterwards, whatever happened, the nucleus is stopped (resumed first,
/// in case a test froze it) and every component process still alive is killed.
func withDurableNucleus(
    prefix: String, install: String = "sleep 0.2", shutdown: String? = nil, deploySetA: Bool = true,
    nucleusConfiguration: String? = nil,
    _ body: (NucleusProcess, DurableComponents, TemporaryDirectory) async throws -> Void
) async throws {
    let directory = try TemporaryDirectory(prefix: prefix)
    let components = try DurableComponents(in: directory, install: install, shutdown: shutdown)
    let nucleus = NucleusProcess(root: directory.file("root"))
    var configFile: String?
    if let nucleusConfiguration {
        configFile = directory.file("config.yaml")
        try nucleusConfiguration.write(toFile: directory.file("config.yaml"), atomically: true, encoding: .utf8)
    }
    try nucleus.start(configFile: configFile)
    defer {
        if let pid = nucleus.pid { kill(pid, SIGCONT) }
        nucleus.stop()
        for process in components.processes { kill(process.pid, SIGKILL) }
    }
    if deploySetA {
        let (_, first) = try await nucleus.deploy(components.arguments(from: [:], to: DurableComponents.setA))
        try #require(first.contains(": SUCCEEDED"), "\(first)")
    }
    try await body(nucleus, components, directory)
}

/// Formats a duration in milliseconds with one decimal, for the figures the stress test prints.
func milliseconds(_ duration: Duration) -> String {
    let (seconds, attoseconds) = duration.components
    return String(format: "%.1f ms", Double(seconds) * 1000 + Double(attoseconds) / 1e15)
}

/// The seed of a randomized test: `GG_DURABILITY_SEED` when set (to replay a failure), else a fresh one.
func durabilitySeed() -> UInt64 {
    ProcessInfo.processInfo.environment["GG_DURABILITY_SEED"].flatMap { UInt64($0) } ?? UInt64.random(in: 0...UInt64.max)
}
