import Foundation
import GreengrassTestSupport
import Testing

/// SubscribeToComponentUpdates / DeferComponentUpdate, SubscribeToIoTCoreConnectionStatus, PutComponentMetric and
/// the CLI operations called by a component, all through the unmodified AWS SDK (clientv2).
@Suite("Component updates, connection status and metrics with the real AWS SDK", .serialized)
struct ComponentUpdateIPCTests {
    static let script = repositoryRoot + "/Tests/NucleusIntegrationTests/Components/update_and_status_checks.py"

    /// A component running `update_and_status_checks.py <role> <name>`, with `accessControl` YAML (may be empty).
    static func component(
        _ input: ComponentFolder, _ name: String, version: String = "1.0.0", role: String, accessControl: String = ""
    ) throws {
        try input.artifact(name, version, "checks.py", try String(contentsOfFile: script, encoding: .utf8))
        let configuration = accessControl.isEmpty ? "" : """
            ComponentConfiguration:
              DefaultConfiguration:
                accessControl:
            \(accessControl)
            """
        try input.recipe("\(name)-\(version).yaml", """
            RecipeFormatVersion: "2020-01-25"
            ComponentName: \(name)
            ComponentVersion: "\(version)"
            \(configuration)
            Manifests:
              - Lifecycle:
                  Run: python3 -u {artifacts:path}/checks.py \(role) \(name)
            """)
    }

    static func count(_ text: String, _ needle: String) -> Int { text.components(separatedBy: needle).count - 1 }

    /// Deploys `name` (role `role`) and waits until it subscribed to component updates.
    func deploySubscriber(_ nucleus: NucleusProcess, _ input: ComponentFolder, _ name: String, role: String) async throws {
        try Self.component(input, name, role: role)
        let (_, status) = try await nucleus.deploy(["--recipeDir", input.recipes, "--artifactDir", input.artifacts, "--merge", "\(name)=1.0.0"])
        #expect(status.contains(": SUCCEEDED"), "\(status)")
        #expect(await eventually { nucleus.log(name).contains("SUBSCRIBED") }, "\(nucleus.log(name))")
    }

    @Test func plainLocalDeploymentNotifiesNoOneAsGreengrassDoes() async throws {
        try await withConnectedNucleus { nucleus, _, directory in
            let input = try ComponentFolder(in: directory)
            try await deploySubscriber(nucleus, input, "com.example.Recorder", role: "record")
            // Updates the subscribed component itself: a new version replaces the running process.
            try Self.component(input, "com.example.Recorder", version: "1.0.1", role: "record")
            let (_, status) = try await nucleus.deploy([
                "--recipeDir", input.recipes, "--artifactDir", input.artifacts, "--merge", "com.example.Recorder=1.0.1",
            ])
            #expect(status.contains(": SUCCEEDED"), "\(status)")
            #expect(await eventually { Self.count(nucleus.log("com.example.Recorder"), "SUBSCRIBED") == 2 })
            #expect(!nucleus.log("com.example.Recorder").contains("EVENT"), "\(nucleus.log("com.example.Recorder"))")
        }
    }

    /// With `subscriber` (role `role`) running, deploys a new component with `--notify-components <timeout>`;
    /// returns the deployment id, how long it took and the subscriber's log once it got PostComponentUpdateEvent.
    func notifyingDeployment(subscriber: String, role: String, timeoutSeconds: Int) async throws -> (id: String, took: Duration, log: String) {
        var result: (String, Duration, String) = ("", .zero, "")
        try await withConnectedNucleus { nucleus, _, directory in
            let input = try ComponentFolder(in: directory)
            try await deploySubscriber(nucleus, input, subscriber, role: role)
            try Self.component(input, "com.example.Added", role: "record")
            let started = ContinuousClock.now
            let (id, status) = try await nucleus.deploy([
                "--recipeDir", input.recipes, "--artifactDir", input.artifacts, "--merge", "com.example.Added=1.0.0",
                "--notify-components", "\(timeoutSeconds)",
            ])
            let took = ContinuousClock.now - started
            #expect(status.contains(": SUCCEEDED"), "\(status)")
            #expect(await eventually { nucleus.log(subscriber).contains("EVENT post \(id)") }, "\(nucleus.log(subscriber))")
            result = (id, took, nucleus.log(subscriber))
        }
        return result
    }

