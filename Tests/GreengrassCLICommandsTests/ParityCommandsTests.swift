import ArgumentParser
import Foundation
import GreengrassIPCModel
import GreengrassJSON
import GreengrassTestSupport
import Testing

@testable import GreengrassCLICommands

/// `deployment cancel`, `pubsub`, `iotcore` and `get-debug-password`: the AWS CLI's names and flags, the requests
/// they send and what they print.
@Suite("CLI commands of the AWS Greengrass CLI: cancel, pubsub, iotcore, get-debug-password")
struct ParityCommandsTests {
    @Test func helpListsEveryAWSCommand() {
        let help = GreengrassCLI.helpMessage()
        for command in ["component", "deployment", "logs", "get-debug-password", "pubsub", "iotcore"] {
            #expect(help.contains("  \(command) "), "greengrass-cli --help does not list \(command)")
        }
        let deployment = GreengrassCLI.helpMessage(for: DeploymentCommand.self)
        for command in ["create", "cancel", "list", "status"] {
            #expect(deployment.contains("  \(command) "), "deployment --help does not list \(command)")
        }
    }

    @Test func deploymentCancelTakesTheDeploymentIdShortAndLong() throws {
        let short = try #require(try GreengrassCLI.parseAsRoot(["deployment", "cancel", "-i", "abc"]) as? DeploymentCommand.Cancel)
        #expect(short.deploymentId == "abc")
        let long = try #require(try GreengrassCLI.parseAsRoot(["deployment", "cancel", "--deploymentId", "def"]) as? DeploymentCommand.Cancel)
        #expect(long.deploymentId == "def")
        #expect(throws: (any Error).self) { try GreengrassCLI.parseAsRoot(["deployment", "cancel"]) }
    }

    @Test func cancelRequestAndResponseUseTheModelNames() throws {
        let request = try JSONValueEncoder().encodeToString(CancelLocalDeploymentRequest(deploymentId: "d-1"))
        #expect(request == #"{"deploymentId":"d-1"}"#)
        let response = try JSONValueDecoder().decode(
            CancelLocalDeploymentResponse.self, from: #"{"message":"Cancel request submitted. Deployment ID: d-1"}"#)
        #expect(response.message == "Cancel request submitted. Deployment ID: d-1")
        #expect(GreengrassOperation.cancelLocalDeployment.operationName == "aws.greengrass#CancelLocalDeployment")
    }

    @Test func iotcorePubTakesTopicMessageAndQosDefaultingToZero() throws {
        let command = try #require(try GreengrassCLI.parseAsRoot(["iotcore", "pub", "-t", "a/b", "-m", "hi"]) as? IoTCoreCommand.Pub)
        #expect(command.topic == "a/b")
        #expect(command.message == "hi")
        #expect(command.qos == "0")
        let long = try #require(
            try GreengrassCLI.parseAsRoot(["iotcore", "pub", "--topic", "t", "--message", "m", "--qos", "1"]) as? IoTCoreCommand.Pub)
        #expect(long.qos == "1")
        let sub = try #require(try GreengrassCLI.parseAsRoot(["iotcore", "sub", "-t", "a/#", "-q", "1"]) as? IoTCoreCommand.Sub)
        #expect(sub.topic == "a/#")
        #expect(sub.qos == "1")
    }

    @Test(arguments: [
        ["iotcore", "pub", "-t", " ", "-m", "x"], ["iotcore", "sub", "-t", ""], ["pubsub", "pub", "-t", "", "-m", "x"],
        ["pubsub", "sub", "-t", " "],
    ])
    func anEmptyTopicIsRefusedWithTheAWSMessage(arguments: [String]) {
        #expect(throws: (any Error).self) { try GreengrassCLI.parseAsRoot(arguments) }
        #expect(GreengrassCLI.message(for: Self.parseError(arguments)).contains("Topic name cannot be empty"))
    }

