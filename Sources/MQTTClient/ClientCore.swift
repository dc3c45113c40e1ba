import Logging
import MQTTCore
import NIOCore
import Synchronization

/// All mutable client state, confined to one event loop (the one every connection of this client uses),
/// so the protocol logic runs without locks and NIO callbacks reach it without hops.
final class ClientCore {
    let configuration: MQTTClientConfiguration
    let eventLoop: any EventLoop
    /// How connections are opened: TCP/TLS in production, a test channel in tests.
    let transport: ClientTransport
    /// Connect, keep-alive, ping-timeout, CONNACK and reconnect deadlines are read from this, never from the system
    /// clock directly.
    let time: ClientTime
    var logger: Logger
    var session: MQTTSession
    private(set) var connection: ClientConnection?
    private var connectionCounter = 0
    /// Every user's subscriptions, reference-counted per filter; decides what is sent and re-sent.
    var topics = MQTTTopicStateMachine()
    var pending: [UInt16: PendingRequest] = [:]
    private var publishPromises: [MQTTMessageToken: EventLoopPromise<Void>] = [:]
    private var statistics = MQTTClientStatistics()
    /// The session's never-evictable spooled bytes last told to the admission ledger.
    private var reportedRetainedBytes = 0
    private(set) var isShuttingDown = false
    private var retryWait: (task: Scheduled<Void>, promise: EventLoopPromise<Bool>)?
    private let messages: AsyncStream<MQTTMessage>.Continuation
    var streams: [UInt64: SubscriptionStream] = [:]
    var streamTrie = TopicTrie<UInt64>()
    var nextStreamID: UInt64 = 1
    let events: AsyncStream<MQTTConnectionEvent>.Continuation
    private let status: ClientStatus
    /// An empty array with room, swapped with the ``ClientStatus`` queue by ``drainEnqueued()``.
    private var spareBatch: [MQTTOutboundMessage] = []
    /// An empty array with room for the session's actions of one message, reused by ``drainEnqueued()``.
    private var spareActions: [MQTTSession.Action] = []

    init(
        configuration: MQTTClientConfiguration, eventLoop: any EventLoop, transport: ClientTransport, time: ClientTime, logger: Logger,
        messages: AsyncStream<MQTTMessage>.Continuation, events: AsyncStream<MQTTConnectionEvent>.Continuation,
        status: ClientStatus
    ) {
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.transport = transport
        self.time = time
        self.logger = logger
        self.logger[metadataKey: "clientId"] = "\(configuration.clientIdentifier)"
        self.session = MQTTSession(configuration: configuration.session)
        self.messages = messages
        self.events = events
        self.status = status
    }

    // MARK: Connecting

    /// Starts one connection attempt; the future completes when that connection has ended.
    func connect(bound: NIOLoopBoundBox<ClientCore>) -> EventLoopFuture<ConnectionEnd> {
        eventLoop.preconditionInEventLoop()
        let ended = eventLoop.makePromise(of: ConnectionEnd.self)
        guard !isShuttingDown else {
            ended.succeed(ConnectionEnd(wasConnected: false, error: MQTTClientError(.shutdown, "client is shutting down")))
            return ended.futureResult
        }
        connectionCounter += 1
        let connection = ClientConnection(
            id: connectionCounter,
            machine: MQTTConnectionStateMachine(configuration: .init(
                version: configuration.protocolVersion, keepAliveSeconds: configuration.keepAliveSeconds,
                pingTimeout: configuration.pingTimeout, connectTimeout: configuration.connectTimeout,
                inboundTopicAliasMaximum: configuration.protocolVersion == .v5 ? configuration.topicAliasMaximum : 0)),
            ended: ended)
        self.connection = connection
        // The transport's own timeout is only a backstop: the attempt ends on the client's clock.
        connection.machine.openingStarted(now: time.now)
        armTimer(connection)
        let decoder = MQTTPacketDecoder(version: configuration.protocolVersion, maximumPacketSize: configuration.maximumPacketSize)
        let boundConnection = NIOLoopBound(connection, eventLoop: eventLoop)
        transport.open(configuration, eventLoop) { channel in
            try Self.addConnectionHandlers(to: channel, core: bound.value, connection: boundConnection.value, decoder: decoder)
        }
        .whenComplete { result in
            let core = bound.value
            let connection = boundConnection.value
            switch result {
            case .success(let channel):
                // Shutdown may have raced the connect.
                if connection.finished || core.isShuttingDown { channel.close(promise: nil) }
            case .failure(let error):
                core.finish(connection, error as? MQTTClientError ?? MQTTClientError(.connectFailed, "cannot connect: \(error)"))
            }
        }
        return ended.futureResult
    }

