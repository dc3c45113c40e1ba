import ArgumentParser
import EventStreamRPCClient
import GreengrassIPCModel

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
import Glibc
#endif

/// `greengrass-cli iotcore pub|sub`: AWS IoT Core MQTT through the nucleus (`PublishToIoTCore`,
/// `SubscribeToIoTCore`), with the CLI's own authorization, as the Greengrass CLI does.
struct IoTCoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "iotcore", abstract: "Publish or subscribe to IoT Core.", subcommands: [Pub.self, Sub.self])

    struct Pub: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Publish to IoT Core.")
        @OptionGroup var global: GlobalOptions
        @Option(name: [.short, .long], help: "The name of the topic.") var topic: String
        @Option(name: [.short, .long], help: "The message that is published: text, or the path of a file holding it.")
        var message: String
        @Option(name: [.short, .long], help: "The MQTT QoS: 0 (at most once) or 1 (at least once).")
        var qos: String = "0"

        func validate() throws {
            try TopicInput.validate(topic: topic)
            _ = try TopicInput.qos(qos)
        }

        func run() async throws {
            let request = PublishToIoTCoreRequest(
                topicName: topic, qos: try TopicInput.qos(qos),
                payload: Data(TopicInput.content(of: message, currentDirectory: FileManager.default.currentDirectoryPath).utf8))
            try await global.withConnection { connection in
                try await TopicInput.publishing(to: topic) {
                    let _: EmptyShape = try await connection.call(IPCOperationName.publishToIoTCore, request)
                }
            }
        }
    }

    struct Sub: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Subscribe to IoT Core.")
        @OptionGroup var global: GlobalOptions
        @Option(name: [.short, .long], help: "The topic filter (may hold the MQTT wildcards + and #).") var topic: String
        @Option(name: [.short, .long], help: "The MQTT QoS: 0 (at most once) or 1 (at least once).")
        var qos: String = "0"

        func validate() throws {
            try TopicInput.validate(topic: topic)
            _ = try TopicInput.qos(qos)
        }

        func run() async throws {
            let request = SubscribeToIoTCoreRequest(topicName: topic, qos: try TopicInput.qos(qos))
            try await global.withConnection { connection in
                let stream = try await connection.openStream(IPCOperationName.subscribeToIoTCore, request)
                try await TopicInput.printEvents(of: stream, topic: topic, closedLine: "Subscribe to IoT Core stream closed.") { event in
                    let decoded = try NucleusConnection.decode(IoTCoreMessageEvent.self, from: event, of: "IoTCoreMessage")
                    return String(decoding: decoded.message.payload, as: UTF8.self)
                }
            }
        }
    }
}

/// `greengrass-cli pubsub pub|sub`: local publish/subscribe (`PublishToTopic`, `SubscribeToTopic`).
struct PubSubCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pubsub", abstract: "Publish or subscribe to local topic.", subcommands: [Pub.self, Sub.self])

    struct Pub: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Publish to local topic.")
        @OptionGroup var global: GlobalOptions
        @Option(name: [.short, .long], help: "The name of the topic.") var topic: String
        @Option(name: [.short, .long], help: "The message that is published: text, or the path of a file holding it.")
        var message: String

        func validate() throws { try TopicInput.validate(topic: topic) }

        func run() async throws {
            let content = TopicInput.content(of: message, currentDirectory: FileManager.default.currentDirectoryPath)
            let request = PubSubPublishRequest(topic: topic, binary: Data(content.utf8))
            try await global.withConnection { connection in
                try await TopicInput.publishing(to: topic) {
                    let _: EmptyShape = try await connection.call(IPCOperationName.publishToTopic, request)
                }
            }
        }
    }

    struct Sub: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Subscribe to local topic.")
        @OptionGroup var global: GlobalOptions
        @Option(name: [.short, .long], help: "The topic (may hold the MQTT wildcards + and #).") var topic: String

        func validate() throws { try TopicInput.validate(topic: topic) }

        func run() async throws {
            // The Greengrass CLI hears its own publishes too.
            let request = PubSubSubscribeRequest(topic: topic, receiveMode: "RECEIVE_ALL_MESSAGES")
            try await global.withConnection { connection in
                let stream = try await connection.openStream(IPCOperationName.subscribeToTopic, request)
                try await TopicInput.printEvents(of: stream, topic: topic, closedLine: "Subscribe to topic stream closed.") { event in
                    let decoded = try NucleusConnection.decode(PubSubSubscriptionMessage.self, from: event, of: "SubscriptionResponseMessage")
                    return decoded.printedText
                }
            }
        }
    }
}

