import MQTTCore
import NIOCore

/// The thin NIO handler: decodes bytes into packets and reports channel events to the loop-confined
/// ``ClientCore``, which owns all decisions. It never buffers more than one maximum-size packet.
final class MQTTChannelHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private var processor: NIOSingleStepByteToMessageProcessor<MQTTPacketDecoder>
    private let core: ClientCore
    private let connection: ClientConnection
    private var failed = false

    init(core: ClientCore, connection: ClientConnection, decoder: MQTTPacketDecoder) {
        self.core = core
        self.connection = connection
        self.processor = NIOSingleStepByteToMessageProcessor(decoder, maximumBufferSize: decoder.maximumPacketSize)
    }

    func channelActive(context: ChannelHandlerContext) {
        core.connectionActive(connection)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        connection.isReading = true
        do {
            try processor.process(buffer: unwrapInboundIn(data)) { packet in
                core.received(packet, on: connection)
            }
        } catch {
            failed = true
            core.decodingFailed(error, on: connection)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // Acks produced while reading a burst go out in one flush instead of one per packet.
        connection.isReading = false
        core.flush(connection)
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        core.connectionClosed(connection)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        core.channelError(error, on: connection)
        context.close(promise: nil)
    }
}
