import MQTTCore
import NIOCore
import NIOPosix

/// A broker played by the test on a loopback port, speaking through our own codec, for behaviours a real
/// broker will not produce on demand (session-takeover DISCONNECT, missing PINGRESP, garbage, resends).
struct ScriptedBroker {
    /// One accepted client connection.
    final class Connection: PlayedBrokerConnection {
        private var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
        private let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
        var pending = ByteBuffer()
        var decoder: MQTTPacketDecoder
        let version: MQTTProtocolVersion

        init(_ inbound: NIOAsyncChannelInboundStream<ByteBuffer>, _ outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>, version: MQTTProtocolVersion) {
            self.inbound = inbound.makeAsyncIterator()
            self.outbound = outbound
            self.version = version
            self.decoder = MQTTPacketDecoder(version: version)
        }

        func receive() async throws -> ByteBuffer? { try await inbound.next() }

        func sendBytes(_ bytes: ByteBuffer) async throws { try await outbound.write(bytes) }
    }

    let port: Int
    private let server: NIOAsyncChannel<NIOAsyncChannel<ByteBuffer, ByteBuffer>, Never>

    static func start() async throws -> ScriptedBroker {
        let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return ScriptedBroker(port: server.channel.localAddress?.port ?? 0, server: server)
    }

    /// Serves `connections` client connections one after another with `script`, then closes the listener.
    func serve(version: MQTTProtocolVersion = .v5, connections: Int = 1, _ script: (Int, Connection) async throws -> Void) async throws {
        try await server.executeThenClose { inbound in
            var served = 0
            for try await child in inbound {
                try await child.executeThenClose { childInbound, childOutbound in
                    try await script(served, Connection(childInbound, childOutbound, version: version))
                }
                served += 1
                if served == connections { break }
            }
        }
    }
}
