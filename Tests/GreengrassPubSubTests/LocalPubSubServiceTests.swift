import EventStreamRPCClient
import EventStreamRPCServer
import GreengrassAuthorization
import GreengrassIPCModel
import GreengrassJSON
import GreengrassPubSub
import GreengrassTestSupport
import Testing

/// The service driven through a real IPC server and client over a Unix socket, as components use it.
@Suite(.serialized) struct LocalPubSubServiceTests {
    static let sensor = "com.example.Sensor"
    static let display = "com.example.Display"
    static let outsider = "com.example.Outsider"

    /// Sensor publishes and subscribes under `sensors/`; Display subscribes anything under `sensors/` and
    /// publishes `display/status`; Outsider has no policy.
    static let configurations = pubsubConfigurations([
        sensor: [(["PublishToTopic"], ["sensors/*"]), (["SubscribeToTopic"], ["sensors/*", "commands/start"])],
        display: [(["SubscribeToTopic"], ["sensors/*", "display/*"]), (["PublishToTopic"], ["display/status", "sensors/temperature"])],
    ])

    @Test func jsonMessageReachesAnotherComponent() async throws {
        try await PubSubServer.with(Self.configurations) { server in
            let display = try await server.connect(as: Self.display)
            let sensor = try await server.connect(as: Self.sensor)
            let subscription = try await display.subscribe("sensors/temperature")
            #expect(subscription.response == IPCResponse(shape: "aws.greengrass#SubscribeToTopicResponse", payload: Array("{}".utf8)))
            let response = try await sensor.publish("sensors/temperature", json: #"{"celsius": 21.5, "n": 1}"#)
            #expect(response == IPCResponse(shape: "aws.greengrass#PublishToTopicResponse", payload: Array("{}".utf8)))
            let events = try await nextEvents(subscription, count: 1)
            #expect(events[0] == (try JSONValue(parsing: #"{"jsonMessage":{"message":{"celsius":21.5,"n":1},"context":{"topic":"sensors/temperature"}}}"#)))
            subscription.close()
        }
    }

    @Test func binaryMessageArrivesAsBase64() async throws {
        try await PubSubServer.with(Self.configurations) { server in
            let display = try await server.connect(as: Self.display)
            let sensor = try await server.connect(as: Self.sensor)
            let subscription = try await display.subscribe("sensors/raw")
            let payload: [UInt8] = [0, 1, 2, 0x7F, 0x80, 0xFE, 0xFF]
            try await sensor.publish("sensors/raw", binary: payload)
            let events = try await nextEvents(subscription, count: 1)
            #expect(events[0]["binaryMessage"]?["message"] == .string("AAECf4D+/w=="))
            #expect(events[0]["binaryMessage"]?["context"]?["topic"] == .string("sensors/raw"))
            #expect(events[0]["jsonMessage"] == nil)
        }
    }

    /// `+` and `#` subscriptions, the event's context naming the publish topic, and per-subscriber order.
    @Test func wildcardSubscriptionsReceiveInPublishOrder() async throws {
        try await PubSubServer.with(pubsubConfigurations([
            Self.display: [(["SubscribeToTopic"], ["*"])],
            Self.sensor: [(["PublishToTopic"], ["*"])],
        ])) { server in
            let display = try await server.connect(as: Self.display)
            let sensor = try await server.connect(as: Self.sensor)
            let plus = try await display.subscribe("building/+/temperature")
            let hash = try await display.subscribe("building/#")
            for index in 0..<40 {
                try await sensor.publish("building/floor\(index % 3)/temperature", json: "\(index)")
            }
            try await sensor.publish("building", json: "40")
            try await sensor.publish("elsewhere/floor1/temperature", json: "-1")
            try await sensor.publish("building/floor1/temperature/extra", json: "41")
            let plusEvents = try await nextEvents(plus, count: 40)
            #expect(plusEvents.map { jsonDelivery($0).message } == (0..<40).map { JSONValue.int($0) })
            #expect(plusEvents.map { jsonDelivery($0).topic } == (0..<40).map { "building/floor\($0 % 3)/temperature" })
            let hashEvents = try await nextEvents(hash, count: 42)
            #expect(hashEvents.map { jsonDelivery($0).message } == (0...41).map { JSONValue.int($0) })
            #expect(jsonDelivery(hashEvents[40]).topic == "building")
            // Nothing else is on its way to `+`: the next message it sees is a fresh one.
            try await sensor.publish("building/lobby/temperature", json: "99")
            #expect(try await nextEvents(plus, count: 1).map { jsonDelivery($0).message } == [.int(99)])
        }
    }

    /// Default receive modes: wildcard subscriptions skip the subscriber's own messages, exact ones do not;
    /// explicit modes override both.
    @Test func receiveModes() async throws {
        try await PubSubServer.with(pubsubConfigurations([
            Self.sensor: [(["*"], ["*"])],
            Self.display: [(["PublishToTopic"], ["*"])],
        ])) { server in
            let sensor = try await server.connect(as: Self.sensor)
            let display = try await server.connect(as: Self.display)
            let wildcardDefault = try await sensor.subscribe("loop/#")
            let exactDefault = try await sensor.subscribe("loop/a")
            let wildcardAll = try await sensor.subscribe("loop/+", receiveMode: "RECEIVE_ALL_MESSAGES")
            let exactOthers = try await sensor.subscribe("loop/a", receiveMode: "RECEIVE_MESSAGES_FROM_OTHERS")
            #expect(server.service.statistics.subscriptions == 4)
            try await sensor.publish("loop/a", json: #""own""#)
            try await display.publish("loop/a", json: #""other""#)
            func messages(_ stream: IPCClientStream, _ count: Int) async throws -> [JSONValue?] {
                try await nextEvents(stream, count: count).map { jsonDelivery($0).message }
            }
            #expect(try await messages(wildcardDefault, 1) == [.string("other")])
            #expect(try await messages(exactDefault, 2) == [.string("own"), .string("other")])
            #expect(try await messages(wildcardAll, 2) == [.string("own"), .string("other")])
            #expect(try await messages(exactOthers, 1) == [.string("other")])
        }
    }

    @Test func deniedCallsGetUnauthorizedErrorNamingComponentOperationAndResource() async throws {
        try await PubSubServer.with(Self.configurations) { server in
            let sensor = try await server.connect(as: Self.sensor)
            let outsider = try await server.connect(as: Self.outsider)
            let cases: [(IPCClient, String, String, Bool)] = [
                (sensor, Self.sensor, "display/status", true),
                (sensor, Self.sensor, "commands/stop", false),
                (outsider, Self.outsider, "sensors/temperature", true),
                (outsider, Self.outsider, "sensors/temperature", false),
                // A subscription wider than the policy: `sensors/*` allows the literal text `sensors/#`, but
                // `commands/start` does not allow `commands/#` or `commands/+`.
                (sensor, Self.sensor, "commands/#", false),
                (sensor, Self.sensor, "commands/+", false),
            ]
            for (client, principal, topic, isPublish) in cases {
                let error = await remoteError {
                    if isPublish { try await client.publish(topic, json: "1") } else { _ = try await client.subscribe(topic) }
                }
                let operation = isPublish ? "aws.greengrass#PublishToTopic" : "aws.greengrass#SubscribeToTopic"
                #expect(error?.shape == "aws.greengrass#UnauthorizedError")
                #expect(error?.message
                    == "Principal \(principal) is not authorized to perform aws.greengrass.ipc.pubsub:\(operation) on resource \(topic)")
            }
            // The allowed counterparts succeed on the same connections.
            _ = try await sensor.subscribe("commands/start")
            _ = try await sensor.subscribe("sensors/#")
            #expect(server.service.statistics.subscriptions == 2)
        }
    }

    @Test func invalidRequestsGetInvalidArgumentsError() async throws {
        try await PubSubServer.with(pubsubConfigurations([Self.sensor: [(["*"], ["*"])]])) { server in
            let sensor = try await server.connect(as: Self.sensor)
            let cases: [(String, String, String)] = [
                ("publish", "a/+", "Publish topic must not contain a wildcard."),
                ("publish", "a/#", "Publish topic must not contain a wildcard."),
                ("publish", "a/*", "Publish topic must not contain a wildcard."),
                ("publish", "", "Publish topic must not be empty"),
                ("subscribe", "", "Subscribe topic must not be empty"),
                ("subscribe", "a/#/b", "Subscribe topic is not a valid topic filter: invalid topic filter 'a/#/b': '#' must be the last level"),
            ]
            for (kind, topic, message) in cases {
                let error = await remoteError {
                    if kind == "publish" { try await sensor.publish(topic, json: "1") } else { _ = try await sensor.subscribe(topic) }
                }
                #expect(error?.shape == "aws.greengrass#InvalidArgumentsError", "\(kind) \(topic)")
                #expect(error?.message == message)
            }
            let badMode = await remoteError { _ = try await sensor.subscribe("a", receiveMode: "NEVER") }
            #expect(badMode?.name == "InvalidArgumentsError")
            // The connection is still usable after every refusal.
            _ = try await sensor.subscribe("still/works")
        }
    }

    @Test func closingTheStreamOrTheConnectionUnsubscribes() async throws {
        try await PubSubServer.with(pubsubConfigurations([
            Self.display: [(["SubscribeToTopic"], ["*"])], Self.sensor: [(["PublishToTopic"], ["*"])],
        ])) { server in
            let display = try await server.connect(as: Self.display)
            let sensor = try await server.connect(as: Self.sensor)
            let first = try await display.subscribe("t")
            let second = try await display.subscribe("t")
            #expect(server.service.statistics.subscriptions == 2)
            first.close()
            #expect(await eventually { server.service.statistics.subscriptions == 1 })
            try await sensor.publish("t", json: #""after close""#)
            #expect(try await nextEvents(second, count: 1).map { jsonDelivery($0).message } == [.string("after close")])
            await display.close()
            #expect(await eventually { server.service.statistics.subscriptions == 0 })
            #expect(server.service.publish(topic: "t", message: .json(nil), publisher: Self.sensor) == 0)
        }
    }

    @Test func removeSubscriptionsOfAComponentEndsItsStreams() async throws {
        try await PubSubServer.with(pubsubConfigurations([
            Self.display: [(["*"], ["*"])], Self.sensor: [(["*"], ["*"])],
        ])) { server in
            let display = try await server.connect(as: Self.display)
            let sensor = try await server.connect(as: Self.sensor)
            let displayStream = try await display.subscribe("t")
            let sensorStream = try await sensor.subscribe("t")
            #expect(await server.service.removeSubscriptions(of: Self.display) == 1)
            // The display's event sequence ends; the sensor's subscription is untouched.
            let ended = await withDeadline(.seconds(20)) { () async -> Bool in
                do {
                    for try await _ in displayStream.events {}
                    return true
                } catch {
                    return true
                }
            }
            #expect(ended == true)
            try await display.publish("t", json: "7")
            #expect(try await nextEvents(sensorStream, count: 1).map { jsonDelivery($0).message } == [.int(7)])
            #expect(server.service.statistics.subscriptions == 1)
            #expect(await server.service.removeSubscriptions(of: Self.display) == 0)
        }
    }

    /// A deployment changing `accessControl` applies to the next call, on the same connection.
    @Test func policyUpdateTakesEffectWithoutRestart() async throws {
        try await PubSubServer.with([:]) { server in
            let sensor = try await server.connect(as: Self.sensor)
            let before = await remoteError { try await sensor.publish("late/topic", json: "1") }
            #expect(before?.name == "UnauthorizedError")
            let issues = server.engine.update(configurations: pubsubConfigurations([Self.sensor: [(["PublishToTopic"], ["late/*"])]]))
            #expect(issues.isEmpty)
            try await sensor.publish("late/topic", json: "1")
            server.engine.update(configurations: [:])
            let after = await remoteError { try await sensor.publish("late/topic", json: "1") }
            #expect(after?.name == "UnauthorizedError")
        }
    }

    /// A subscriber whose client stops reading loses messages (counted), and the publisher is never held up.
    @Test func stuckSubscriberDropsInsteadOfStallingThePublisher() async throws {
        try await PubSubServer.with(
            pubsubConfigurations([Self.display: [(["*"], ["*"])], Self.sensor: [(["*"], ["*"])]]),
            limits: LocalPubSubLimits(maxQueuedMessagesPerSubscriber: 64, maxQueuedBytesPerSubscriber: 1 << 20),
            configure: { $0.maxOutboundBytesPerConnection = 64 * 1024 }) { server in
            let stuck = try await NonReadingConnection(socketPath: server.socketPath)
            try await stuck.subscribe(as: Self.display, topic: "flood")
            #expect(await eventually { server.service.statistics.subscriptions == 1 })
            let healthy = try await server.connect(as: Self.display)
            let healthyStream = try await healthy.subscribe("flood/check")
            let sensor = try await server.connect(as: Self.sensor)
            let chunk = [UInt8](repeating: 0x5A, count: 16 * 1024)
            for _ in 0..<300 {
                try await sensor.publish("flood", binary: chunk)
            }
            let statistics = server.service.statistics
            #expect(statistics.published == 300)
            #expect(await eventually {
                let now = server.service.statistics
                return now.droppedClientNotReading + now.droppedQueueFull > 0
                    && now.delivered + now.droppedClientNotReading + now.droppedQueueFull == 300
            })
            // Other subscribers are unaffected.
            try await sensor.publish("flood/check", json: #""ok""#)
            #expect(try await nextEvents(healthyStream, count: 1).map { jsonDelivery($0).message } == [.string("ok")])
            await stuck.close()
            #expect(await eventually { server.service.statistics.subscriptions == 1 })
        }
    }
}