    @Test func notifyFlagWaitsForTwoDeferralsThenSucceeds() async throws {
        let (id, took, log) = try await notifyingDeployment(subscriber: "com.example.Deferrer", role: "defer-twice", timeoutSeconds: 60)
        #expect(Self.count(log, "EVENT pre \(id) False") == 3, "\(log)")
        #expect(log.contains("DEFER 2 3000") && log.contains("DEFER 3 0"), "\(log)")
        // Two 3 s rechecks, well inside the 60 s timeout.
        #expect(took >= .seconds(6) && took < .seconds(40), "took \(took)")
    }

    @Test func notifyFlagProceedsAtTheTimeoutWhenNoOneAnswers() async throws {
        let (id, took, log) = try await notifyingDeployment(subscriber: "com.example.Silent", role: "silent", timeoutSeconds: 5)
        #expect(Self.count(log, "EVENT pre \(id) False") == 1, "\(log)")
        #expect(took >= .seconds(5) && took < .seconds(30), "took \(took)")
    }

    @Test func bootstrapRestartIsAnnouncedWithIsGgcRestarting() async throws {
        try await withConnectedNucleus { nucleus, _, directory in
            let input = try ComponentFolder(in: directory)
            try await deploySubscriber(nucleus, input, "com.example.Recorder", role: "record")
            try input.recipe("restarter.yaml", """
                RecipeFormatVersion: "2020-01-25"
                ComponentName: com.example.Restarter
                ComponentVersion: "1.0.0"
                Manifests:
                  - Lifecycle:
                      Bootstrap: exit 100
                      Run: sleep 600
                """)
            let (id, status) = try await nucleus.deploy(
                ["--recipeDir", input.recipes, "--merge", "com.example.Restarter=1.0.0", "--notify-components", "2"], timeout: .seconds(120))
            #expect(status.contains(": SUCCEEDED"), "\(status)")
            let log = nucleus.log("com.example.Recorder")
            #expect(log.contains("EVENT pre \(id) True"), "\(log)")
            #expect(nucleus.log("greengrass").contains("system-restart"))
        }
    }

    @Test func metricsCLIOperationsAndConnectionStatusAcrossABrokerRestart() async throws {
        try await withConnectedNucleus { nucleus, broker, directory in
            let input = try ComponentFolder(in: directory)
            let name = "aws.test.Checks"
            try Self.component(input, name, role: "checks", accessControl: """
                      aws.greengrass.ipc.componentmetric:
                        \(name):metric:1:
                          operations: ["aws.greengrass#PutComponentMetric"]
                          resources: ["cpu"]
                      aws.greengrass.Cli:
                        \(name):cli:1:
                          operations: ["aws.greengrass#GetComponentDetails", "aws.greengrass#ListComponents"]
                          resources: ["*"]
                """)
            let (_, status) = try await nucleus.deploy(["--recipeDir", input.recipes, "--artifactDir", input.artifacts, "--merge", "\(name)=1.0.0"])
            #expect(status.contains(": SUCCEEDED"), "\(status)")
            #expect(await eventually(timeout: .seconds(60)) { nucleus.log(name).contains("CHECKS DONE") }, "\(nucleus.log(name))")
            let log = nucleus.log(name)
            for check in ["metrics", "cli-operations", "defer-unsubscribed", "connection-status"] {
                #expect(log.contains("CHECK \(check) ok"), "check \(check): \(log)")
            }
            #expect(log.contains("STATUS CONNECTED"), "\(log)")
            let greengrassLog = nucleus.log("greengrass")
            #expect(greengrassLog.contains("component-metric") && greengrassLog.contains("metric=cpu"), "metric not logged")

            broker.stop()
            #expect(await eventually { nucleus.log(name).contains("STATUS DISCONNECTED") }, "\(nucleus.log(name))")
            try broker.restart()
            #expect(await eventually(timeout: .seconds(60)) {
                Self.count(nucleus.log(name), "STATUS CONNECTED") == 2
            }, "\(nucleus.log(name))")
        }
    }
}
