import Foundation
import GreengrassTestSupport
import Testing

/// The repository root (for the sample recipes and artifacts).
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

/// A nucleus whose upstream broker is a real Mosquitto on a free loopback port.
func withConnectedNucleus(_ body: (NucleusProcess, Mosquitto, TemporaryDirectory) async throws -> Void) async throws {
    let broker = try Mosquitto()
    let directory = try TemporaryDirectory(prefix: "ggipc")
    let config = try writeUpstreamConfig(in: directory, thingName: "test-device", port: broker.port)
    let nucleus = NucleusProcess(root: directory.file("root"))
    try nucleus.start(configFile: config)
    do {
        try await body(nucleus, broker, directory)
    } catch {
        nucleus.stop()
        throw error
    }
    // Graceful stop with a live upstream connection: components, bridge, MQTT client and IPC server, in order.
    let started = ContinuousClock.now
    #expect(nucleus.stop(timeout: .seconds(30)) == 0, "the nucleus must exit 0 on SIGTERM: \(nucleus.consoleOutput())")
    #expect(ContinuousClock.now - started < .seconds(20), "graceful stop took \(ContinuousClock.now - started)")
}

/// Writes a `config.yaml` that points the nucleus at the Mosquitto on `port` (plain TCP); `extraMQTT` lines go
/// under `mqtt:`. Returns its path.
func writeUpstreamConfig(in directory: TemporaryDirectory, thingName: String, port: Int, extraMQTT: [String] = []) throws -> String {
    let config = directory.file("config.yaml")
    let mqtt = (["port: \(port)"] + extraMQTT).map { "        " + $0 }.joined(separator: "\n")
    try """
        system:
          thingName: \(thingName)
        services:
          aws.greengrass.Nucleus:
            configuration:
              iotDataEndpoint: 127.0.0.1
              mqtt:
        \(mqtt)

        """.write(toFile: config, atomically: true, encoding: .utf8)
    return config
}

/// `mosquitto_sub` collecting messages from the broker in the background.
final class BrokerSubscriber: @unchecked Sendable {
    let process = Process()
    let output: String

    init(port: Int, topic: String, directory: TemporaryDirectory) throws {
        output = directory.file("sub-\(UInt32.random(in: 0...UInt32.max)).txt")
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/mosquitto_sub")
        process.arguments = ["-h", "127.0.0.1", "-p", "\(port)", "-t", topic, "-v", "-q", "1"]
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        try process.run()
    }