    /// Puts the client's protocol handler for `connection` on `channel` (after any TLS handler), before the channel
    /// is active. Shared by the TCP transport and the tests' channels, so both run the same pipeline.
    static func addConnectionHandlers(to channel: any Channel, core: ClientCore, connection: ClientConnection, decoder: MQTTPacketDecoder) throws {
        // Set here, before channelActive, so CONNECT can be written the moment the socket is up.
        connection.channel = channel
        try channel.pipeline.syncOperations.addHandler(MQTTChannelHandler(core: core, connection: connection, decoder: decoder))
    }

    /// The channel is up: send CONNECT and wait for CONNACK.
    func connectionActive(_ connection: ClientConnection) {
        guard self.connection === connection, !connection.finished else { return }
        write(.connect(configuration.connectPacket), on: connection)
        connection.machine.connectSent(now: time.now)
        flush(connection)
        armTimer(connection)
    }

    // MARK: Inbound

    func received(_ packet: MQTTPacket, on connection: ClientConnection) {
        guard self.connection === connection, !connection.finished else { return }
        handle(connection.machine.received(packet, now: time.now), on: connection)
    }

    func decodingFailed(_ error: any Error, on connection: ClientConnection) {
        let protocolError = error as? MQTTProtocolError ?? MQTTProtocolError(.invalidField, "undecodable input: \(error)")
        logger.error("MQTT protocol error from broker, closing connection", metadata: ["error": "\(protocolError)"])
        close(connection, reason: .protocolError(protocolError))
    }

    func channelError(_ error: any Error, on connection: ClientConnection) {
        if connection.closeReason == nil {
            connection.closeReason = MQTTClientError(.connectionClosed, "connection error: \(error)")
        }
    }

    private func handle(_ action: MQTTConnectionStateMachine<ContinuousClock.Instant>.Action, on connection: ClientConnection) {
        switch action {
        case .none:
            break
        case .sendPingRequest:
            write(.pingreq, on: connection)
            flush(connection)
        case .close(let reason):
            close(connection, reason: reason)
        case .connected(let settings):
            connection.negotiated = settings
            statistics.connects += 1
            logger.info(
                "Successfully connected to MQTT broker",
                metadata: ["sessionPresent": "\(settings.sessionPresent)", "host": "\(configuration.host):\(configuration.port)"])
            perform(
                session.connected(sessionPresent: settings.sessionPresent, receiveMaximum: settings.receiveMaximum, now: time.now), on: connection)
            status.isOnline.store(true, ordering: .releasing)
            let resend = topics.connected(sessionPresent: settings.sessionPresent)
            if !resend.isEmpty, let id = session.reserveControlIdentifier() {
                pending[id] = .resubscribe(resend)
                write(.subscribe(MQTTSubscribePacket(packetIdentifier: id, subscriptions: resend)), on: connection)
                topics.subscribeSent(resend)
            }
            flush(connection)
            events.yield(.connected(sessionPresent: settings.sessionPresent))
        case .forward(let packet):
            switch packet {
            case .suback(let ack):
                completeSubscribe(ack)
            case .unsuback(let ack):
                completeUnsubscribe(ack)
            case .auth:
                logger.debug("ignoring AUTH packet: enhanced authentication is not configured")
            default:
                perform(session.received(packet, now: time.now), on: connection)
            }
        }
        armTimer(connection)
    }

