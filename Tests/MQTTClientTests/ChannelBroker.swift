import MQTTCore
import NIOCore
import NIOEmbedded
import Synchronization
@testable import MQTTClient

/// A broker played by the test on `NIOAsyncTestingChannel`s (mqtt-nio's `withTestMQTTServer` pattern): no sockets,
/// and time is the test loop's virtual time, so keep-alive, ping timeouts and backoff run without sleeping.
final class ChannelBroker: Sendable {
    /// The one client connection carried by a test channel.
    final class Connection: PlayedBrokerConnection, @unchecked Sendable {
        // @unchecked: the decoding state is used by the one test task that plays the broker.
        let channel: NIOAsyncTestingChannel
        let version: MQTTProtocolVersion
        var pending = ByteBuffer()
        var decoder: MQTTPacketDecoder

        init(_ channel: NIOAsyncTestingChannel, version: MQTTProtocolVersion) {
            self.channel = channel
            self.version = version
            self.decoder = MQTTPacketDecoder(version: version)
        }

        /// Polls rather than awaiting the next write, so a client that never writes fails the test in bounded time
        /// instead of hanging it.
        func receive() async throws -> ByteBuffer? {
            var received: ByteBuffer?
            try await eventually("bytes from the client") {
                // Closed first: writes made before the close are still read below.
                let closed = !channel.isActive
                received = try await channel.readOutbound(as: ByteBuffer.self)
                return received != nil || closed
            }
            return received
        }

        func sendBytes(_ bytes: ByteBuffer) async throws { try await channel.writeInbound(bytes) }

        /// Drops the connection as a broker crash or network loss would.
        func drop() async throws { try await channel.close() }

        /// Waits until the client has closed the connection.
        func waitUntilClosed() async throws {
            try await eventually("the client closing the connection") { !channel.isActive }
        }
    }

    let loop = NIOAsyncTestingEventLoop()
    private let connections = Mutex<[Connection]>([])
    /// False plays a broker host that never answers: every connect stays pending until the client closes its channel.
    let isReachable: Bool

    init(isReachable: Bool = true) {
        self.isReachable = isReachable
    }

    /// Opens every connection attempt on a new test channel on ``loop``, with the client's real pipeline.
    var transport: ClientTransport {
        ClientTransport { configuration, eventLoop, addClientHandlers in
            let channel = NIOAsyncTestingChannel(loop: self.loop)
            do {
                try addClientHandlers(channel)
                let address = try SocketAddress(ipAddress: "127.0.0.1", port: 1883)
                self.connections.withLock { $0.append(Connection(channel, version: configuration.protocolVersion)) }
                guard self.isReachable else {
                    return channel.closeFuture.flatMapThrowing { throw ChannelError.connectTimeout(.zero) }
                }
                return channel.connect(to: address).map { channel }
            } catch {
                return eventLoop.makeFailedFuture(error)
            }
        }
    }

    /// The loop's virtual time as a clock for the client.
    var clock: LoopClock { LoopClock(loop: loop) }

    /// The `number`th (from 1) connection the client opened, waiting for it.
    func connection(_ number: Int) async throws -> Connection {
        try await eventually("connection \(number)") { connections.withLock { $0.count } >= number }
        return connections.withLock { $0[number - 1] }
    }

    /// Moves virtual time on, running the client's timers that fall due.
    func advance(by duration: Duration) async {
        await loop.advanceTime(by: TimeAmount(duration))
    }
}

/// A `NIOAsyncTestingEventLoop`'s virtual time as a `Clock`: it moves only when the test advances the loop.
struct LoopClock: Clock {
    let loop: NIOAsyncTestingEventLoop
    private let origin = ContinuousClock.now

    init(loop: NIOAsyncTestingEventLoop) { self.loop = loop }

    var now: ContinuousClock.Instant { origin.advanced(by: .nanoseconds(Int64(loop.now.uptimeNanoseconds))) }
    var minimumResolution: Duration { .nanoseconds(1) }

    func sleep(until deadline: ContinuousClock.Instant, tolerance: Duration?) async throws {
        let wake = NIODeadline.uptimeNanoseconds(UInt64(max(0, Int64(TimeAmount(origin.duration(to: deadline)).nanoseconds))))
        try await loop.scheduleTask(deadline: wake) {}.futureResult.get()
    }
}
