import MQTTCore
import NIOCore

/// How one connection attempt ended.
struct ConnectionEnd: Sendable {
    /// Whether CONNACK accepted the connection before it ended.
    var wasConnected: Bool
    var error: MQTTClientError
}

/// One TCP/TLS connection and its protocol state machine. Confined to the client's event loop.
final class ClientConnection {
    let id: Int
    var channel: (any Channel)?
    var machine: MQTTConnectionStateMachine<ContinuousClock.Instant>
    var negotiated: MQTTNegotiatedSettings?
    var outbound: ByteBuffer
    /// QoS 0 publishes in ``outbound`` that complete once it is written.
    var outboundTokens: [MQTTMessageToken] = []
    var isReading = false
    var flushScheduled = false
    var closeReason: MQTTClientError?
    var timer: Scheduled<Void>?
    var timerDeadline: ContinuousClock.Instant?
    let ended: EventLoopPromise<ConnectionEnd>
    var finished = false

    init(id: Int, machine: MQTTConnectionStateMachine<ContinuousClock.Instant>, ended: EventLoopPromise<ConnectionEnd>) {
        self.id = id
        self.machine = machine
        self.ended = ended
        self.outbound = ByteBuffer()
    }
}
