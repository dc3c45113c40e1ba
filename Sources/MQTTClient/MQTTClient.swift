import Logging
import MQTTCore
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// An MQTT 3.1.1 / 5 client that owns one connection to one broker, reconnecting with backoff.
///
/// Run it as a swift-service-lifecycle `Service` (``run()``); publish, subscribe and observe from any task.
/// All protocol state lives on one event loop, so the client is `Sendable` without locks.
///
/// ```swift
/// let client = MQTTClient(configuration: .init(host: "broker", clientIdentifier: "thing"), logger: logger)
/// try await withThrowingDiscardingTaskGroup { group in
///     group.addTask { try await client.run() }
///     try await client.publish(topic: "a/b", payload: ByteBuffer(string: "hi"), qos: .atLeastOnce)
/// }
/// ```
public final class MQTTClient: Service, Sendable {
    /// The configuration this client was created with.
    public let configuration: MQTTClientConfiguration
    /// Every application message received, in order. Single consumer. When the consumer falls behind by
    /// ``MQTTClientConfiguration/inboundBufferCapacity`` messages the oldest are dropped and counted
    /// (``MQTTClientStatistics/inboundDropped``): memory stays bounded and the connection never stalls.
    public let messages: AsyncStream<MQTTMessage>
    /// Connection state changes, in order. Single consumer; keeps the newest 1,000 if unread.
    public let events: AsyncStream<MQTTConnectionEvent>

    /// The one loop the client's connections and state live on. Callers on it (``inEventLoop``) reach the
    /// client without a thread hop: a server whose connections share it forwards at the cost of a function call.
    public let eventLoop: any EventLoop
    let core: NIOLoopBoundBox<ClientCore>
    /// Read off the loop by ``enqueue(topic:payload:qos:retain:properties:)``; written only by the core.
    let status: ClientStatus
    private let logger: Logger
    /// The reconnect backoff's jitter, a value in 0..<1 per attempt (random; fixed in tests).
    private let jitter: @Sendable () -> Double

    /// Creates a client. Nothing happens on the network until ``run()``.
    /// - Parameters:
    ///   - eventLoopGroup: where the connection runs; one loop of it is used for the client's whole life.
    ///   - clock: what connect, keep-alive, ping-timeout, CONNACK and reconnect-backoff deadlines are measured on
    ///     (a test's virtual clock).
    public convenience init(
        configuration: MQTTClientConfiguration, logger: Logger, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        clock: some Clock<Duration> = ContinuousClock()
    ) {
        self.init(configuration: configuration, logger: logger, eventLoopGroup: eventLoopGroup, clock: clock, transport: .tcp)
    }

