import Foundation
import GreengrassTestSupport
import Testing

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// A long-running `greengrass-cli … sub` whose output is collected in a file.
final class CLISubscription: @unchecked Sendable {
    let process = Process()
    let output: String

    init(root: String, arguments: [String], directory: TemporaryDirectory) throws {
        output = directory.file("cli-sub-\(UInt32.random(in: 0...UInt32.max)).txt")
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        process.executableURL = URL(fileURLWithPath: NucleusProcess.cliExecutable)
        process.arguments = ["--root", root] + arguments
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    var text: String { (try? String(contentsOfFile: output, encoding: .utf8)) ?? "" }

    deinit {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

@Suite("greengrass-cli deployment cancel, pubsub, iotcore, get-debug-password against a real nucleus", .serialized)
struct CLIParityCommandsTests {
    /// A queued deployment is cancelled (AWS CLI text), never runs, stays CANCELED across a kill -9 and restart;
    /// one that is changing components, a finished one, an unknown id and a malformed id are answered clearly.
    @Test func deploymentCancelOfAQueuedDeploymentAndItsBadInputs() async throws {
        try await withNucleus { nucleus, directory in
            let input = try ComponentFolder(in: directory)
            let started = directory.file("install-started")
            let gate = directory.file("install-gate")
            let neverRan = directory.file("never-ran")
            // Install runs after the deployment has committed its set: it holds the first deployment there.
            try input.recipe("blocker.yaml", ComponentFolder.yaml(
                "com.example.Blocker", run: "sleep 600",
                extraLifecycle: "      Install: touch \(started); while [ ! -f \(gate) ]; do sleep 0.1; done"))
            try input.recipe("never.yaml", ComponentFolder.yaml("com.example.Never", run: "touch \(neverRan); sleep 600"))

            let first = try await nucleus.cli([
                "deployment", "create", "--recipeDir", input.recipes, "--merge", "com.example.Blocker=1.0.0"])
            let firstID = try #require(first.stdout.components(separatedBy: "Deployment Id: ").last?.trimmingCharacters(in: .whitespacesAndNewlines))
            #expect(await eventually(timeout: .seconds(60)) { FileManager.default.fileExists(atPath: started) })
            let second = try await nucleus.cli([
                "deployment", "create", "--recipeDir", input.recipes, "--merge", "com.example.Never=1.0.0"])
            let secondID = try #require(second.stdout.components(separatedBy: "Deployment Id: ").last?.trimmingCharacters(in: .whitespacesAndNewlines))
            #expect(try await nucleus.cli(["deployment", "status", "-i", secondID]).stdout.hasPrefix("\(secondID): QUEUED\n"))

            let cancel = try await nucleus.cli(["deployment", "cancel", "-i", secondID])
            #expect(cancel.exitCode == 0, "\(cancel.stderr)")
            #expect(cancel.stdout == "Cancel request submitted. Deployment ID: \(secondID)\n")
            #expect(try await nucleus.cli(["deployment", "status", "-i", secondID]).stdout.hasPrefix("\(secondID): CANCELED\n"))

            // The first deployment is changing components: it is not cut in half.
            let late = try await nucleus.cli(["deployment", "cancel", "--deploymentId", firstID])
            #expect(late.exitCode == 0)
            #expect(late.stdout == "Cancellation request is not processed because deployment is already changing components. Deployment ID: \(firstID)\n")

            _ = FileManager.default.createFile(atPath: gate, contents: nil)
            #expect(await eventually(timeout: .seconds(60)) {
                (try? await nucleus.cli(["deployment", "status", "-i", firstID]).stdout.hasPrefix("\(firstID): SUCCEEDED")) == true
            })
            let finished = try await nucleus.cli(["deployment", "cancel", "-i", secondID])
            #expect(finished.exitCode == 0)
            #expect(finished.stdout == "Cancellation request is not processed because deployment is already finished\n")

            let unknown = UUID().uuidString.lowercased()
            let notFound = try await nucleus.cli(["deployment", "cancel", "-i", unknown])
            #expect(notFound.exitCode == 1)
            #expect(notFound.stderr.contains("ResourceNotFoundError: Cannot find the deployment id provided \(unknown)"), "\(notFound.stderr)")
            let malformed = try await nucleus.cli(["deployment", "cancel", "-i", "not-a-uuid"])
            #expect(malformed.exitCode == 1)
            #expect(malformed.stderr.contains("InvalidArgumentsError: Invalid deploymentId format received. DeploymentId is a UUID"), "\(malformed.stderr)")

            let list = try await nucleus.cli(["deployment", "list"]).stdout
            #expect(list.contains("Deployment ID: \(secondID)\nCreated on: "))
            #expect(list.components(separatedBy: "Deployment ID: \(secondID)\n").last?.contains("Status: CANCELED") == true)

            // A kill -9 and a restart neither forget nor resume the cancelled deployment.
            nucleus.kill()
            try nucleus.start()
            #expect(try await nucleus.cli(["deployment", "status", "-i", secondID]).stdout.hasPrefix("\(secondID): CANCELED\n"))
            try await Task.sleep(for: .seconds(1))
            #expect(try await nucleus.state(of: "com.example.Never") == nil)
            #expect(!FileManager.default.fileExists(atPath: neverRan))
        }
    }

    /// `pubsub sub` prints the AWS CLI's line, then each message `pubsub pub` sends (text, or a file's contents).
    @Test func pubsubPubAndSubThroughTheNucleus() async throws {
        try await withNucleus { nucleus, directory in
            let subscription = try CLISubscription(root: nucleus.root, arguments: ["pubsub", "sub", "-t", "cli/local"], directory: directory)
            #expect(await eventually { subscription.text.contains("Successfully subscribed to topic: cli/local\n") })
            let published = try await nucleus.cli(["pubsub", "pub", "-t", "cli/local", "-m", "hello local"])
            #expect(published.exitCode == 0, "\(published.stderr)")
            #expect(published.stdout.isEmpty)
            let file = directory.file("message.json")
            try #"{"from":"file"}"#.write(toFile: file, atomically: true, encoding: .utf8)
            #expect(try await nucleus.cli(["pubsub", "pub", "--topic", "cli/local", "--message", file]).exitCode == 0)
            #expect(await eventually {
                subscription.text == "Successfully subscribed to topic: cli/local\nhello local\n{\"from\":\"file\"}\n"
            }, "\(subscription.text)")

            let wildcard = try await nucleus.cli(["pubsub", "pub", "-t", "cli/+", "-m", "x"])
            #expect(wildcard.exitCode != 0)
            #expect(wildcard.stderr.contains("Failed to publish to topic cli/+"), "\(wildcard.stderr)")
        }
    }

    /// `iotcore pub` reaches the broker with the QoS asked; `iotcore sub` prints what the broker delivers; a
    /// publish to a wildcard topic is refused naming the topic, and nothing reaches the broker.
    @Test func iotcorePubAndSubThroughTheNucleusAndARealBroker() async throws {
        try await withConnectedNucleus { nucleus, broker, directory in
            let outside = try BrokerSubscriber(port: broker.port, topic: "cli/#", directory: directory)
            try await Task.sleep(for: .milliseconds(500))
            let published = try await nucleus.cli(["iotcore", "pub", "-t", "cli/up", "-m", "to the cloud", "-q", "1"])
            #expect(published.exitCode == 0, "\(published.stderr)")
            #expect(published.stdout.isEmpty)
            #expect(await eventually { outside.lines.contains("cli/up to the cloud") }, "\(outside.lines)")

            let refused = try await nucleus.cli(["iotcore", "pub", "-t", "cli/+/x", "-m", "never"])
            #expect(refused.exitCode != 0)
            #expect(refused.stderr.contains("Failed to publish to topic cli/+/x"), "\(refused.stderr)")
            #expect(refused.stderr.contains("Publish topics must not contain wildcard characters of '#' or '+'"), "\(refused.stderr)")
            let badQos = try await nucleus.cli(["iotcore", "pub", "-t", "cli/up", "-m", "never", "-q", "2"])
            #expect(badQos.exitCode != 0)
            #expect(badQos.stderr.contains("--qos must be 0 or 1, got '2'"), "\(badQos.stderr)")

            let subscription = try CLISubscription(root: nucleus.root, arguments: ["iotcore", "sub", "-t", "cli/down/#", "-q", "1"], directory: directory)
            #expect(await eventually { subscription.text.contains("Successfully subscribed to topic: cli/down/#\n") })
            let outsidePublish = try await ChildProcess.run(
                "/usr/bin/mosquitto_pub", ["-h", "127.0.0.1", "-p", "\(broker.port)", "-t", "cli/down/1", "-m", "from the cloud", "-q", "1"],
                timeout: .seconds(10))
            #expect(outsidePublish.exitCode == 0)
            #expect(await eventually {
                subscription.text == "Successfully subscribed to topic: cli/down/#\nfrom the cloud\n"
            }, "\(subscription.text)")
            #expect(!outside.lines.contains { $0.contains("never") })
        }
    }

    /// `get-debug-password` says in one line that there is no debug console and fails; `--help` lists every AWS
    /// command.
    @Test func getDebugPasswordIsRefusedAndHelpListsEveryCommand() async throws {
        try await withNucleus { nucleus, _ in
            let password = try await nucleus.cli(["get-debug-password"])
            #expect(password.exitCode != 0)
            #expect(password.stdout.isEmpty)
            #expect(password.stderr.contains("get-debug-password is not supported: this nucleus has no local debug console"), "\(password.stderr)")
            let help = try await nucleus.cli(["--help"])
            for command in ["component", "deployment", "logs", "get-debug-password", "pubsub", "iotcore"] {
                #expect(help.stdout.contains("  \(command) "), "--help does not list \(command): \(help.stdout)")
            }
        }
    }
}