/// Input handling and output shared by the topic commands, as the Greengrass CLI's `TopicBaseInfo`.
enum TopicInput {
    static func validate(topic: String) throws {
        guard !topic.trimmedWhitespace().isEmpty else { throw ValidationError("Topic name cannot be empty") }
    }

    static func qos(_ text: String) throws -> IoTCoreQoS {
        guard let qos = IoTCoreQoS(rawValue: text.trimmedWhitespace()) else {
            throw ValidationError("--qos must be 0 or 1, got '\(text)'")
        }
        return qos
    }

    /// `-m` is the message, unless it names an existing file: then the file's contents are (as the Greengrass CLI).
    static func content(of message: String, currentDirectory: String) -> String {
        // A directory has no contents to read, so it is taken as text too.
        guard !message.isEmpty,
            let data = FileManager.default.contents(atPath: DeploymentRequestBuilder(currentDirectory: currentDirectory).absolute(message))
        else { return message }
        return String(decoding: data, as: UTF8.self)
    }

    /// Runs a publish, naming the topic in its error (the nucleus's own message does not).
    static func publishing(to topic: String, _ publish: () async throws -> Void) async throws {
        do {
            try await publish()
        } catch {
            throw CLIError.operationFailed("Failed to publish to topic \(topic): \(error)")
        }
    }

    /// Prints `Successfully subscribed to topic: <topic>`, then one line per message, until the nucleus closes
    /// the stream or the user interrupts the CLI. Each line is flushed at once: the output is often a pipe.
    static func printEvents(
        of stream: IPCClientStream, topic: String, closedLine: String, _ text: (IPCResponse) throws -> String?
    ) async throws {
        printLine("Successfully subscribed to topic: \(topic)")
        for try await event in stream.events {
            if let line = try text(event) { printLine(line) }
        }
        printLine(closedLine)
    }

    static func printLine(_ line: String) {
        print(line)
        fflush(nil)  // all streams: naming `stdout` is a shared-mutable-state error in Swift 6
    }
}

/// `aws.greengrass#PublishToTopicRequest` with a `binaryMessage`, as the Greengrass CLI sends it.
struct PubSubPublishRequest: Codable, Equatable {
    struct Message: Codable, Equatable { var binaryMessage: PubSubBinaryMessage }
    var topic: String
    var publishMessage: Message

    init(topic: String, binary: Data) {
        self.topic = topic
        publishMessage = Message(binaryMessage: PubSubBinaryMessage(message: binary))
    }
}

/// `aws.greengrass#SubscribeToTopicRequest`.
struct PubSubSubscribeRequest: Codable, Equatable {
    var topic: String
    var receiveMode: String
}

struct PubSubBinaryMessage: Codable, Equatable { var message: Data? }
struct PubSubJSONMessage: Codable, Equatable { var message: JSONDocument? }

/// `aws.greengrass#SubscriptionResponseMessage`: a JSON message prints as compact JSON, a binary one as UTF-8
/// text; a JSON message without a body prints nothing, as in the Greengrass CLI.
struct PubSubSubscriptionMessage: Codable, Equatable {
    var jsonMessage: PubSubJSONMessage?
    var binaryMessage: PubSubBinaryMessage?

    var printedText: String? {
        if let json = jsonMessage { return json.message.map(CLIOutput.compactJSON) }
        if let binary = binaryMessage?.message { return String(decoding: binary, as: UTF8.self) }
        return nil
    }
}
