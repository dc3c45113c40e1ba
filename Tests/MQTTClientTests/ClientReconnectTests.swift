import MQTTCore
import NIOCore
import NIOEmbedded
import Synchronization
import Testing
@testable import MQTTClient

/// Connecting and reconnecting on the client's clock (the test loop's virtual time): the connect timeout of a
/// connection that never comes up, and the reconnect backoff with its jitter fixed, run without sleeping.
@Suite("MQTTClient connect timeout and reconnect backoff on the test clock", .serialized)
struct ClientReconnectTests {
    /// Set once, read by the test: a channel's close observed on the loop.
    final class Flag: Sendable {
        private let state = Mutex(false)
        var isSet: Bool { state.withLock { $0 } }
        func set() { state.withLock { $0 = true } }
    }

    static func config(backoff: MQTTReconnectBackoff = MQTTReconnectBackoff(minimum: .seconds(1), maximum: .seconds(8))) -> MQTTClientConfiguration {
        MQTTClientConfiguration(
            host: "broker.test", port: 1883, clientIdentifier: "reconnect", connectTimeout: .seconds(5), reconnectBackoff: backoff)
    }

    func withClient(
        _ broker: ChannelBroker, jitter: Double = 0.25, _ body: (MQTTClient, Recorder) async throws -> Void
    ) async throws {
        try await MQTTClientTests.withClient(
            Self.config(), waitForConnection: false, transport: broker.transport, eventLoop: broker.loop, clock: broker.clock,
            jitter: { jitter }
        ) { client, recorder in
            try await body(client, recorder)
        }
    }

    func isWaitingToReconnect(_ client: MQTTClient) async throws -> Bool {
        let core = client.core
        return try await client.eventLoop.submit { core.value.isWaitingToReconnect }.get()
    }

    @Test("a connection not up within the connect timeout fails the attempt and closes its channel")
    func connectTimeout() async throws {
        let broker = ChannelBroker(isReachable: false)
        try await withClient(broker) { client, recorder in
            let connection = try await broker.connection(1)
            let closed = Flag()
            connection.channel.closeFuture.whenComplete { _ in closed.set() }
            await broker.advance(by: .milliseconds(4_999))
            #expect(!closed.isSet)
            await broker.advance(by: .milliseconds(1))
            #expect(closed.isSet)
            try await eventually("the connect timeout") { !recorder.connectFailures.isEmpty }
            #expect(recorder.connectFailures[0].code == .connectFailed)
            #expect(recorder.connectFailures[0].message.contains("broker.test:1883"), "\(recorder.connectFailures[0])")
            #expect(recorder.connectFailures[0].message.contains("connect timeout"), "\(recorder.connectFailures[0])")
            // The next attempt follows the backoff (1 s ceiling, jitter 0.25: 0.625 s) and times out the same way.
            try await eventually("the reconnect wait") { try await isWaitingToReconnect(client) }
            await broker.advance(by: .milliseconds(625))
            _ = try await broker.connection(2)
        }
    }

    @Test("each reconnect waits the backoff of its attempt on the client's clock; a connection that came up starts over")
    func backoff() async throws {
        let broker = ChannelBroker()
        try await withClient(broker) { client, recorder in
            // Equal jitter at 0.25: half the ceiling plus a quarter of that half; the ceiling doubles per attempt.
            for (attempt, delay) in [(1, Duration.milliseconds(625)), (2, .milliseconds(1_250)), (3, .milliseconds(2_500))] {
                let connection = try await broker.connection(attempt)
                try await connection.drop()
                try await eventually("the wait before attempt \(attempt + 1), \(delay) long") {
                    recorder.events.last == .reconnecting(attempt: attempt, delay: delay)
                }
                #expect(try await isWaitingToReconnect(client))
                await broker.advance(by: delay - .milliseconds(1))
                #expect(try await isWaitingToReconnect(client))
                await broker.advance(by: .milliseconds(1))
                _ = try await broker.connection(attempt + 1)
            }
            let connected = try await broker.connection(4)
            try await connected.accept()
            try await recorder.waitForConnections(1)
            try await connected.drop()
            try await eventually("the wait after a connection, as after none") {
                recorder.events.last == .reconnecting(attempt: 1, delay: .milliseconds(625))
            }
        }
    }

    /// Jitter makes delays of fractions of a nanosecond, finer than the loop's timers: the wait still ends, within a
    /// nanosecond of its delay (a timer rounded down would find the deadline ahead and be set again forever).
    @Test("a backoff delay with a fraction of a nanosecond ends within a nanosecond")
    func fractionalDelay() async throws {
        let broker = ChannelBroker()
        try await withClient(broker, jitter: 1.0 / 3) { client, recorder in
            let delay = Self.config().reconnectBackoff.delay(attempt: 1, random: 1.0 / 3)
            #expect(delay.components.attoseconds % 1_000_000_000 != 0)
            try await broker.connection(1).drop()
            try await eventually("the wait before attempt 2") { recorder.events.last == .reconnecting(attempt: 1, delay: delay) }
            await broker.advance(by: delay - .nanoseconds(1))
            #expect(try await isWaitingToReconnect(client))
            await broker.advance(by: .nanoseconds(2))
            _ = try await broker.connection(2)
        }
    }

    @Test("a loop timer waits whole nanoseconds, rounded up, and none for a deadline passed")
    func timerDelayRoundsUp() {
        // The test loop's time stands still, so `now` does too.
        let time = ClientTime(LoopClock(loop: NIOAsyncTestingEventLoop()))
        let halfNanosecond = Duration(secondsComponent: 0, attosecondsComponent: 500_000_000)
        #expect(time.timerDelay(until: time.now.advanced(by: .seconds(5))) == .seconds(5))
        #expect(time.timerDelay(until: time.now.advanced(by: .nanoseconds(3) + halfNanosecond)) == .nanoseconds(4))
        #expect(time.timerDelay(until: time.now.advanced(by: halfNanosecond)) == .nanoseconds(1))
        #expect(time.timerDelay(until: time.now) == .zero)
        #expect(time.timerDelay(until: time.now.advanced(by: .seconds(-1))) == .zero)
    }
}
