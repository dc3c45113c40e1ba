import Foundation
import GreengrassTestSupport
import Logging
import MQTTCore
import NIOCore
import Testing
@testable import MQTTClient

/// Our client against a real Mosquitto on a free loopback port. Each test starts its own broker.
@Suite("MQTTClient against Mosquitto", .serialized)
struct MosquittoClientTests {
    static let versions: [MQTTProtocolVersion] = [.v5, .v3_1_1]

    @Test("publish/subscribe at every QoS, both directions through the broker", arguments: versions)
    func pubSubAllQoS(version: MQTTProtocolVersion) async throws {
        let broker = try Mosquitto()
        try await withClient(configuration(broker, id: "sub-\(version.rawValue)", version: version)) { subscriber, received in
            let results = try await subscriber.subscribe([("q/0", .atMostOnce), ("q/1", .atLeastOnce), ("q/2", .exactlyOnce)])
            #expect(results.map(\.grantedQoS) == [.atMostOnce, .atLeastOnce, .exactlyOnce])
            try await withClient(configuration(broker, id: "pub-\(version.rawValue)", version: version)) { publisher, _ in
                for qos in QoS.allCases {
                    for sub in 0...2 {
                        try await publisher.publish("q/\(sub)", "\(qos.rawValue)->\(sub)", qos: qos)
                    }
                }
            }
            try await received.waitForMessages(9)
            #expect(Set(received.payloads) == Set(QoS.allCases.flatMap { qos in (0...2).map { "\(qos.rawValue)->\($0)" } }))
            for message in received.messages {
                let parts = String(buffer: message.payload).split(separator: "-")
                let published = Int(parts[0])!
                let subscribed = Int(message.topic.dropFirst(2))!
                #expect(message.qos.rawValue == UInt8(min(published, subscribed)), "\(message.topic) \(String(buffer: message.payload))")
            }
            // The same client publishing to itself exercises inbound and outbound QoS 2 on one connection.
            try await subscriber.publish("q/2", "self", qos: .exactlyOnce)
            try await received.waitForMessages(10)
        }
    }

    @Test("MQTT 5 properties travel end to end")
    func properties() async throws {
        let broker = try Mosquitto()
        try await withClient(configuration(broker, id: "props")) { client, received in
            _ = try await client.subscribe([("p", .atLeastOnce)])
            var properties = MQTTProperties()
            properties.userProperties = [MQTTUserProperty("k", "v"), MQTTUserProperty("k", "w")]
            properties.contentType = "application/json"
            properties.responseTopic = "reply/to"
            properties.correlationData = [1, 2, 3]
            properties.payloadFormatIndicator = 1
            properties.messageExpiryInterval = 600
            try await client.publish("p", "{}", properties: properties)
            try await received.waitForMessages(1)
            let got = received.messages[0].properties
            #expect(got.userProperties == properties.userProperties)
            #expect(got.contentType == "application/json")
            #expect(got.responseTopic == "reply/to")
            #expect(got.correlationData == [1, 2, 3])
            #expect(got.payloadFormatIndicator == 1)
            #expect((got.messageExpiryInterval ?? 0) > 0 && (got.messageExpiryInterval ?? 0) <= 600)
        }
    }

    @Test("retained messages reach later subscribers with the retain flag", arguments: versions)
    func retained(version: MQTTProtocolVersion) async throws {
        let broker = try Mosquitto()
        try await withClient(configuration(broker, id: "retainer", version: version)) { client, _ in
            try await client.publish("r/state", "on", qos: .atLeastOnce, retain: true)
        }
        try await withClient(configuration(broker, id: "late", version: version)) { client, received in
            _ = try await client.subscribe([("r/#", .atLeastOnce)])
            try await received.waitForMessages(1)
            #expect(received.messages[0].retain)
            #expect(received.payloads == ["on"])
        }
    }

