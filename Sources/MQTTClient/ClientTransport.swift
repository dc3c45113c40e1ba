import MQTTCore
import NIOCore
import NIOPosix
import NIOSSL

/// How a connection attempt gets its channel. Production opens TCP (and TLS) to the configured broker; tests
/// hand over a test channel whose broker they play, or keep the channels to drop them on purpose.
struct ClientTransport: Sendable {
    /// Opens a channel on `eventLoop`, calling `addClientHandlers` (``ClientCore/addConnectionHandlers(to:core:connection:decoder:)``)
    /// on it before it becomes active. Fails with an ``MQTTClientError`` naming why.
    let open: @Sendable (
        _ configuration: MQTTClientConfiguration, _ eventLoop: any EventLoop, _ addClientHandlers: @escaping @Sendable (any Channel) throws -> Void
    ) -> EventLoopFuture<any Channel>

    /// TCP with `TCP_NODELAY`, and TLS when the configuration has it.
    static let tcp = ClientTransport { configuration, eventLoop, addClientHandlers in
        let sslContext: NIOSSLContext?
        do {
            sslContext = try configuration.tls.map(makeSSLContext)
        } catch {
            return eventLoop.makeFailedFuture(MQTTClientError(.invalidTLSConfiguration, "cannot load TLS settings: \(error)"))
        }
        // An IP address gets no SNI and is verified against the certificate's IP SANs (NIOSSL does that when no
        // host name is given); passing it as a host name would fail every handshake.
        let serverName = configuration.tls.flatMap { MQTTTLSServerIdentity(host: configuration.host, serverName: $0.serverName).sniHostName }
        return ClientBootstrap(group: eventLoop)
            // The client ends the attempt after `connectTimeout` on its own clock (`ClientCore.connect`); NIO's timer,
            // twice as long, only frees the socket should that clock not move.
            .connectTimeout(TimeAmount(configuration.connectTimeout * 2))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let sslContext {
                        try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: sslContext, serverHostname: serverName))
                    }
                    try addClientHandlers(channel)
                }
            }
            .connect(host: configuration.host, port: configuration.port)
            .flatMapErrorThrowing { error in
                throw MQTTClientError(.connectFailed, "cannot connect to \(configuration.host):\(configuration.port): \(error)")
            }
    }

    private static func makeSSLContext(_ tls: MQTTClientConfiguration.TLS) throws -> NIOSSLContext {
        var tlsConfiguration = TLSConfiguration.makeClientConfiguration()
        if let certificatePath = tls.certificatePath {
            tlsConfiguration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificatePath).map { .certificate($0) }
        }
        if let privateKeyPath = tls.privateKeyPath {
            tlsConfiguration.privateKey = .privateKey(try NIOSSLPrivateKey(file: privateKeyPath, format: .pem))
        }
        if let caPath = tls.caPath { tlsConfiguration.trustRoots = .file(caPath) }
        tlsConfiguration.applicationProtocols = tls.alpnProtocols
        return try NIOSSLContext(configuration: tlsConfiguration)
    }
}

/// Where the client reads the time its connect, keep-alive, ping, CONNACK and reconnect deadlines are measured in: any `Clock`
/// (a test's virtual clock, the continuous clock in production), expressed as continuous-clock instants so the
/// connection state machine keeps one concrete type.
struct ClientTime: Sendable {
    private let read: @Sendable () -> ContinuousClock.Instant

    init<C: Clock>(_ clock: C) where C.Duration == Duration {
        if clock is ContinuousClock {
            read = { ContinuousClock.now }
        } else {
            let origin = ContinuousClock.now
            let clockOrigin = clock.now
            read = { origin.advanced(by: clockOrigin.duration(to: clock.now)) }
        }
    }

    var now: ContinuousClock.Instant { read() }

    /// How long a loop timer must wait for `deadline` to pass on this clock, rounded up to whole nanoseconds (the
    /// loop's unit). Rounded down, a timer would fire a fraction of a nanosecond early, find the deadline still
    /// ahead and be set again for zero nanoseconds, forever, on a loop whose time only a test moves.
    func timerDelay(until deadline: ContinuousClock.Instant) -> TimeAmount {
        let (seconds, attoseconds) = now.duration(to: deadline).components
        guard seconds < Int64.max / 1_000_000_000 else { return .nanoseconds(.max) }
        guard seconds > 0 || (seconds == 0 && attoseconds > 0) else { return .zero }
        let (nanoseconds, rest) = attoseconds.quotientAndRemainder(dividingBy: 1_000_000_000)
        return .nanoseconds(seconds * 1_000_000_000 + nanoseconds + (rest > 0 ? 1 : 0))
    }
}
