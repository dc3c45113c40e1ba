import EventStreamRPCServer
import GreengrassIPCModel
import GreengrassJSON

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A local pub/sub message body, as the publisher sent it.
public enum PubSubMessage: Sendable, Hashable {
    /// `jsonMessage.message`: any JSON document (nil when the publisher left it out).
    case json(JSONValue?)
    /// `binaryMessage.message`: raw bytes (nil when the publisher left it out).
    case binary([UInt8]?)
}

/// `ReceiveMode` of `SubscribeToTopic`.
public enum ReceiveMode: String, Sendable, Hashable, CaseIterable {
    /// Deliver every message on the topic, including the subscriber's own.
    case receiveAllMessages = "RECEIVE_ALL_MESSAGES"
    /// Do not deliver the subscribing component's own messages.
    case receiveMessagesFromOthers = "RECEIVE_MESSAGES_FROM_OTHERS"

    /// Greengrass's default when the request has none: from others for a wildcard subscription (so a component
    /// listening on `#` does not hear its own publishes), everything otherwise.
    public static func `default`(for topic: String) -> ReceiveMode {
        let levels = topic.split(separator: "/", omittingEmptySubsequences: false)
        let wildcard = levels.contains("+") || levels.last == "#"
        return wildcard ? .receiveMessagesFromOthers : .receiveAllMessages
    }
}

/// A decoded `PublishToTopicRequest`.
public struct PublishToTopicRequest: Sendable, Hashable {
    /// The publish topic (non-empty; wildcards are refused later, after authorization).
    public var topic: String
    /// The body.
    public var message: PubSubMessage

    public init(topic: String, message: PubSubMessage) {
        self.topic = topic
        self.message = message
    }
}

/// A decoded `SubscribeToTopicRequest` (receive mode already defaulted).
public struct SubscribeToTopicRequest: Sendable, Hashable {
    /// The subscription filter as requested (non-empty).
    public var topic: String
    /// The requested mode, or the default for `topic`.
    public var receiveMode: ReceiveMode

    public init(topic: String, receiveMode: ReceiveMode) {
        self.topic = topic
        self.receiveMode = receiveMode
    }
}

/// The JSON of the two operations: strict decoding into typed values with `InvalidArgumentsError`s that say what
/// was wrong, and the `SubscriptionResponseMessage` encoding. Pure; no I/O.
public enum PubSubCodec {
    /// Requests nest only a few levels, but `jsonMessage.message` is an arbitrary document; bound its depth.
    static let parsing = JSONParsingOptions(maximumDepth: 128, maximumInputSize: 64 << 20)

    /// Decodes a `PublishToTopic` body. The topic is checked for presence only (wildcards are checked after
    /// authorization, as Greengrass does).
    public static func decodePublish(_ payload: [UInt8]) throws(IPCModeledError) -> PublishToTopicRequest {
        let body = try object(payload, operation: "PublishToTopic")
        let topic = try topicMember(body, what: "Publish")
        guard let publishMessage = present(body["publishMessage"]) else {
            throw .invalidArguments("publishMessage is required")
        }
        guard case .object(let union) = publishMessage else {
            throw .invalidArguments("publishMessage must be an object, found \(publishMessage.kindName)")
        }
        // An explicit null is an absent member (SDKs differ in whether they send unset union members).
        let json = present(union["jsonMessage"])
        let binary = present(union["binaryMessage"])
        switch (json, binary) {
        case (let json?, .none):
            return PublishToTopicRequest(topic: topic, message: .json(try member("message", of: json, in: "jsonMessage")))
        case (.none, let binary?):
            guard let encoded = try member("message", of: binary, in: "binaryMessage") else {
                return PublishToTopicRequest(topic: topic, message: .binary(nil))
            }
            guard case .string(let text) = encoded, let bytes = Data(base64Encoded: text) else {
                throw .invalidArguments("binaryMessage.message must be a base64 string")
            }
            return PublishToTopicRequest(topic: topic, message: .binary(Array(bytes)))
        default:
            throw .invalidArguments("publishMessage must set exactly one of jsonMessage and binaryMessage")
        }
    }

    /// Decodes a `SubscribeToTopic` body and applies the default receive mode.
    public static func decodeSubscribe(_ payload: [UInt8]) throws(IPCModeledError) -> SubscribeToTopicRequest {
        let body = try object(payload, operation: "SubscribeToTopic")
        let topic = try topicMember(body, what: "Subscribe")
        switch body["receiveMode"] {
        case nil, .null?:
            return SubscribeToTopicRequest(topic: topic, receiveMode: .default(for: topic))
        case .string(let text)?:
            guard let mode = ReceiveMode(rawValue: text) else {
                throw .invalidArguments(
                    "Invalid receiveMode \(text); expected \(ReceiveMode.allCases.map(\.rawValue).joined(separator: " or "))")
            }
            return SubscribeToTopicRequest(topic: topic, receiveMode: mode)
        case let other?:
            throw .invalidArguments("receiveMode must be a string, found \(other.kindName)")
        }
    }

    /// The `SubscriptionResponseMessage` body delivering `message` published on `topic`: the same union member
    /// the publisher used, with `context.topic` = the publish topic.
    public static func encodeEvent(_ message: PubSubMessage, topic: String) -> [UInt8] {
        var inner: [String: JSONValue] = ["context": .object(["topic": .string(topic)])]
        let member: String
        switch message {
        case .json(let value):
            member = "jsonMessage"
            inner["message"] = value
        case .binary(let bytes):
            member = "binaryMessage"
            inner["message"] = bytes.map { .string(Data($0).base64EncodedString()) }
        }
        return JSONValue.object([member: .object(inner)]).serializedBytes()
    }

    private static func object(_ payload: [UInt8], operation: String) throws(IPCModeledError) -> [String: JSONValue] {
        let value: JSONValue
        do {
            value = try JSONValue(parsing: payload.isEmpty ? Array("{}".utf8) : payload, options: parsing)
        } catch {
            throw .invalidArguments("\(operation) request is not valid JSON: \(error)")
        }
        guard case .object(let members) = value else {
            throw .invalidArguments("\(operation) request must be a JSON object, found \(value.kindName)")
        }
        return members
    }

    private static func topicMember(_ body: [String: JSONValue], what: String) throws(IPCModeledError) -> String {
        switch body["topic"] {
        case nil, .null?:
            throw .invalidArguments("\(what) topic must not be null")
        case .string(let topic)?:
            guard !topic.isEmpty else { throw .invalidArguments("\(what) topic must not be empty") }
            return topic
        case let other?:
            throw .invalidArguments("\(what) topic must be a string, found \(other.kindName)")
        }
    }

    private static func member(_ name: String, of container: JSONValue, in union: String) throws(IPCModeledError) -> JSONValue? {
        guard case .object(let members) = container else {
            throw .invalidArguments("\(union) must be an object, found \(container.kindName)")
        }
        return present(members[name])
    }

    /// `value` unless it is absent or JSON `null`.
    private static func present(_ value: JSONValue?) -> JSONValue? {
        guard let value, !value.isNull else { return nil }
        return value
    }
}