    @Test("wildcards + and #, and $-topics are not matched by leading wildcards")
    func wildcards() async throws {
        let broker = try Mosquitto()
        try await withClient(configuration(broker, id: "wild")) { client, received in
            _ = try await client.subscribe([("a/+/c", .atLeastOnce), ("x/#", .atLeastOnce)])
            for topic in ["a/b/c", "a/b/d", "a/c", "x", "x/y/z", "y/x"] {
                try await client.publish(topic, topic)
            }
            try await client.publish("end/marker", "end")
            _ = try await client.subscribe([("end/#", .atLeastOnce)])
            try await client.publish("end/marker", "end")
            try await received.waitForMessages(4)
            #expect(Set(received.payloads) == ["a/b/c", "x", "x/y/z", "end"])
            var trie = TopicTrie<String>()
            trie.insert("a/+/c", "first")
            trie.insert("x/#", "second")
            for message in received.messages where message.topic != "end/marker" {
                #expect(!trie.match(topic: message.topic).isEmpty)
            }
        }
    }

    @Test("Last Will is published when our connection dies without DISCONNECT, and we reconnect", arguments: versions)
    func lastWill(version: MQTTProtocolVersion) async throws {
        let broker = try Mosquitto()
        try await withClient(configuration(broker, id: "watcher", version: version)) { watcher, seen in
            _ = try await watcher.subscribe([("will/#", .atLeastOnce)])
            var config = configuration(broker, id: "dying", version: version)
            config.will = MQTTWill(topic: "will/dying", payload: ByteBuffer(string: "gone"), qos: .atLeastOnce)
            let connections = DroppableTransport()
            try await withClient(config, transport: connections.transport) { _, events in
                connections.dropConnection()
                try await seen.waitForMessages(1)
                #expect(seen.payloads == ["gone"])
                try await events.waitForConnections(2)
            }
            // A normal DISCONNECT (shutdown above) must not publish the Will again.
            try await watcher.publish("will/marker", "marker")
            try await seen.waitForMessages(2)
            #expect(seen.payloads == ["gone", "marker"])
        }
    }

    @Test("persistent session: messages sent while offline arrive after reconnect with clean start off", arguments: versions)
    func persistentSession(version: MQTTProtocolVersion) async throws {
        let broker = try Mosquitto()
        let id = "persistent-\(version.rawValue)"
        try await withClient(configuration(broker, id: id, version: version, clean: false)) { client, _ in
            _ = try await client.subscribe([("offline/#", .atLeastOnce)])
        }
        try await withClient(configuration(broker, id: "sender", version: version)) { sender, _ in
            for index in 0..<5 { try await sender.publish("offline/\(index)", "m\(index)") }
        }
        try await withClient(configuration(broker, id: id, version: version, clean: false)) { client, received in
            try await received.waitForMessages(5)
            #expect(received.events.first == .connected(sessionPresent: true))
            #expect(received.payloads == (0..<5).map { "m\($0)" })
        }
    }