    /// As the public initializer, with the transport that opens connections chosen (tests play the broker on a test
    /// channel) and the backoff's jitter (tests fix it).
    init(
        configuration: MQTTClientConfiguration, logger: Logger, eventLoopGroup: any EventLoopGroup, clock: some Clock<Duration>, transport: ClientTransport,
        jitter: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }
    ) {
        self.configuration = configuration
        self.jitter = jitter
        self.logger = logger
        let eventLoop = eventLoopGroup.any()
        self.eventLoop = eventLoop
        let (messages, messagesContinuation) = AsyncStream.makeStream(of: MQTTMessage.self, bufferingPolicy: .bufferingNewest(configuration.inboundBufferCapacity))
        let (events, eventsContinuation) = AsyncStream.makeStream(of: MQTTConnectionEvent.self, bufferingPolicy: .bufferingNewest(1000))
        self.messages = messages
        self.events = events
        let status = ClientStatus(spoolCapacity: configuration.session.spoolMaximumBytes)
        self.status = status
        // NIOLoopBound must be created on its loop; `makeBoundOnLoop` would hop, so build the core eagerly
        // via the unchecked init path that NIO offers for exactly this "create, then only touch on loop" case.
        self.core = NIOLoopBoundBox.makeBoxSendingValue(
            ClientCore(
                configuration: configuration, eventLoop: eventLoop, transport: transport, time: ClientTime(clock), logger: logger,
                messages: messagesContinuation, events: eventsContinuation,
                status: status),
            eventLoop: eventLoop)
    }

    /// Connects and keeps the connection up, reconnecting with exponential backoff and jitter, until the task is
    /// cancelled, graceful shutdown is triggered, or ``shutdown()`` is called. On the way out DISCONNECT is sent,
    /// pending requests fail with ``MQTTClientError/Code/shutdown`` and both streams finish. Call once.
    public func run() async throws {
        await withTaskCancellationHandler {
            await withGracefulShutdownHandler {
                await connectionLoop()
            } onGracefulShutdown: {
                self.shutdown()
            }
        } onCancel: {
            self.shutdown()
        }
    }

    private func connectionLoop() async {
        let core = self.core
        var attempt = 0
        while true {
            let end: ConnectionEnd
            do {
                end = try await eventLoop.flatSubmit { core.value.connect(bound: core) }.get()
            } catch {
                break
            }
            if end.error.code == .shutdown { break }
            if end.wasConnected { attempt = 0 }
            attempt += 1
            let delay = configuration.reconnectBackoff.delay(attempt: attempt, random: jitter())
            let thisAttempt = attempt
            let keepGoing = (try? await eventLoop.flatSubmit { core.value.waitBeforeRetry(delay, attempt: thisAttempt) }.get()) ?? false
            if !keepGoing { break }
        }
        try? await eventLoop.submit { core.value.terminate() }.get()
    }

    /// Stops the client: no more reconnects, DISCONNECT sent if connected, then ``run()`` returns.
    public func shutdown() {
        status.isShutDown.store(true, ordering: .releasing)
        let core = self.core
        eventLoop.execute { core.value.shutdown() }
    }

    /// Publishes a message.
    ///
    /// While offline (or while the in-flight window is full) the message waits in the bounded spool and is
    /// sent in order later; QoS 0 is dropped offline unless ``MQTTSessionConfiguration/keepQoS0WhenOffline``.
    /// - Parameter completion: `.acknowledged` (default) returns once QoS 0 is written or QoS 1/2 is
    ///   acknowledged; `.accepted` returns once the message is sent or spooled.
    /// - Throws: ``MQTTClientError`` — `.invalidTopic`, `.publishRejected` (with the broker's reason code),
    ///   `.publishDropped` (spool full, offline QoS 0, too large), `.shutdown`.
    public func publish(
        topic: String, payload: ByteBuffer, qos: QoS = .atMostOnce, retain: Bool = false, properties: MQTTProperties = MQTTProperties(),
        until completion: MQTTPublishCompletion = .acknowledged
    ) async throws {
        if let failure = TopicName.validationFailure(topic) { throw MQTTClientError(.invalidTopic, failure) }
        let message = MQTTOutboundMessage(topic: topic, payload: payload, qos: qos, retain: retain, properties: properties)
        let core = self.core
        try await eventLoop.flatSubmit { core.value.publish(message, until: completion) }.get()
    }

    /// Publishes an already validated message, completing when QoS 1/2 is acknowledged (QoS 0: written), without an
    /// `async` hop: futures from calls made one after another are sent in call order. For senders that keep a window
    /// of messages in flight (the disk spool).
    /// - Fails with: as ``publish(topic:payload:qos:retain:properties:until:)``.
    public func send(_ message: MQTTOutboundMessage) -> EventLoopFuture<Void> {
        let core = self.core
        return eventLoop.flatSubmit { core.value.publish(message, until: .acknowledged) }
    }

    /// Hands a message to the client and returns at once, without the event-loop round trip that
    /// ``publish(topic:payload:qos:retain:properties:until:)`` awaits: for callers that forward many messages and
    /// answer their own callers at "accepted" (the IoT Core bridge), where that round trip per message costs about
    /// half the throughput.
    ///
    /// The outcome matches `publish(…, until: .accepted)`: what that would throw is decided here from the client's
    /// state — an invalid topic, QoS 0 while offline (unless
    /// ``MQTTSessionConfiguration/keepQoS0WhenOffline``), a shut-down client, and for QoS 1/2 a full spool
    /// ("Message spool is full. Message could not be added.") or a message larger than the whole spool (whether it
    /// would bypass the spool is only known on the loop, so room is reserved for it as if it were spooled). An
    /// accepted QoS 1/2 message is never dropped for lack of room later (``MQTTSpoolLedger``). Messages from one
    /// caller keep their order. A QoS 0 message the loop cannot take after all (the connection dropped in the instant
    /// between, or the spool is full) is dropped, logged and counted in ``MQTTClientStatistics``, as a QoS 0 message
    /// lost with a dying socket would be.
    /// - Throws: ``MQTTClientError`` — `.invalidTopic`, `.publishDropped`, `.shutdown`.
    public func enqueue(
        topic: String, payload: ByteBuffer, qos: QoS = .atMostOnce, retain: Bool = false, properties: MQTTProperties = MQTTProperties()
    ) throws(MQTTClientError) {
        if let failure = TopicName.validationFailure(topic) { throw MQTTClientError(.invalidTopic, failure) }
        if status.isShutDown.load(ordering: .acquiring) { throw MQTTClientError(.shutdown, "client is shut down") }
        let session = configuration.session
        if qos == .atMostOnce, !session.keepQoS0WhenOffline, !status.isOnline.load(ordering: .acquiring) {
            throw MQTTClientError(dropped: .offlineQoS0)
        }
        let message = MQTTOutboundMessage(topic: topic, payload: payload, qos: qos, retain: retain, properties: properties)
        // The spool charge is counted only where it decides something (offline QoS 0, QoS 1/2), not for every
        // QoS 0 message sent online.
        if qos == .atMostOnce, !status.isOnline.load(ordering: .acquiring), message.spoolCharge > session.spoolMaximumBytes {
            throw MQTTClientError(dropped: .largerThanSpool)
        }
        let charge = qos == .atMostOnce ? 0 : message.spoolCharge
        // One loop task (and one wake-up of the loop) per batch, not per message: while a drain is pending,
        // further messages only join the queue.
        let startsBatch = try status.enqueued.withLock { (queue) throws(MQTTClientError) -> Bool in
            if qos != .atMostOnce, let refusal = queue.ledger.admit(charge: charge) { throw MQTTClientError(dropped: refusal) }
            queue.messages.append(message)
            return queue.messages.count == 1
        }
        guard startsBatch else { return }
        let core = self.core
        if eventLoop.inEventLoop {
            // The caller shares the client's loop (the nucleus puts IPC connections there): no hop at all.
            core.value.drainEnqueued()
        } else {
            eventLoop.execute { core.value.drainEnqueued() }
        }
    }

    /// Subscribes to several filters with per-filter options.
    ///
    /// Subscriptions are shared and reference-counted per filter across every caller and subscription stream:
    /// a filter the broker already granted at the asked QoS is answered without a round trip, and only the last
    /// ``unsubscribe(_:)`` of a filter sends UNSUBSCRIBE. The client re-sends what the broker does not hold after
    /// every reconnect (all of it when the broker kept no session).
    /// - Parameter whenOffline: `.fail` (default) throws `.notConnected` and keeps nothing; `.sendOnConnect` keeps
    ///   the subscription, sends it once connected, and still throws `.notConnected` so the caller knows it is
    ///   not active yet (a refusal then arrives as ``MQTTConnectionEvent/resubscribeFailed(_:_:)``).
    /// - Returns: one result per request, in order; refused filters have a failure reason code and no granted QoS.
    /// - Throws: ``MQTTClientError`` `.notConnected` when offline, `.connectionClosed` if the connection drops first.
    public func subscribe(
        _ requests: [MQTTSubscriptionRequest], properties: MQTTProperties = MQTTProperties(), whenOffline: MQTTOfflineSubscription = .fail
    ) async throws -> [MQTTSubscribeResult] {
        let core = self.core
        return try await eventLoop.flatSubmit { core.value.subscribe(requests, properties: properties, whenOffline: whenOffline) }.get()
    }

    /// Subscribes to filters at the given QoS levels (default options).
    public func subscribe(_ filters: [(TopicFilter, QoS)], whenOffline: MQTTOfflineSubscription = .fail) async throws -> [MQTTSubscribeResult] {
        try await subscribe(filters.map { MQTTSubscriptionRequest($0.0, qos: $0.1) }, whenOffline: whenOffline)
    }

    /// Subscribes and returns the matching messages as their own `AsyncSequence`; dropping it unsubscribes.
    ///
    /// Messages still also appear on ``messages``. A consumer slower than `bufferCapacity` messages loses the
    /// oldest, counted in ``MQTTClientStatistics/subscriptionDropped``.
    /// - Throws: as ``subscribe(_:properties:whenOffline:)``. Refused filters are reported in ``MQTTSubscription/results``.
    public func subscription(to requests: [MQTTSubscriptionRequest], bufferCapacity: Int = 1000) async throws -> MQTTSubscription {
        let (stream, continuation) = AsyncStream.makeStream(of: MQTTMessage.self, bufferingPolicy: .bufferingNewest(max(1, bufferCapacity)))
        let core = self.core
        let (id, results) = try await eventLoop.flatSubmit { core.value.subscribeStream(requests, continuation) }.get()
        let eventLoop = self.eventLoop
        continuation.onTermination = { _ in
            eventLoop.execute { core.value.removeStream(id) }
        }
        return MQTTSubscription(results: results, stream: stream)
    }

    /// Gives back one reference per filter (see ``subscribe(_:properties:whenOffline:)``); UNSUBSCRIBE goes out for
    /// the filters nobody holds any more, which are forgotten for resubscription even if this throws.
    /// - Returns: one reason code per filter (always success under MQTT 3.1.1, which has none, and for filters
    ///   other users still hold).
    public func unsubscribe(_ filters: [TopicFilter]) async throws -> [MQTTReasonCode] {
        let core = self.core
        return try await eventLoop.flatSubmit { core.value.unsubscribe(filters) }.get()
    }

    /// Current counters (drops, spool occupancy, in-flight count, connects).
    public func statistics() async -> MQTTClientStatistics {
        let core = self.core
        return (try? await eventLoop.submit { core.value.currentStatistics }.get()) ?? MQTTClientStatistics()
    }

    /// Whether a CONNACK-accepted connection is up right now.
    ///
    /// Answered on the client's loop: ordered after every request made before it.
    public func isConnected() async -> Bool {
        let core = self.core
        return (try? await eventLoop.submit { core.value.isConnected }.get()) ?? false
    }
}

/// The part of the client's state that ``MQTTClient/enqueue(topic:payload:qos:retain:properties:)`` reads without
/// hopping to the loop. Only ``ClientCore`` writes it, on the loop, as the session goes on- and offline.
final class ClientStatus: Sendable {
    /// The session is online (CONNACK accepted, connection not yet ended).
    let isOnline = Atomic<Bool>(false)
    /// ``MQTTClient/shutdown()`` was called.
    let isShutDown = Atomic<Bool>(false)
    /// Messages handed to ``MQTTClient/enqueue(topic:payload:qos:retain:properties:)`` that the loop has not
    /// taken yet, in order, and the spool admission that decides them. The loop drains the messages on every pass;
    /// QoS 1/2 ones are bounded by the ledger too.
    let enqueued: Mutex<EnqueuedMessages>

    init(spoolCapacity: Int) {
        enqueued = Mutex(EnqueuedMessages(ledger: MQTTSpoolLedger(capacity: spoolCapacity)))
    }
}

struct EnqueuedMessages: Sendable {
    var messages: [MQTTOutboundMessage] = []
    var ledger: MQTTSpoolLedger
}
