import Foundation
import GreengrassTestSupport
import Testing

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Deploys `Components/qos1_load.py` as `name`: `count` numbered QoS 1 PublishToIoTCore calls to `topic`, 10 ms
/// apart, each logged as ACKED or FAILED, then LOAD DONE.
private func deployQoS1Load(on nucleus: NucleusProcess, in directory: TemporaryDirectory, name: String, topic: String, count: Int) async throws {
    let input = try ComponentFolder(in: directory, name: name)
    let script = try String(contentsOfFile: repositoryRoot + "/Tests/NucleusIntegrationTests/Components/qos1_load.py", encoding: .utf8)
    try input.artifact(name, "1.0.0", "qos1_load.py", script)
    try input.recipe("load.yaml", """
        RecipeFormatVersion: "2020-01-25"
        ComponentName: \(name)
        ComponentVersion: "1.0.0"
        ComponentConfiguration:
          DefaultConfiguration:
            accessControl:
              aws.greengrass.ipc.mqttproxy:
                \(name):mqttproxy:1:
                  operations: ["aws.greengrass#PublishToIoTCore"]
                  resources: ["\(topic)"]
        Manifests:
          - Lifecycle:
              Run: python3 -u {artifacts:path}/qos1_load.py \(topic) \(count) 0.01
        """)
    let (_, status) = try await nucleus.deploy(["--recipeDir", input.recipes, "--artifactDir", input.artifacts, "--merge", "\(name)=1.0.0"])
    #expect(status.contains(": SUCCEEDED"), "\(status)")
}

@Suite("IoT Core publishing survives a broker restart", .serialized)
struct BrokerRestartTests {
    @Test func everyAcknowledgedQoS1PublishArrivesUpstreamAcrossABrokerRestart() async throws {
        let broker = try Mosquitto(Mosquitto.Options(persistence: true))
        let directory = try TemporaryDirectory(prefix: "ggbr")
        let received = directory.file("received.txt")
        let collector = try PersistentCollector(port: broker.port, topic: "load/topic", output: received)
        defer { withExtendedLifetime(collector) {} }
        // The collector's persistent subscription must exist before the load starts.
        #expect(await eventually(timeout: .seconds(20)) { broker.log().contains("Subscribe") || broker.log().contains("SUBSCRIBE") })

        let config = try writeUpstreamConfig(
            in: directory, thingName: "restart-device", port: broker.port,
            extraMQTT: ["minimumReconnectDelaySeconds: 0.2", "maximumReconnectDelaySeconds: 1"])
        let nucleus = NucleusProcess(root: directory.file("root"))
        try nucleus.start(configFile: config)
        defer { nucleus.stop() }

        try await deployQoS1Load(on: nucleus, in: directory, name: "com.example.Load", topic: "load/topic", count: 300)

        func acknowledged() -> Set<String> {
            Set(nucleus.log("com.example.Load").components(separatedBy: "\n").compactMap { line in
                line.range(of: "stdout. ACKED ").map { String(line[$0.upperBound...].prefix { $0.isNumber }) }
            })
        }
        #expect(await eventually(timeout: .seconds(60)) { acknowledged().count >= 50 }, "load did not start")
        try broker.restart()
        #expect(await eventually(timeout: .seconds(120)) { nucleus.log("com.example.Load").contains("LOAD DONE") })
        let acked = acknowledged()
        #expect(acked.count >= 250, "most publishes are acknowledged (spooled while the broker was away): \(acked.count)")
        let arrived = await eventually(timeout: .seconds(60)) {
            let lines = Set(((try? String(contentsOfFile: received, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init))
            return acked.isSubset(of: lines)
        }
        let lines = Set(((try? String(contentsOfFile: received, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init))
        #expect(arrived, "acknowledged but never arrived upstream: \(acked.subtracting(lines).sorted { Int($0)! < Int($1)! })")
    }

    /// Offline with a spool that holds three messages: the fourth QoS 1 publish is refused to the component with
    /// Greengrass's ServiceError, and connect attempts that never connected are logged as such, not as interruptions.
    @Test func fullSpoolRefusesTheComponentsPublishWithGreengrassServiceError() async throws {
        let directory = try TemporaryDirectory(prefix: "ggsp")
        let nobodyListens = try FreePort.tcp()
        let config = try writeUpstreamConfig(
            in: directory, thingName: "spool-device", port: nobodyListens,
            extraMQTT: ["minimumReconnectDelaySeconds: 0.2", "maximumReconnectDelaySeconds: 1", "spooler:", "  maxSizeInBytes: 300"])
        let nucleus = NucleusProcess(root: directory.file("root"))
        try nucleus.start(configFile: config)
        defer { nucleus.stop() }

        try await deployQoS1Load(on: nucleus, in: directory, name: "com.example.Spool", topic: "spool/topic", count: 6)
        #expect(await eventually(timeout: .seconds(60)) { nucleus.log("com.example.Spool").contains("LOAD DONE") })
        let log = nucleus.log("com.example.Spool")
        // Each message costs payload + topic + 64 bytes of overhead (76 bytes here): three fit in 300, not four.
        for index in 0..<3 { #expect(log.contains("ACKED \(index)"), "\(log)") }
        let lines = log.components(separatedBy: "\n")
        for index in 3..<6 {
            // The log quotes stdout text that contains a colon, so match the parts.
            let refusal = lines.first { $0.contains("FAILED \(index) ServiceError: ") }
            #expect(
                refusal?.contains("Publish to topic spool/topic failed: Message spool is full. Message could not be added.") == true,
                "\(log)")
        }
        let nucleusLog = nucleus.log("greengrass")
        #expect(nucleusLog.contains("Failed to connect to AWS IoT Core"))
        #expect(!nucleusLog.contains("Connection interrupted"), "nothing was ever connected")
    }
}