    @Test("broker killed and restarted mid-stream: every QoS 1 message arrives, in order per publisher, no loss")
    func brokerKilledMidStream() async throws {
        let broker = try Mosquitto(.init(persistence: true))
        let total = 300
        var subscriberConfig = configuration(broker, id: "durable-sub", clean: false)
        subscriberConfig.session = MQTTSessionConfiguration(inflightWindow: 20)
        try await withClient(subscriberConfig) { subscriber, received in
            _ = try await subscriber.subscribe([("stream/#", .atLeastOnce)])
            var publisherConfig = configuration(broker, id: "durable-pub", clean: false)
            publisherConfig.session = MQTTSessionConfiguration(inflightWindow: 10)
            try await withClient(publisherConfig) { publisher, publisherEvents in
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for index in 0..<total {
                            try await publisher.publish("stream/x", "\(index)", qos: .atLeastOnce, until: .accepted)
                        }
                    }
                    try await received.waitForMessages(total / 3)
                    broker.kill()
                    try broker.restart()
                    try await group.waitForAll()
                }
                try await publisherEvents.waitForConnections(2)
                try await received.waitForMessages(total, timeout: .seconds(30))
                try await eventually("publisher spool and window drained") {
                    let stats = await publisher.statistics()
                    return stats.spooledMessages == 0 && stats.inflightMessages == 0
                }
            }
            let numbers = received.payloads.compactMap { Int($0) }
            #expect(Set(numbers) == Set(0..<total), "missing: \(Set(0..<total).subtracting(numbers).sorted().prefix(20))")
            // Duplicates are allowed for QoS 1, but only as re-deliveries of messages around the kill.
            #expect(numbers.count - Set(numbers).count <= 40)
            #expect(received.connectedCount >= 2)
        }
    }

    @Test("offline spool full of QoS 1: further publishes are refused (none accepted is lost), the rest delivered in order after reconnect")
    func offlineSpool() async throws {
        let broker = try Mosquitto(.init(persistence: true))
        try await withClient(configuration(broker, id: "spool-sub", clean: false)) { subscriber, received in
            _ = try await subscriber.subscribe([("spool/#", .atLeastOnce)])
            var config = configuration(broker, id: "spooler")
            let charge = MQTTOutboundMessage(topic: "spool/x", payload: ByteBuffer(string: "s0"), qos: .atLeastOnce).spoolCharge
            config.session = MQTTSessionConfiguration(spoolMaximumBytes: 3 * charge)
            try await withClient(config) { publisher, events in
                broker.stop()
                try await eventually("publisher notices the broker is gone") { await !publisher.isConnected() }
                for index in 0..<3 {
                    try await publisher.publish("spool/x", "s\(index)", qos: .atLeastOnce, until: .accepted)
                }
                await #expect(throws: MQTTClientError(dropped: .spoolFull)) {
                    try await publisher.publish("spool/x", "s3", qos: .atLeastOnce, until: .accepted)
                }
                #expect(throws: MQTTClientError(dropped: .spoolFull)) {
                    try publisher.enqueue(topic: "spool/x", payload: ByteBuffer(string: "s4"), qos: .atLeastOnce)
                }
                await #expect(throws: MQTTClientError.self) { try await publisher.publish("spool/x", "q0", qos: .atMostOnce) }
                let stats = await publisher.statistics()
                #expect(stats.outboundDroppedSpoolFull == 2)
                #expect(stats.outboundDroppedOfflineQoS0 == 1)
                #expect(stats.spooledMessages == 3)
                try broker.restart()
                try await events.waitForConnections(2)
                try await received.waitForMessages(3, timeout: .seconds(15))
                #expect(received.payloads == ["s0", "s1", "s2"])
                // Sending freed the spool: enqueue admits again.
                try await eventually("spool drained") { await publisher.statistics().spooledMessages == 0 }
                try publisher.enqueue(topic: "spool/x", payload: ByteBuffer(string: "s5"), qos: .atLeastOnce)
                try await received.waitForMessages(4, timeout: .seconds(15))
            }
        }
    }

    @Test("wrong password gives a typed CONNACK error", arguments: versions)
    func wrongPassword(version: MQTTProtocolVersion) async throws {
        let broker = try Mosquitto(.init(passwords: ["alice": "secret"]))
        var good = configuration(broker, id: "alice-ok", version: version)
        good.username = "alice"
        good.password = Array("secret".utf8)
        try await withClient(good) { client, _ in
            _ = try await client.subscribe([("x", .atMostOnce)])
        }
        var bad = good
        bad.clientIdentifier = "alice-bad"
        bad.password = Array("wrong".utf8)
        try await withClient(bad, waitForConnection: false) { _, recorder in
            try await eventually("a refused connection") { !recorder.errors.isEmpty }
            let error = recorder.errors[0]
            #expect(error.code == .connectionRefused)
            let expected: Set<MQTTReasonCode> = version == .v5 ? [.badUserNameOrPassword, .notAuthorized] : [.badUserNameOrPassword, .notAuthorized]
            #expect(error.reasonCode.map(expected.contains) == true, "\(error)")
            #expect(recorder.connectedCount == 0)
        }
    }

    @Test("nothing listening: bounded retries with growing backoff, no hang, shutdown ends run()")
    func nothingListening() async throws {
        let port = try FreePort.tcp()
        var config = MQTTClientConfiguration(host: "127.0.0.1", port: port, clientIdentifier: "lonely", connectTimeout: .seconds(2))
        config.reconnectBackoff = MQTTReconnectBackoff(minimum: .milliseconds(10), maximum: .milliseconds(80))
        let started = ContinuousClock.now
        try await withClient(config, waitForConnection: false) { client, recorder in
            try await eventually("five reconnect attempts") {
                recorder.events.filter { if case .reconnecting = $0 { true } else { false } }.count >= 5
            }
            let delays = recorder.events.compactMap { if case .reconnecting(_, let delay) = $0 { delay } else { nil } }
            let attempts = recorder.events.compactMap { if case .reconnecting(let attempt, _) = $0 { attempt } else { nil } }
            #expect(Array(attempts.prefix(5)) == [1, 2, 3, 4, 5])
            #expect(delays.allSatisfy { $0 <= .milliseconds(80) })
            #expect(delays[0] <= .milliseconds(10) && delays[4] >= .milliseconds(40))
            #expect(recorder.errors.allSatisfy { $0.code == .connectFailed })
            // Nothing was ever connected, so nothing was interrupted: every attempt is reported as a failed connect.
            #expect(recorder.connectFailures.count >= 5 && recorder.disconnections.isEmpty)
            await #expect(throws: MQTTClientError.self) { try await client.subscribe([("x", .atMostOnce)]) }
        }
        #expect(ContinuousClock.now - started < .seconds(10))
    }

    @Test("two clients with the same id: the one taken over reports it", arguments: versions)
    func takeover(version: MQTTProtocolVersion) async throws {
        let broker = try Mosquitto()
        var first = configuration(broker, id: "twin", version: version)
        first.reconnectBackoff = MQTTReconnectBackoff(minimum: .seconds(30), maximum: .seconds(30))
        try await withClient(first) { _, firstEvents in
            try await withClient(configuration(broker, id: "twin", version: version)) { _, _ in
                try await eventually("the first client to be kicked") { !firstEvents.errors.isEmpty }
                let error = firstEvents.errors[0]
                // Mosquitto 2.0.11 (Debian 12) closes the old connection without DISCONNECT even under MQTT 5
                // (newer brokers send 0x8E, covered against a scripted broker in FakeBrokerTests).
                if error.code == .serverDisconnected {
                    #expect(version == .v5)
                    #expect(error.reasonCode == .sessionTakenOver)
                } else {
                    #expect(error.code == .connectionClosed)
                }
                #expect(broker.log().contains("Client twin already connected, closing old connection"))
            }
        }
    }

    @Test("a consumer that stops reading loses messages with a count; the connection keeps working")
    func backPressure() async throws {
        let broker = try Mosquitto()
        var config = configuration(broker, id: "slow")
        config.inboundBufferCapacity = 10
        let client = MQTTClient(configuration: config, logger: testLogger("slow"))
        let runner = Task { try await client.run() }
        let events = Recorder()
        let eventPump = Task { for await event in client.events { events.record(event) } }
        try await events.waitForConnections(1)
        _ = try await client.subscribe([("flood", .atLeastOnce)])
        for index in 0..<100 { try await client.publish("flood", "\(index)", qos: .atLeastOnce) }
        try await eventually("90 drops counted") { await client.statistics().inboundDropped >= 90 }
        let stats = await client.statistics()
        #expect(stats.inboundReceived == 100)
        #expect(stats.inboundDropped == 90)
        try await client.publish("other", "still alive", qos: .atLeastOnce)
        var kept: [String] = []
        client.shutdown()
        for await message in client.messages { kept.append(String(buffer: message.payload)) }
        #expect(kept == (90..<100).map(String.init), "the newest are kept")
        try await runner.value
        await eventPump.value
    }

    @Test("unsubscribe stops delivery")
    func unsubscribe() async throws {
        let broker = try Mosquitto()
        try await withClient(configuration(broker, id: "unsub")) { client, received in
            _ = try await client.subscribe([("u/a", .atLeastOnce), ("u/b", .atLeastOnce)])
            #expect(try await client.unsubscribe(["u/a"]) == [.success])
            try await client.publish("u/a", "a")
            try await client.publish("u/b", "b")
            try await received.waitForMessages(1)
            #expect(received.payloads == ["b"])
        }
    }

    @Test("resubscribe after a reconnect without session")
    func resubscribe() async throws {
        let broker = try Mosquitto()
        let connections = DroppableTransport()
        try await withClient(configuration(broker, id: "resub", clean: true), transport: connections.transport) { client, received in
            _ = try await client.subscribe([("again/#", .atLeastOnce)])
            connections.dropConnection()
            try await received.waitForConnections(2)
            #expect(received.events.filter { $0 == .connected(sessionPresent: false) }.count == 2)
            try await eventually("resubscribed") {
                try await client.publish("again/x", "x")
                return !received.messages.isEmpty
            }
        }
    }

    @Test("graceful shutdown through a ServiceGroup sends DISCONNECT")
    func gracefulShutdown() async throws {
        let broker = try Mosquitto()
        let client = MQTTClient(configuration: configuration(broker, id: "graceful"), logger: testLogger("graceful"))
        let events = Recorder()
        let eventPump = Task { for await event in client.events { events.record(event) } }
        try await serviceGroupRun(client) {
            try await events.waitForConnections(1)
        }
        await eventPump.value
        try await eventually("broker logged the DISCONNECT") { broker.log().contains("Received DISCONNECT from graceful") }
    }

    @Test("publishing to an invalid topic is refused before it reaches the wire")
    func invalidTopic() async throws {
        let broker = try Mosquitto()
        try await withClient(configuration(broker, id: "invalid")) { client, _ in
            await #expect(throws: MQTTClientError.self) { try await client.publish("a/+", "x") }
            await #expect(throws: MQTTClientError.self) { try await client.publish("", "x") }
        }
    }
}

