import MQTTCore
import NIOCore

/// The broker's side of one client connection, played by a test through our own codec, whatever carries the
/// bytes (a loopback socket in ``ScriptedBroker``, a test channel in ``ChannelBroker``).
protocol PlayedBrokerConnection: AnyObject {
    var version: MQTTProtocolVersion { get }
    /// Bytes received but not yet decoded into a packet.
    var pending: ByteBuffer { get set }
    var decoder: MQTTPacketDecoder { get set }
    /// The client's next bytes, or nil when the connection is closed.
    func receive() async throws -> ByteBuffer?
    func sendBytes(_ bytes: ByteBuffer) async throws
}

extension PlayedBrokerConnection {
    /// The next packet from the client, or nil when it closed the connection.
    func read() async throws -> MQTTPacket? {
        while true {
            if let packet = try decoder.decode(buffer: &pending) { return packet }
            guard var chunk = try await receive() else { return nil }
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
        try await sendBytes(buffer)
    }

    func sendRaw(_ bytes: [UInt8]) async throws {
        try await sendBytes(ByteBuffer(bytes: bytes))
    }

    /// Reads CONNECT and answers CONNACK.
    @discardableResult
    func accept(sessionPresent: Bool = false, properties: MQTTProperties = MQTTProperties()) async throws -> MQTTConnectPacket? {
        guard case .connect(let connect)? = try await read() else { return nil }
        try await send(.connack(MQTTConnAckPacket(sessionPresent: sessionPresent, reasonCode: .success, properties: properties)))
        return connect
    }
}
