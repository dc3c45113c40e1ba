import Logging
import MQTTCore
import NIOCore

/// Subscriptions: SUBSCRIBE/UNSUBSCRIBE requests and their acknowledgements, and subscription streams. What is
/// sent and re-sent is decided by ``MQTTTopicStateMachine`` (`topics`); this extension pairs its decisions with
/// packet identifiers and the callers' promises.
extension ClientCore {
    enum PendingRequest {
        case subscribe(SubscribeCall)
        case resubscribe([MQTTSubscriptionRequest])
        /// `sent`: the filters no user holds any more (the others are answered `.success` without a round trip).
        case unsubscribe(asked: [TopicFilter], sent: [TopicFilter], EventLoopPromise<[MQTTReasonCode]>)
    }

    /// A caller's SUBSCRIBE waiting for its SUBACK.
    struct SubscribeCall {
        var asked: [MQTTSubscriptionRequest]
        /// What the SUBSCRIBE carries: the asked filters the broker had not granted at their QoS.
        var sent: [MQTTSubscriptionRequest]
        var alreadyGranted: [TopicFilter: MQTTReasonCode]
        /// ``MQTTOfflineSubscription/sendOnConnect``: a lost connection keeps the subscription for the next one.
        var keepsWhenOffline: Bool
        var promise: EventLoopPromise<[MQTTSubscribeResult]>
    }

    /// A subscription stream: its filters for fan-out, and those it holds a reference on (granted to it).
    struct SubscriptionStream {
        var filters: [TopicFilter]
        var held: [TopicFilter] = []
        var continuation: AsyncStream<MQTTMessage>.Continuation
    }

    func completeSubscribe(_ ack: MQTTSubAckPacket) {
        guard let request = pending.removeValue(forKey: ack.packetIdentifier) else { return }
        session.releaseControlIdentifier(ack.packetIdentifier)
        switch request {
        case .subscribe(let call):
            topics.subscribeAcknowledged(call.sent, reasonCodes: ack.reasonCodes, isResubscription: false)
            let codes = Self.codesByFilter(call.sent.map(\.filter), ack.reasonCodes, missing: .unspecifiedError)
            call.promise.succeed(call.asked.map { subscription in
                MQTTSubscribeResult(
                    filter: subscription.filter,
                    reasonCode: call.alreadyGranted[subscription.filter] ?? codes[subscription.filter] ?? .unspecifiedError)
            })
        case .resubscribe(let requests):
            let codes = Self.codesByFilter(requests.map(\.filter), ack.reasonCodes, missing: .unspecifiedError)
            for filter in topics.subscribeAcknowledged(requests, reasonCodes: ack.reasonCodes, isResubscription: true) {
                let code = codes[filter] ?? .unspecifiedError
                logger.warning("resubscribe refused", metadata: ["filter": "\(filter)", "reason": "\(code)"])
                events.yield(.resubscribeFailed(filter, code))
            }
        case .unsubscribe(_, _, let promise):
            promise.fail(MQTTClientError(.protocolError, "broker answered UNSUBSCRIBE \(ack.packetIdentifier) with SUBACK"))
        }
    }

    func completeUnsubscribe(_ ack: MQTTSubAckPacket) {
        guard let request = pending.removeValue(forKey: ack.packetIdentifier) else { return }
        session.releaseControlIdentifier(ack.packetIdentifier)
        switch request {
        case .unsubscribe(let asked, let sent, let promise):
            // MQTT 3.1.1 UNSUBACK carries no codes: success for every filter.
            let codes = Self.codesByFilter(sent, ack.reasonCodes, missing: .success)
            promise.succeed(asked.map { codes[$0] ?? .success })
        case .subscribe(let call):
            call.promise.fail(MQTTClientError(.protocolError, "broker answered SUBSCRIBE \(ack.packetIdentifier) with UNSUBACK"))
        case .resubscribe:
            break
        }
    }

    /// Pairs an acknowledgement's reason codes with the filters of its request, in order.
    private static func codesByFilter(_ filters: [TopicFilter], _ codes: [MQTTReasonCode], missing: MQTTReasonCode) -> [TopicFilter: MQTTReasonCode] {
        var result: [TopicFilter: MQTTReasonCode] = [:]
        for (index, filter) in filters.enumerated() { result[filter] = index < codes.count ? codes[index] : missing }
        return result
    }