    // MARK: Session actions

    /// Performs session actions in order. `deferFlush` coalesces the writes of many API calls arriving in the same
    /// event-loop tick into one syscall, instead of one write per publish.
    private func perform(_ actions: [MQTTSession.Action], on connection: ClientConnection?, deferFlush: Bool = false) {
        for action in actions {
            switch action {
            case .send(let packet, let token):
                guard let connection, connection.negotiated != nil, !connection.finished else { continue }
                if write(packet, on: connection) {
                    if let token { connection.outboundTokens.append(token) }
                } else if case .publish(let publish) = packet {
                    if let id = publish.packetIdentifier {
                        perform(session.fail(packetIdentifier: id, .packetTooLarge, now: time.now), on: connection)
                    } else if let token {
                        complete(token, .dropped(.packetTooLarge))
                    }
                }
            case .complete(let token, let outcome):
                complete(token, outcome)
            case .deliver(let publish):
                deliver(publish)
            }
        }
        // Sending from the spool frees room: let `enqueue` see it (only when it changed, to skip the lock).
        if session.spooledRetainedBytes != reportedRetainedBytes { reportHandedOver(charge: 0) }
        guard let connection else { return }
        if deferFlush { scheduleFlush(connection) } else { flush(connection) }
    }

    private func scheduleFlush(_ connection: ClientConnection) {
        guard !connection.flushScheduled else { return }
        connection.flushScheduled = true
        eventLoop.assumeIsolated().execute { [self] in
            connection.flushScheduled = false
            flush(connection)
        }
    }

    private func complete(_ token: MQTTMessageToken, _ outcome: MQTTPublishOutcome) {
        let promise = publishPromises.removeValue(forKey: token)
        switch outcome {
        case .written, .acknowledged:
            promise?.succeed(())
        case .rejected(let code, let text):
            logger.warning("broker rejected PUBLISH", metadata: ["reason": "\(code)"])
            promise?.fail(MQTTClientError(.publishRejected, reasonCode: code, "broker rejected the message" + (text.map { ": \($0)" } ?? "")))
        case .dropped(let reason):
            logger.warning("MQTT message dropped", metadata: ["reason": "\(reason)", "spooled": "\(session.spooledCount)"])
            promise?.fail(MQTTClientError(dropped: reason))
        }
    }

    private func deliver(_ publish: MQTTPublishPacket) {
        statistics.inboundReceived += 1
        let message = MQTTMessage(
            topic: publish.topic, payload: publish.payload, qos: publish.qos, retain: publish.retain, dup: publish.dup, properties: publish.properties)
        if !streams.isEmpty {
            // Overlapping filters of one subscription stream must not deliver the message twice.
            var seen = Set<UInt64>()
            for id in streamTrie.match(topic: publish.topic) where seen.insert(id).inserted {
                if case .dropped = streams[id]?.continuation.yield(message) { statistics.subscriptionDropped += 1 }
            }
        }
        if case .dropped = messages.yield(message) {
            statistics.inboundDropped += 1
            // Log the first drop and then every 1000th, so a stalled consumer is visible without flooding the log.
            if statistics.inboundDropped % 1000 == 1 {
                logger.warning("inbound MQTT message dropped: consumer is not keeping up", metadata: ["dropped": "\(statistics.inboundDropped)"])
            }
        }
    }

    // MARK: Writing

