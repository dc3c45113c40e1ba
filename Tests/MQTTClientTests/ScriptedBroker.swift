import MQTTCore
import NIOCore
import NIOPosix

/// A broker played by the test on a loopback port, speaking through our own codec, for behaviours a real
/// broker will not produce on demand (session-takeover DISCONNECT, missing PINGRESP, garbage, resends).
struct ScriptedBroker {
    /// One accepted client connection.
    final class Connection {
        private var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
        private let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
        private var pending = ByteBuffer()
        private var decoder: MQTTPacketDecoder
        let version: MQTTProtocolVersion

        init(_ inbound: NIOAsyncChannelInboundStream<ByteBuffer>, _ outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>, version: MQTTProtocolVersion) {
            self.inbound = inbound.makeAsyncIterator()
            self.outbound = outbound
            self.version = version
            self.decoder = MQTTPacketDecoder(version: version)
        }

        /// The next packet from the client, or nil when it closed the connection.
        func read() async throws -> MQTTPacket? {
            while true {
                if let packet = try decoder.decode(buffer: &pending) { return packet }
                guard var chunk = try await inbound.next() else { return nil }
                pending.writeBuffer(&chunk)
            }
        }

        /// Reads packets until one satisfies `predicate` (skipping e.g. PINGREQ), bounded in count.
        func read(until predicate: (MQTTPacket) -> Bool) async throws -> MQTTPacket? {
            for _ in 0..<100 {
                guard let packet = try await read() else { return nil }
                if predicate(packet) { return packet }
            }
            return nil
        }

        func send(_ packet: MQTTPacket) async throws {
            var buffer = ByteBuffer()
            try packet.write(version: version, to: &buffer)
            try await outbound.write(buffer)
        }

        func sendRaw(_ bytes: [UInt8]) async throws {
            try await outbound.write(ByteBuffer(bytes: bytes))
        }

        /// Reads CONNECT and answers CONNACK.
        @discardableResult
        func accept(sessionPresent: Bool = false, properties: MQTTProperties = MQTTProperties()) async throws -> MQTTConnectPacket? {
            guard case .connect(let connect)? = try await read() else { return nil }
            try await send(.connack(MQTTConnAckPacket(sessionPresent: sessionPresent, reasonCode: .success, properties: properties)))
            return connect
        }
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