    func subscribe(
        _ requests: [MQTTSubscriptionRequest], properties: MQTTProperties, whenOffline: MQTTOfflineSubscription
    ) -> EventLoopFuture<[MQTTSubscribeResult]> {
        let online = isConnected
        guard online || whenOffline == .sendOnConnect else {
            return eventLoop.makeFailedFuture(MQTTClientError(.notConnected, "cannot SUBSCRIBE while disconnected"))
        }
        guard !requests.isEmpty else { return eventLoop.makeSucceededFuture([]) }
        let decision = topics.subscribe(requests)
        guard let connection, online else {
            return eventLoop.makeFailedFuture(MQTTClientError(.notConnected, "SUBSCRIBE kept until the client is connected"))
        }
        guard !decision.send.isEmpty else {
            return eventLoop.makeSucceededFuture(requests.map {
                MQTTSubscribeResult(filter: $0.filter, reasonCode: decision.alreadyGranted[$0.filter] ?? .unspecifiedError)
            })
        }
        guard let id = session.reserveControlIdentifier() else {
            _ = topics.unsubscribe(requests.map(\.filter))
            return eventLoop.makeFailedFuture(MQTTClientError(.tooManyPendingRequests, "no free packet identifier"))
        }
        let promise = eventLoop.makePromise(of: [MQTTSubscribeResult].self)
        pending[id] = .subscribe(SubscribeCall(
            asked: requests, sent: decision.send, alreadyGranted: decision.alreadyGranted,
            keepsWhenOffline: whenOffline == .sendOnConnect, promise: promise))
        write(.subscribe(MQTTSubscribePacket(packetIdentifier: id, subscriptions: decision.send, properties: properties)), on: connection)
        topics.subscribeSent(decision.send)
        flush(connection)
        return promise.futureResult
    }

    /// Gives back the callers' references; UNSUBSCRIBEs the filters nobody holds any more.
    func unsubscribe(_ filters: [TopicFilter]) -> EventLoopFuture<[MQTTReasonCode]> {
        let unused = topics.unsubscribe(filters)
        guard let connection, isConnected else {
            // Not held any more; the next connect will not re-send it.
            return eventLoop.makeFailedFuture(MQTTClientError(.notConnected, "cannot UNSUBSCRIBE while disconnected"))
        }
        guard !unused.isEmpty else { return eventLoop.makeSucceededFuture(filters.map { _ in .success }) }
        guard let id = session.reserveControlIdentifier() else {
            return eventLoop.makeFailedFuture(MQTTClientError(.tooManyPendingRequests, "no free packet identifier"))
        }
        let promise = eventLoop.makePromise(of: [MQTTReasonCode].self)
        pending[id] = .unsubscribe(asked: filters, sent: unused, promise)
        write(.unsubscribe(MQTTUnsubscribePacket(packetIdentifier: id, filters: unused)), on: connection)
        flush(connection)
        return promise.futureResult
    }

    /// Registers a subscription stream for `requests` and subscribes; the stream holds the filters granted to it.
    func subscribeStream(
        _ requests: [MQTTSubscriptionRequest], _ continuation: AsyncStream<MQTTMessage>.Continuation
    ) -> EventLoopFuture<(id: UInt64, results: [MQTTSubscribeResult])> {
        let id = nextStreamID
        nextStreamID += 1
        let filters = requests.map(\.filter)
        streams[id] = SubscriptionStream(filters: filters, continuation: continuation)
        for filter in filters { streamTrie.insert(filter, id) }
        return subscribe(requests, properties: MQTTProperties(), whenOffline: .fail).assumeIsolated().map { [self] results in
            let granted = results.filter { !$0.reasonCode.isFailure }.map(\.filter)
            if streams[id] != nil {
                streams[id]?.held = granted
            } else if !granted.isEmpty {
                // The consumer dropped the stream before the broker answered.
                releaseStreamFilters(granted)
            }
            return (id, results)
        }.flatMapErrorThrowing { [self] error in
            dropStream(id)
            throw error
        }.nonisolated()
    }

    /// Drops a subscription stream and gives back the filters it held.
    func removeStream(_ id: UInt64) {
        guard let stream = dropStream(id), !stream.held.isEmpty else { return }
        releaseStreamFilters(stream.held)
    }

    @discardableResult
    private func dropStream(_ id: UInt64) -> SubscriptionStream? {
        guard let stream = streams.removeValue(forKey: id) else { return nil }
        for filter in stream.filters { streamTrie.remove(filter) { $0 == id } }
        return stream
    }

    private func releaseStreamFilters(_ filters: [TopicFilter]) {
        unsubscribe(filters).whenFailure { [logger] error in
            logger.debug("UNSUBSCRIBE for a dropped subscription stream did not complete", metadata: ["error": "\(error)"])
        }
    }
}