    /// Encodes a packet into the connection's pending output. Returns false when it exceeds the broker's maximum packet size.
    @discardableResult
    func write(_ packet: MQTTPacket, on connection: ClientConnection) -> Bool {
        let maximumPacketSize = connection.negotiated?.maximumPacketSize ?? MQTTLimits.maximumPacketSize
        do {
            if case .publish(var publish) = packet {
                // Every forwarded message passes here: the alias is applied in place and the PUBLISH encoded
                // without wrapping it in a packet again.
                if configuration.useOutboundTopicAliases { connection.machine.outboundAliases.apply(to: &publish) }
                try MQTTPacket.write(publish, version: configuration.protocolVersion, to: &connection.outbound, maximumPacketSize: maximumPacketSize)
            } else {
                try packet.write(version: configuration.protocolVersion, to: &connection.outbound, maximumPacketSize: maximumPacketSize)
            }
            return true
        } catch {
            logger.warning("cannot send packet", metadata: ["error": "\(error)"])
            return false
        }
    }

    /// Writes what is pending unless a read burst is in progress (its end flushes).
    func flush(_ connection: ClientConnection) {
        guard !connection.isReading, connection.outbound.readableBytes > 0, let channel = connection.channel else { return }
        let buffer = connection.outbound
        connection.outbound = channel.allocator.buffer(capacity: 0)
        let tokens = connection.outboundTokens
        connection.outboundTokens = []
        connection.machine.packetSent(now: time.now)
        if tokens.isEmpty {
            channel.writeAndFlush(buffer, promise: nil)
        } else {
            let promise = eventLoop.makePromise(of: Void.self)
            channel.writeAndFlush(buffer, promise: promise)
            promise.futureResult.assumeIsolated().whenComplete { [self] result in
                for token in tokens {
                    switch result {
                    case .success: complete(token, .written)
                    case .failure: complete(token, .dropped(.shutdown))
                    }
                }
            }
        }
    }

    // MARK: Timers

    private func armTimer(_ connection: ClientConnection) {
        guard !connection.finished, let deadline = connection.machine.nextDeadline else { return }
        if let scheduled = connection.timerDeadline, scheduled <= deadline { return }
        connection.timer?.cancel()
        connection.timerDeadline = deadline
        // The loop's timer only wakes us; whether the deadline passed is the state machine's call on `time`.
        connection.timer = eventLoop.assumeIsolated().scheduleTask(in: time.timerDelay(until: deadline)) { [self] in
            connection.timer = nil
            connection.timerDeadline = nil
            guard self.connection === connection, !connection.finished else { return }
            handle(connection.machine.deadlineReached(now: time.now), on: connection)
        }
    }

    // MARK: Closing

    private func close(_ connection: ClientConnection, reason: MQTTConnectionCloseReason) {
        guard !connection.finished else { return }
        if reason == .connectTimeout {
            // Never active, so no channelInactive will end the attempt: end it here. Closing the channel, when the
            // transport has made one yet, abandons the connect.
            finish(connection, MQTTClientError(.connectFailed, "cannot connect to \(configuration.host):\(configuration.port): \(reason)"))
            return
        }
        if connection.closeReason == nil { connection.closeReason = MQTTClientError(reason) }
        connection.machine.closed()
        if configuration.protocolVersion == .v5, let code = reason.disconnectReasonCode, connection.channel != nil {
            connection.outbound.clear()
            write(.disconnect(MQTTReasonPacket(reasonCode: code)), on: connection)
            connection.isReading = false
            flush(connection)
        }
        connection.channel?.close(promise: nil)
    }

    func connectionClosed(_ connection: ClientConnection) {
        finish(connection, connection.closeReason ?? MQTTClientError(.connectionClosed, "the broker closed the connection"))
    }