    var lines: [String] {
        ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    deinit {
        // SIGKILL: children of Foundation.Process may inherit a mask that blocks SIGTERM (swift-style.md §9).
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

@Suite("Component IPC with the real AWS SDK and a real broker", .serialized)
struct NucleusIPCTests {
    @Test func samplePublisherAndSubscriberExchangeMessagesThroughTheBroker() async throws {
        try await withConnectedNucleus { nucleus, broker, directory in
            let outside = try BrokerSubscriber(port: broker.port, topic: "core/topic", directory: directory)
            let (_, status) = try await nucleus.deploy([
                "--recipeDir", repositoryRoot + "/recipes", "--artifactDir", repositoryRoot + "/artifacts",
                "--merge", "com.example.IoTCorePublisher=1.0.0", "--merge", "com.example.IoTCoreSubscriber=1.0.0",
                "--update-config", #"{"com.example.IoTCorePublisher":{"MERGE":{"intervalSeconds":0.2}}}"#,
            ])
            #expect(status.contains(": SUCCEEDED"), "\(status)")
            let received = nucleus.root + "/work/com.example.IoTCoreSubscriber/received.jsonl"
            let flowed = await eventually(timeout: .seconds(30)) {
                ((try? String(contentsOfFile: received, encoding: .utf8)) ?? "").contains("\"msg\": \"hello.world\"")
            }
            #expect(flowed, "subscriber log: \(nucleus.log("com.example.IoTCoreSubscriber")) publisher log: \(nucleus.log("com.example.IoTCorePublisher"))")
            #expect(await eventually { outside.lines.contains { $0.hasPrefix("core/topic {\"msg\": \"hello.world\"") } })

            // A message published from outside reaches the subscribed component.
            let published = try await ChildProcess.run(
                "/usr/bin/mosquitto_pub", ["-h", "127.0.0.1", "-p", "\(broker.port)", "-t", "core/topic", "-q", "1", "-m", #"{"from":"outside"}"#],
                timeout: .seconds(10))
            #expect(published.exitCode == 0)
            #expect(await eventually {
                ((try? String(contentsOfFile: received, encoding: .utf8)) ?? "").contains(#"{"from":"outside"}"#)
            })
        }
    }

    @Test func sdkComponentRunsEveryIPCCheck() async throws {
        try await withConnectedNucleus { nucleus, _, directory in
            let input = try ComponentFolder(in: directory)
            let script = try String(contentsOfFile: repositoryRoot + "/Tests/NucleusIntegrationTests/Components/ipc_checks.py", encoding: .utf8)
            try input.artifact("com.example.IPCChecks", "1.0.0", "ipc_checks.py", script)
            try input.recipe("checks.yaml", """
                RecipeFormatVersion: "2020-01-25"
                ComponentName: com.example.IPCChecks
                ComponentVersion: "1.0.0"
                ComponentConfiguration:
                  DefaultConfiguration:
                    settings:
                      color: blue
                      size: 3
                    accessControl:
                      aws.greengrass.ipc.mqttproxy:
                        com.example.IPCChecks:mqttproxy:1:
                          operations: ["aws.greengrass#PublishToIoTCore", "aws.greengrass#SubscribeToIoTCore"]
                          resources: ["checks/#"]
                      aws.greengrass.ipc.pubsub:
                        com.example.IPCChecks:pubsub:1:
                          operations: ["*"]
                          resources: ["local/*"]
                Manifests:
                  - Lifecycle:
                      Run: python3 -u {artifacts:path}/ipc_checks.py
                """)
            let (_, status) = try await nucleus.deploy([
                "--recipeDir", input.recipes, "--artifactDir", input.artifacts, "--merge", "com.example.IPCChecks=1.0.0",
            ])
            #expect(status.contains(": SUCCEEDED"), "\(status)")
            let done = await eventually(timeout: .seconds(60)) { nucleus.log("com.example.IPCChecks").contains("CHECKS DONE") }
            let log = nucleus.log("com.example.IPCChecks")
            #expect(done, "\(log)")
            for name in ["local-pubsub", "iot-core-round-trip", "qos0-publish", "denied-publish", "configuration", "update-state", "wrong-token"] {
                #expect(log.contains("CHECK \(name) ok"), "check \(name): \(log.components(separatedBy: "\n").filter { $0.contains(name) })")
            }
            let details = try await nucleus.cli(["component", "details", "-n", "com.example.IPCChecks"])
            #expect(details.stdout.contains(#""color":"red""#), "UpdateConfiguration persisted: \(details.stdout)")
        }
    }
}

@Suite("Deployment-time configuration validation with the real AWS SDK", .serialized)
struct ConfigurationValidationIntegrationTests {
    @Test func aValidatorComponentVetoesABadConfigurationAndAcceptsAGoodOne() async throws {
        try await withNucleus { nucleus, directory in
            let input = try ComponentFolder(in: directory)
            let script = try String(
                contentsOfFile: repositoryRoot + "/Tests/NucleusIntegrationTests/Components/config_validator.py", encoding: .utf8)
            try input.artifact("com.example.Validator", "1.0.0", "config_validator.py", script)
            try input.recipe("validator.yaml", """
                RecipeFormatVersion: "2020-01-25"
                ComponentName: com.example.Validator
                ComponentVersion: "1.0.0"
                ComponentConfiguration:
                  DefaultConfiguration:
                    limit: 1
                Manifests:
                  - Lifecycle:
                      Run: python3 -u {artifacts:path}/config_validator.py
                """)
            let (_, first) = try await nucleus.deploy([
                "--recipeDir", input.recipes, "--artifactDir", input.artifacts, "--merge", "com.example.Validator=1.0.0",
            ])
            #expect(first.contains(": SUCCEEDED"), "\(first)")
            let ready = await eventually(timeout: .seconds(30)) {
                nucleus.log("com.example.Validator").contains("VALIDATOR READY")
            }
            try #require(ready, "\(nucleus.log("com.example.Validator"))")

            let (rejectedID, rejected) = try await nucleus.deploy([
                "--update-config", #"{"com.example.Validator":{"MERGE":{"limit":5}}}"#, "--merge", "com.example.Validator=1.0.0",
            ])
            #expect(rejected.contains(": FAILED"), "\(rejected)")
            #expect(
                rejected.contains(
                    "Components reported that their to-be-deployed configuration is invalid { name = com.example.Validator, message = limit must be at most 3, got 5 }"),
                "\(rejected)")
            #expect(nucleus.log("com.example.Validator").contains("VALIDATED \(rejectedID) limit=5 accepted=False"))
            let unchanged = try await nucleus.cli(["component", "details", "-n", "com.example.Validator"]).stdout
            #expect(unchanged.contains(#""limit":1"#), "a vetoed configuration must not be applied: \(unchanged)")

            let (_, accepted) = try await nucleus.deploy([
                "--update-config", #"{"com.example.Validator":{"MERGE":{"limit":2}}}"#, "--merge", "com.example.Validator=1.0.0",
            ])
            #expect(accepted.contains(": SUCCEEDED"), "\(accepted)")
            let changed = try await nucleus.cli(["component", "details", "-n", "com.example.Validator"]).stdout
            #expect(changed.contains(#""limit":2"#), "\(changed)")
        }
    }
}