@Suite("MQTTSubscription streams", .serialized)
struct SubscriptionStreamTests {
    @Test("a subscription stream gets its matching messages and unsubscribes when dropped")
    func streamUnsubscribesWhenDropped() async throws {
        let broker = try Mosquitto()
        try await withClient(configuration(broker, id: "substream")) { client, received in
            do {
                let subscription = try await client.subscription(to: [MQTTSubscriptionRequest("s/#"), MQTTSubscriptionRequest("s/+")])
                #expect(subscription.results.map(\.grantedQoS) == [.atLeastOnce, .atLeastOnce])
                let other = try await client.subscription(to: [MQTTSubscriptionRequest("other")])
                try await client.publish("s/1", "one")
                try await client.publish("other", "not for the first stream")
                var iterator = subscription.makeAsyncIterator()
                let first = await iterator.next()
                #expect(first.map { String(buffer: $0.payload) } == "one", "overlapping filters deliver once")
                var otherIterator = other.makeAsyncIterator()
                #expect(await otherIterator.next().map { String(buffer: $0.payload) } == "not for the first stream")
            }
            try await eventually("UNSUBSCRIBE sent for dropped streams") { broker.log().contains("Received UNSUBSCRIBE from substream") }
            let before = received.messages.count
            try await client.publish("s/2", "after")
            try await client.publish("end", "end")
            _ = try await client.subscribe([("end", .atLeastOnce)])
            try await client.publish("end", "end")
            try await eventually("the end marker") { received.payloads.contains("end") }
            #expect(!received.payloads[before...].contains("after"))
        }
    }
}