    /// Ends a connection exactly once: the session goes offline, pending requests fail, watchers hear why.
    func finish(_ connection: ClientConnection, _ error: MQTTClientError) {
        guard !connection.finished else { return }
        connection.finished = true
        connection.machine.closed()
        connection.timer?.cancel()
        connection.timer = nil
        let wasConnected = connection.negotiated != nil
        if self.connection === connection { self.connection = nil }
        if wasConnected {
            status.isOnline.store(false, ordering: .releasing)
            perform(session.disconnected(), on: nil)
            logger.warning("Connection interrupted", metadata: ["reason": "\(error)"])
        } else {
            logger.warning("MQTT connect attempt failed", metadata: ["reason": "\(error)"])
        }
        let requests = pending
        pending.removeAll()
        for (_, request) in requests {
            switch request {
            case .subscribe(let call):
                // The caller hears of the failure: unless it asked to keep the subscription, it holds none.
                if !call.keepsWhenOffline { _ = topics.unsubscribe(call.asked.map(\.filter)) }
                call.promise.fail(error)
            case .unsubscribe(_, _, let promise): promise.fail(error)
            case .resubscribe: break
            }
        }
        topics.disconnected()
        connection.channel?.close(promise: nil)
        events.yield(wasConnected ? .disconnected(error) : .connectFailed(error))
        connection.ended.succeed(ConnectionEnd(wasConnected: wasConnected, error: error))
    }

    // MARK: Requests from the public API

    func publish(_ message: MQTTOutboundMessage, until completion: MQTTPublishCompletion) -> EventLoopFuture<Void> {
        guard !isShuttingDown else { return eventLoop.makeFailedFuture(MQTTClientError(.shutdown, "client is shut down")) }
        // QoS 1/2 goes through the same admission as `enqueue`, so room reserved for enqueued messages stays theirs.
        if message.qos != .atMostOnce {
            let charge = message.spoolCharge
            if let refusal = status.enqueued.withLock({ $0.ledger.admit(charge: charge) }) {
                return eventLoop.makeFailedFuture(MQTTClientError(dropped: refusal))
            }
            let result = session.publish(message, now: time.now)
            reportHandedOver(charge: charge)
            return track(result, until: completion)
        }
        return track(session.publish(message, now: time.now), until: completion)
    }

    /// Completes the caller's promise at `completion` and performs the session's actions.
    private func track(
        _ result: (token: MQTTMessageToken, accepted: Bool, actions: [MQTTSession.Action]), until completion: MQTTPublishCompletion
    ) -> EventLoopFuture<Void> {
        let promise = eventLoop.makePromise(of: Void.self)
        if result.accepted, completion == .accepted {
            promise.succeed(())
        } else {
            publishPromises[result.token] = promise
        }
        perform(result.actions, on: connection, deferFlush: true)
        return promise.futureResult
    }

    /// Takes everything ``MQTTClient/enqueue(topic:payload:qos:retain:properties:)`` queued, in order. No promises:
    /// a message not accepted after all is completed as dropped (logged and counted by the session).
    func drainEnqueued() {
        // The queue and this spare swap arrays, so neither side reallocates per batch (handing out the queue's
        // array and then emptying it while shared would copy it).
        var batch = spareBatch
        spareBatch = []
        status.enqueued.withLock { queue in swap(&queue.messages, &batch) }
        defer {
            batch.removeAll(keepingCapacity: true)
            spareBatch = batch
        }
        // Release the batch's reservations only once the session holds the messages (and report its new
        // never-evictable bytes in the same step), so the ledger never undercounts.
        let reserved = batch.reduce(0) { $0 + ($1.qos == .atMostOnce ? 0 : $1.spoolCharge) }
        defer { reportHandedOver(charge: reserved) }
        guard !isShuttingDown else {
            logger.warning("MQTT messages dropped", metadata: ["reason": "\(MQTTDropReason.shutdown)", "count": "\(batch.count)"])
            return
        }
        let now = time.now
        // One actions array for the whole batch, emptied per message (taken out of `self` while in use: a
        // promise completed by `perform` may run code that drains again).
        var actions = spareActions
        spareActions = []
        for message in batch {
            actions.removeAll(keepingCapacity: true)
            _ = session.publish(message, now: now, appendingTo: &actions)
            perform(actions, on: connection, deferFlush: true)
        }
        actions.removeAll(keepingCapacity: true)
        spareActions = actions
    }