    @Test func aQosOtherThanZeroOrOneIsRefusedNamingIt() {
        let message = GreengrassCLI.message(for: Self.parseError(["iotcore", "pub", "-t", "t", "-m", "m", "-q", "2"]))
        #expect(message.contains("--qos must be 0 or 1, got '2'"))
        #expect(GreengrassCLI.exitCode(for: Self.parseError(["iotcore", "sub", "-t", "t", "-q", "x"])) != .success)
    }

    @Test func pubsubCommandsParse() throws {
        let pub = try #require(try GreengrassCLI.parseAsRoot(["pubsub", "pub", "-t", "local/t", "-m", "hello"]) as? PubSubCommand.Pub)
        #expect(pub.topic == "local/t")
        #expect(pub.message == "hello")
        let sub = try #require(try GreengrassCLI.parseAsRoot(["pubsub", "sub", "--topic", "local/+"]) as? PubSubCommand.Sub)
        #expect(sub.topic == "local/+")
        // pubsub has no QoS, as in the AWS CLI.
        #expect(throws: (any Error).self) { try GreengrassCLI.parseAsRoot(["pubsub", "pub", "-t", "t", "-m", "m", "-q", "1"]) }
    }

    @Test func pubsubPublishSendsABinaryMessage() throws {
        let encoder = JSONValueEncoder()
        let body = try encoder.encodeToString(PubSubPublishRequest(topic: "t/1", binary: Data("hi".utf8)))
        #expect(body == #"{"publishMessage":{"binaryMessage":{"message":"aGk="}},"topic":"t/1"}"#)
        let subscribe = try encoder.encodeToString(PubSubSubscribeRequest(topic: "t/#", receiveMode: "RECEIVE_ALL_MESSAGES"))
        #expect(subscribe == #"{"receiveMode":"RECEIVE_ALL_MESSAGES","topic":"t/#"}"#)
    }

    @Test(arguments: [
        (#"{"binaryMessage":{"message":"aGVsbG8=","context":{"topic":"t"}}}"#, "hello" as String?),
        (#"{"jsonMessage":{"message":{"b":[1,true],"a":"x"},"context":{"topic":"t"}}}"#, #"{"a":"x","b":[1,true]}"#),
        (#"{"jsonMessage":{"context":{"topic":"t"}}}"#, nil),
        (#"{"binaryMessage":{}}"#, nil),
    ])
    func subscriptionMessagesPrintAsTheAWSCLIPrintsThem(body: String, printed: String?) throws {
        let message = try JSONValueDecoder().decode(PubSubSubscriptionMessage.self, from: body)
        #expect(message.printedText == printed)
    }

    @Test func aMessageNamingAFileSendsTheFileContents() throws {
        let directory = try TemporaryDirectory(prefix: "clim")
        try "from a file".write(toFile: directory.file("payload.txt"), atomically: true, encoding: .utf8)
        #expect(TopicInput.content(of: "payload.txt", currentDirectory: directory.path) == "from a file")
        #expect(TopicInput.content(of: directory.file("payload.txt"), currentDirectory: "/") == "from a file")
        #expect(TopicInput.content(of: "no such file", currentDirectory: directory.path) == "no such file")
        #expect(TopicInput.content(of: directory.path, currentDirectory: "/") == directory.path)
        #expect(TopicInput.content(of: "", currentDirectory: directory.path) == "")
    }

    @Test func getDebugPasswordSaysThereIsNoDebugConsoleAndFails() async throws {
        let command = try #require(try GreengrassCLI.parseAsRoot(["get-debug-password"]) as? GetDebugPasswordCommand)
        let error = try #require(await Self.runError(command))
        #expect("\(error)" == GetDebugPasswordCommand.unsupportedMessage)
        #expect(GreengrassCLI.exitCode(for: error) != .success)
    }

    static func runError(_ command: GetDebugPasswordCommand) async -> (any Error)? {
        do {
            try await command.run()
        } catch {
            return error
        }
        return nil
    }

    static func parseError(_ arguments: [String]) -> any Error {
        do {
            _ = try GreengrassCLI.parseAsRoot(arguments)
        } catch {
            return error
        }
        return CLIError.operationFailed("parsed without error: \(arguments)")
    }
}
