import EventStreamRPCServer
import GreengrassIPCModel
import GreengrassJSON
import GreengrassPubSub
import MQTTCore
import Testing

@Suite struct PubSubCodecTests {
    private static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    /// Captured from the real Python SDK (vector 13).
    @Test func decodesTheSDKsPublishRequest() throws {
        let request = try PubSubCodec.decodePublish(Self.bytes(
            #"{"topic": "local/topic", "publishMessage": {"jsonMessage": {"message": {"msg": "hello.world"}}}}"#))
        #expect(request == PublishToTopicRequest(topic: "local/topic", message: .json(["msg": "hello.world"])))
    }

    @Test func decodesBinaryMessages() throws {
        let request = try PubSubCodec.decodePublish(Self.bytes(
            #"{"topic":"t","publishMessage":{"binaryMessage":{"message":"AAEC/w==","context":{"topic":"ignored"}}}}"#))
        #expect(request.message == .binary([0, 1, 2, 255]))
        let empty = try PubSubCodec.decodePublish(Self.bytes(#"{"topic":"t","publishMessage":{"binaryMessage":{}}}"#))
        #expect(empty.message == .binary(nil))
        let nullJSON = try PubSubCodec.decodePublish(Self.bytes(#"{"topic":"t","publishMessage":{"jsonMessage":{"message":null},"binaryMessage":null}}"#))
        #expect(nullJSON.message == .json(nil))
    }

    /// Malformed publish bodies: each gets an InvalidArgumentsError saying what is wrong.
    static let badPublishes: [(String, String)] = [
        (#"{"publishMessage":{"jsonMessage":{}}}"#, "Publish topic must not be null"),
        (#"{"topic":"","publishMessage":{"jsonMessage":{}}}"#, "Publish topic must not be empty"),
        (#"{"topic":7,"publishMessage":{"jsonMessage":{}}}"#, "Publish topic must be a string, found integer"),
        (#"{"topic":"t"}"#, "publishMessage is required"),
        (#"{"topic":"t","publishMessage":"x"}"#, "publishMessage must be an object, found string"),
        (#"{"topic":"t","publishMessage":{}}"#, "publishMessage must set exactly one of jsonMessage and binaryMessage"),
        (#"{"topic":"t","publishMessage":{"jsonMessage":{},"binaryMessage":{}}}"#,
         "publishMessage must set exactly one of jsonMessage and binaryMessage"),
        (#"{"topic":"t","publishMessage":{"jsonMessage":[1]}}"#, "jsonMessage must be an object, found array"),
        (#"{"topic":"t","publishMessage":{"binaryMessage":{"message":"not base64!"}}}"#, "binaryMessage.message must be a base64 string"),
        (#"{"topic":"t","publishMessage":{"binaryMessage":{"message":12}}}"#, "binaryMessage.message must be a base64 string"),
        (#"[1,2]"#, "PublishToTopic request must be a JSON object, found array"),
    ]

    @Test(arguments: badPublishes)
    func rejectsMalformedPublishes(_ body: String, _ message: String) {
        #expect(throws: IPCModeledError.invalidArguments(message)) { try PubSubCodec.decodePublish(Self.bytes(body)) }
    }

    @Test func rejectsGarbage() {
        for garbage: [UInt8] in [[0xFF, 0xFE], Array("{\"topic\":".utf8), Array(repeating: UInt8(ascii: "["), count: 10_000)] {
            #expect(throws: IPCModeledError.self) { try PubSubCodec.decodePublish(garbage) }
            #expect(throws: IPCModeledError.self) { try PubSubCodec.decodeSubscribe(garbage) }
        }
    }

    /// Receive mode: explicit values win; the default depends on whether the topic is a wildcard subscription.
    static let subscribes: [(String, SubscribeToTopicRequest)] = [
        (#"{"topic": "local/topic"}"#, SubscribeToTopicRequest(topic: "local/topic", receiveMode: .receiveAllMessages)),
        (#"{"topic": "a/+/c"}"#, SubscribeToTopicRequest(topic: "a/+/c", receiveMode: .receiveMessagesFromOthers)),
        (#"{"topic": "a/#"}"#, SubscribeToTopicRequest(topic: "a/#", receiveMode: .receiveMessagesFromOthers)),
        (##"{"topic": "#"}"##, SubscribeToTopicRequest(topic: "#", receiveMode: .receiveMessagesFromOthers)),
        (#"{"topic": "a/b#"}"#, SubscribeToTopicRequest(topic: "a/b#", receiveMode: .receiveAllMessages)),
        (#"{"topic": "a/#/b"}"#, SubscribeToTopicRequest(topic: "a/#/b", receiveMode: .receiveAllMessages)),
        (#"{"topic": "a/+", "receiveMode": "RECEIVE_ALL_MESSAGES"}"#, SubscribeToTopicRequest(topic: "a/+", receiveMode: .receiveAllMessages)),
        (#"{"topic": "a", "receiveMode": "RECEIVE_MESSAGES_FROM_OTHERS"}"#,
         SubscribeToTopicRequest(topic: "a", receiveMode: .receiveMessagesFromOthers)),
        (#"{"topic": "a", "receiveMode": null}"#, SubscribeToTopicRequest(topic: "a", receiveMode: .receiveAllMessages)),
    ]

    @Test(arguments: subscribes)
    func decodesSubscribes(_ body: String, _ expected: SubscribeToTopicRequest) throws {
        #expect(try PubSubCodec.decodeSubscribe(Self.bytes(body)) == expected)
    }

    static let badSubscribes: [(String, String)] = [
        (#"{}"#, "Subscribe topic must not be null"),
        (#"{"topic":""}"#, "Subscribe topic must not be empty"),
        (#"{"topic":"a","receiveMode":"SOMETIMES"}"#,
         "Invalid receiveMode SOMETIMES; expected RECEIVE_ALL_MESSAGES or RECEIVE_MESSAGES_FROM_OTHERS"),
        (#"{"topic":"a","receiveMode":1}"#, "receiveMode must be a string, found integer"),
    ]

    @Test(arguments: badSubscribes)
    func rejectsMalformedSubscribes(_ body: String, _ message: String) {
        #expect(throws: IPCModeledError.invalidArguments(message)) { try PubSubCodec.decodeSubscribe(Self.bytes(body)) }
    }

    @Test func encodesEventsLikeTheCapturedServer() throws {
        let json = PubSubCodec.encodeEvent(.json(["msg": "hello.world"]), topic: "local/topic")
        #expect(try JSONValue(parsing: json) == JSONValue(parsing: #"{"jsonMessage":{"message":{"msg":"hello.world"},"context":{"topic":"local/topic"}}}"#))
        let binary = PubSubCodec.encodeEvent(.binary([0, 1, 2, 255]), topic: "b")
        #expect(String(decoding: binary, as: UTF8.self) == #"{"binaryMessage":{"context":{"topic":"b"},"message":"AAEC/w=="}}"#)
        let empty = PubSubCodec.encodeEvent(.json(nil), topic: "c")
        #expect(String(decoding: empty, as: UTF8.self) == #"{"jsonMessage":{"context":{"topic":"c"}}}"#)
    }
}

@Suite struct SubscriptionTableTests {
    @Test func routesByFilterAndReceiveMode() throws {
        var table = SubscriptionTable()
        let exact = table.add(component: "A", filter: "s/t", receiveMode: .receiveAllMessages)
        let plus = table.add(component: "A", filter: "s/+", receiveMode: .receiveMessagesFromOthers)
        let hash = table.add(component: "B", filter: "s/#", receiveMode: .receiveMessagesFromOthers)
        let root = table.add(component: "C", filter: "#", receiveMode: .receiveAllMessages)
        #expect(table.count == 4)
        #expect(table.recipients(topic: "s/t", publisher: "B").map(\.id) == [exact.id, plus.id, root.id])
        #expect(table.recipients(topic: "s/t", publisher: "A").map(\.id) == [exact.id, hash.id, root.id])
        #expect(table.recipients(topic: "s", publisher: "X").map(\.id) == [hash.id, root.id])
        #expect(table.recipients(topic: "s/t/u", publisher: "X").map(\.id) == [hash.id, root.id])
        #expect(table.recipients(topic: "other", publisher: "C").map(\.id) == [root.id])
        #expect(table.recipients(topic: "$sys/x", publisher: "X").isEmpty)
        #expect(table.subscriptions(of: "A").map(\.id) == [exact.id, plus.id])
        #expect(table.remove(id: plus.id) == plus)
        #expect(table.remove(id: plus.id) == nil)
        #expect(table.recipients(topic: "s/t", publisher: "B").map(\.id) == [exact.id, root.id])
        #expect(table.count == 3)
    }

    @Test func sameFilterTwiceIsTwoSubscriptions() {
        var table = SubscriptionTable()
        let first = table.add(component: "A", filter: "x", receiveMode: .receiveAllMessages)
        let second = table.add(component: "A", filter: "x", receiveMode: .receiveAllMessages)
        #expect(first.id != second.id)
        #expect(table.recipients(topic: "x", publisher: "B").count == 2)
        table.remove(id: first.id)
        #expect(table.recipients(topic: "x", publisher: "B").map(\.id) == [second.id])
    }

    static let badFilters: [(String, String)] = [
        ("a/#/b", "'#' must be the last level"),
        ("a+", "wildcard characters must occupy a whole level, found 'a+'"),
        ("$share/g/a", "shared subscriptions ($share/) are not supported by local publish/subscribe"),
    ]

    @Test(arguments: badFilters)
    func rejectsInvalidFilters(_ topic: String, _ reason: String) {
        #expect(throws: InvalidSubscriptionTopic(topic: topic, reason: reason)) { try SubscriptionTable.filter(for: topic) }
    }
}