    /// Tells the admission ledger what the session now holds; `charge` of admitted messages reached it.
    private func reportHandedOver(charge: Int) {
        let retained = session.spooledRetainedBytes
        reportedRetainedBytes = retained
        status.enqueued.withLock { $0.ledger.handedOver(charge: charge, sessionRetainedBytes: retained) }
    }

    var currentStatistics: MQTTClientStatistics {
        var result = statistics
        let ledger = status.enqueued.withLock { $0.ledger }
        result.outboundDroppedSpoolFull = session.statistics.droppedSpoolFull + ledger.refusedSpoolFull
        result.outboundEvictedQoS0 = session.statistics.evictedQoS0
        result.outboundDroppedOfflineQoS0 = session.statistics.droppedOfflineQoS0
        result.outboundDroppedLargerThanSpool = session.statistics.droppedLargerThanSpool + ledger.refusedLargerThanSpool
        result.outboundDroppedExpired = session.statistics.droppedExpired
        result.spooledMessages = session.spooledCount
        result.spooledBytes = session.spooledBytes
        result.inflightMessages = session.inflightCount
        return result
    }

    var isConnected: Bool { connection?.negotiated != nil && connection?.finished == false }

    /// Waits `delay` before the next attempt; the future yields false when shutdown interrupted the wait.
    func waitBeforeRetry(_ delay: Duration, attempt: Int) -> EventLoopFuture<Bool> {
        guard !isShuttingDown else { return eventLoop.makeSucceededFuture(false) }
        events.yield(.reconnecting(attempt: attempt, delay: delay))
        logger.info("reconnecting", metadata: ["attempt": "\(attempt)", "delay": "\(delay)"])
        let promise = eventLoop.makePromise(of: Bool.self)
        retry(at: time.now.advanced(by: delay), promise)
        return promise.futureResult
    }

    /// Whether a reconnect is waiting out its backoff.
    var isWaitingToReconnect: Bool { retryWait != nil }

    /// Succeeds `promise` once `deadline` has passed on the client's clock. The loop's timer only wakes us: while
    /// the clock says the deadline is still ahead (a clock other than the loop's), it is set again.
    private func retry(at deadline: ContinuousClock.Instant, _ promise: EventLoopPromise<Bool>) {
        let task = eventLoop.assumeIsolated().scheduleTask(in: time.timerDelay(until: deadline)) { [self] in
            guard time.now >= deadline else { return retry(at: deadline, promise) }
            retryWait = nil
            promise.succeed(!isShuttingDown)
        }
        retryWait = (task, promise)
    }

    /// Stops reconnecting; sends DISCONNECT (normal disconnection, so the broker discards the Will) and closes.
    func shutdown() {
        guard !isShuttingDown else { return }
        isShuttingDown = true
        status.isShutDown.store(true, ordering: .releasing)
        if let wait = retryWait {
            retryWait = nil
            wait.task.cancel()
            wait.promise.succeed(false)
        }
        guard let connection, !connection.finished else { return }
        connection.closeReason = MQTTClientError(.shutdown, "client shut down")
        if connection.negotiated != nil {
            connection.isReading = false
            write(.disconnect(MQTTReasonPacket()), on: connection)
            flush(connection)
        }
        connection.machine.closed()
        connection.channel?.close(promise: nil)
    }

    /// After the run loop ends: fail whatever is still pending and end the streams.
    func terminate() {
        for action in session.failAll(.shutdown) {
            if case .complete(let token, let outcome) = action { complete(token, outcome) }
        }
        for (_, promise) in publishPromises { promise.fail(MQTTClientError(.shutdown, "client shut down")) }
        publishPromises.removeAll()
        messages.finish()
        for (_, stream) in streams { stream.continuation.finish() }
        streams.removeAll()
        events.finish()
    }
}
