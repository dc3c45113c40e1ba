/// The client's subscriptions, one entry per topic filter: how many users hold it, the highest QoS any of them
/// asked for, and whether the broker has granted it on the current connection. It alone decides when a
/// SUBSCRIBE or UNSUBSCRIBE goes out and what is re-sent after a reconnect, so several users (IPC streams,
/// subscription streams, direct callers) can share one upstream subscription and none of them resubscribes.
///
/// A value with no I/O: the client runs it on its event loop and sends what it returns.
public struct MQTTTopicStateMachine: Sendable {
    /// Where a filter's subscription stands with the broker.
    public enum Status: Hashable, Sendable {
        /// Not (or no longer known to be) on the broker: sent at the next connect.
        case unsent
        /// A SUBSCRIBE for it is in flight on the current connection.
        case subscribing
        /// The broker granted it (SUBACK) at this QoS.
        case granted(QoS)
    }

    /// One filter's entry.
    public struct Entry: Hashable, Sendable {
        /// The request sent for it: the options of the latest user that raised the QoS, at the highest QoS asked.
        public var request: MQTTSubscriptionRequest
        /// Users holding it; the entry disappears (UNSUBSCRIBE) when this reaches zero.
        public var references: Int
        public var status: Status
    }

    /// What a subscribe call needs.
    public struct SubscribeDecision: Hashable, Sendable {
        /// Filters to put in a SUBSCRIBE now (new, not granted on this connection, or asked at a higher QoS).
        public var send: [MQTTSubscriptionRequest]
        /// Filters the broker already granted at the asked QoS or higher: answered without a round trip.
        public var alreadyGranted: [TopicFilter: MQTTReasonCode]
    }

    private var entries: [TopicFilter: Entry] = [:]
    /// First-subscribe order, so a resubscription goes out in the order the users asked.
    private var order: [TopicFilter] = []
    private var isConnected = false

    public init() {}

    /// The entry for `filter`, if any user holds it.
    public subscript(filter: TopicFilter) -> Entry? { entries[filter] }

    /// Every held filter, in first-subscribe order.
    public var filters: [TopicFilter] { order }

    /// Takes one reference on each requested filter. Online, the filters not already granted at their QoS are to
    /// be sent (`subscribeSent` follows); offline, they wait for ``connected(sessionPresent:)``.
    public mutating func subscribe(_ requests: [MQTTSubscriptionRequest]) -> SubscribeDecision {
        var decision = SubscribeDecision(send: [], alreadyGranted: [:])
        for request in requests {
            guard var entry = entries[request.filter] else {
                entries[request.filter] = Entry(request: request, references: 1, status: .unsent)
                order.append(request.filter)
                if isConnected { decision.send.append(request) }
                continue
            }
            entry.references += 1
            if request.qos > entry.request.qos { entry.request = request }
            switch entry.status {
            case .granted(let granted) where granted >= request.qos:
                decision.alreadyGranted[request.filter] = Self.grantedCode(granted)
            default:
                // Unsent, in flight (re-sending is harmless: a SUBSCRIBE replaces the broker's subscription), or
                // granted below the asked QoS.
                if isConnected { decision.send.append(entry.request) }
            }
            entries[request.filter] = entry
        }
        return decision
    }

    /// A SUBSCRIBE for `requests` was written on the current connection.
    public mutating func subscribeSent(_ requests: [MQTTSubscriptionRequest]) {
        for request in requests {
            guard var entry = entries[request.filter] else { continue }
            if case .granted(let granted) = entry.status, granted >= request.qos { continue }
            entry.status = .subscribing
            entries[request.filter] = entry
        }
    }

    /// The broker answered a SUBSCRIBE. A granted filter is marked so; a refused one gives back the reference the
    /// request took when `releaseRefused` (a user's own subscribe), or is dropped with all its users when the
    /// refusal answers a resubscription (nobody is left to tell but the event stream).
    /// - Returns: the refused filters that are no longer held.
    @discardableResult
    public mutating func subscribeAcknowledged(
        _ requests: [MQTTSubscriptionRequest], reasonCodes: [MQTTReasonCode], isResubscription: Bool
    ) -> [TopicFilter] {
        var dropped: [TopicFilter] = []
        for (index, request) in requests.enumerated() {
            let code = index < reasonCodes.count ? reasonCodes[index] : .unspecifiedError
            guard var entry = entries[request.filter] else { continue }
            if code.isFailure {
                entry.references = isResubscription ? 0 : entry.references - 1
                if entry.references <= 0 {
                    remove(request.filter)
                    dropped.append(request.filter)
                } else {
                    if entry.status == .subscribing { entry.status = .unsent }
                    entries[request.filter] = entry
                }
            } else {
                entry.status = .granted(Self.grantedQoS(code, asked: request.qos))
                entries[request.filter] = entry
            }
        }
        return dropped
    }

    /// Gives back one reference per filter (a user unsubscribed, or its subscribe failed before an answer).
    /// - Returns: the filters to UNSUBSCRIBE: those no user holds any more, and those this machine never held
    ///   (the caller asked explicitly). Offline the caller need not send them: the broker forgets them with the
    ///   session, or keeps them harmlessly until the next UNSUBSCRIBE.
    public mutating func unsubscribe(_ filters: [TopicFilter]) -> [TopicFilter] {
        var unused: [TopicFilter] = []
        for filter in filters {
            guard var entry = entries[filter] else {
                unused.append(filter)
                continue
            }
            entry.references -= 1
            if entry.references > 0 {
                entries[filter] = entry
            } else {
                remove(filter)
                unused.append(filter)
            }
        }
        return unused
    }

    /// CONNACK accepted. With a session present the broker still holds what it granted; without one, nothing.
    /// - Returns: the subscriptions to send now, in first-subscribe order (then `subscribeSent`).
    public mutating func connected(sessionPresent: Bool) -> [MQTTSubscriptionRequest] {
        isConnected = true
        var resend: [MQTTSubscriptionRequest] = []
        for filter in order {
            guard var entry = entries[filter] else { continue }
            if sessionPresent, case .granted = entry.status { continue }
            entry.status = .unsent
            entries[filter] = entry
            resend.append(entry.request)
        }
        return resend
    }

    /// The connection ended: SUBSCRIBEs in flight are lost; grants stand only if the next CONNACK has a session.
    public mutating func disconnected() {
        isConnected = false
        for filter in order {
            if entries[filter]?.status == .subscribing { entries[filter]?.status = .unsent }
        }
    }

    private mutating func remove(_ filter: TopicFilter) {
        entries[filter] = nil
        order.removeAll { $0 == filter }
    }

    private static func grantedQoS(_ code: MQTTReasonCode, asked: QoS) -> QoS {
        switch code {
        case .grantedQoS2: .exactlyOnce
        case .grantedQoS1: .atLeastOnce
        case .success: .atMostOnce
        default: asked
        }
    }

    private static func grantedCode(_ qos: QoS) -> MQTTReasonCode {
        switch qos {
        case .atMostOnce: .success
        case .atLeastOnce: .grantedQoS1
        case .exactlyOnce: .grantedQoS2
        }
    }
}
