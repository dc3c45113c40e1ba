import MQTTCore
import NIOCore
import Testing

/// A manual instant: tests move time by hand, so keep-alive logic is checked without sleeping.
struct TestInstant: InstantProtocol, Sendable {
    var offset: Duration
    func advanced(by duration: Duration) -> TestInstant { TestInstant(offset: offset + duration) }
    func duration(to other: TestInstant) -> Duration { other.offset - offset }
    static func < (lhs: TestInstant, rhs: TestInstant) -> Bool { lhs.offset < rhs.offset }
    static func at(_ seconds: Double) -> TestInstant { TestInstant(offset: .seconds(seconds)) }
}

@Suite("MQTTConnectionStateMachine")
struct MQTTConnectionStateMachineTests {
    typealias Machine = MQTTConnectionStateMachine<TestInstant>

    static func machine(version: MQTTProtocolVersion = .v5, keepAlive: UInt16 = 60, aliases: UInt16 = 0) -> Machine {
        Machine(configuration: .init(version: version, keepAliveSeconds: keepAlive, pingTimeout: .seconds(30), connectTimeout: .seconds(10), inboundTopicAliasMaximum: aliases))
    }

    static func connected(_ machine: inout Machine, properties: MQTTProperties = MQTTProperties(), sessionPresent: Bool = false) -> MQTTNegotiatedSettings? {
        machine.connectSent(now: .at(0))
        if case .connected(let settings) = machine.received(.connack(MQTTConnAckPacket(sessionPresent: sessionPresent, reasonCode: .success, properties: properties)), now: .at(1)) {
            return settings
        }
        return nil
    }

    @Test("CONNACK success gives negotiated settings with defaults")
    func connack() {
        var machine = Self.machine()
        let settings = Self.connected(&machine, sessionPresent: true)
        #expect(settings == MQTTNegotiatedSettings(
            sessionPresent: true, keepAliveSeconds: 60, receiveMaximum: 65_535, maximumPacketSize: MQTTLimits.maximumPacketSize,
            maximumQoS: .exactlyOnce, retainAvailable: true, topicAliasMaximum: 0, assignedClientIdentifier: nil))
        #expect(machine.isConnected)
    }

    @Test("CONNACK properties override: server keep alive, receive maximum, packet size, aliases, assigned id")
    func connackProperties() {
        var machine = Self.machine()
        var properties = MQTTProperties()
        properties.serverKeepAlive = 5
        properties.receiveMaximum = 10
        properties.maximumPacketSize = 2048
        properties.topicAliasMaximum = 4
        properties.maximumQoS = 1
        properties.retainAvailable = 0
        properties.assignedClientIdentifier = "auto"
        let settings = Self.connected(&machine, properties: properties)
        #expect(settings?.keepAliveSeconds == 5)
        #expect(settings?.receiveMaximum == 10)
        #expect(settings?.maximumPacketSize == 2048)
        #expect(settings?.topicAliasMaximum == 4)
        #expect(settings?.maximumQoS == .atLeastOnce)
        #expect(settings?.retainAvailable == false)
        #expect(settings?.assignedClientIdentifier == "auto")
        #expect(machine.nextDeadline == .at(6))
    }

    @Test("CONNACK refusals are typed", arguments: [MQTTReasonCode.badUserNameOrPassword, .notAuthorized, .clientIdentifierNotValid, .serverUnavailable, .banned, .quotaExceeded])
    func refused(code: MQTTReasonCode) {
        var machine = Self.machine()
        machine.connectSent(now: .at(0))
        var properties = MQTTProperties()
        properties.reasonString = "nope"
        #expect(machine.received(.connack(MQTTConnAckPacket(sessionPresent: false, reasonCode: code, properties: properties)), now: .at(1))
            == .close(.connectionRefused(code, reasonString: "nope")))
        #expect(!machine.isConnected)
    }

    @Test("no CONNACK before the connect timeout closes")
    func connackTimeout() {
        var machine = Self.machine()
        machine.connectSent(now: .at(0))
        #expect(machine.nextDeadline == .at(10))
        #expect(machine.deadlineReached(now: .at(9)) == .none)
        #expect(machine.deadlineReached(now: .at(10)) == .close(.connAckTimeout))
    }

    @Test("each connect phase has its own connect timeout: opening the connection, then CONNACK once it is up")
    func connectPhaseTimeouts() {
        let phases: [(upAt: Double?, deadline: Double, reason: MQTTConnectionCloseReason)] = [
            (upAt: nil, deadline: 10, reason: .connectTimeout), (upAt: 4, deadline: 14, reason: .connAckTimeout),
        ]
        for phase in phases {
            var machine = Self.machine()
            machine.openingStarted(now: .at(0))
            if let upAt = phase.upAt { machine.connectSent(now: .at(upAt)) }
            #expect(machine.nextDeadline == .at(phase.deadline))
            #expect(machine.deadlineReached(now: .at(phase.deadline - 0.001)) == .none)
            #expect(machine.deadlineReached(now: .at(phase.deadline)) == .close(phase.reason))
            #expect(machine.nextDeadline == nil)
        }
    }

    @Test("anything but CONNACK first is a protocol error")
    func notConnackFirst() {
        var machine = Self.machine()
        machine.connectSent(now: .at(0))
        guard case .close(.protocolError(let error)) = machine.received(.pingresp, now: .at(1)) else { Issue.record("expected close"); return }
        #expect(error.code == .unexpectedPacket)
    }

    @Test("keep alive: PINGREQ after idle, PINGRESP clears, missing PINGRESP closes")
    func keepAlive() {
        var machine = Self.machine(keepAlive: 60)
        _ = Self.connected(&machine)
        #expect(machine.nextDeadline == .at(61))
        machine.packetSent(now: .at(30))
        #expect(machine.nextDeadline == .at(90))
        #expect(machine.deadlineReached(now: .at(61)) == .none, "traffic postponed the ping")
        #expect(machine.deadlineReached(now: .at(90)) == .sendPingRequest)
        #expect(machine.nextDeadline == .at(120), "ping timeout")
        #expect(machine.received(.pingresp, now: .at(91)) == .none)
        #expect(machine.nextDeadline == .at(150))
        #expect(machine.deadlineReached(now: .at(150)) == .sendPingRequest)
        #expect(machine.deadlineReached(now: .at(179)) == .none)
        #expect(machine.deadlineReached(now: .at(180)) == .close(.keepAliveTimeout))
        #expect(MQTTConnectionCloseReason.keepAliveTimeout.disconnectReasonCode == .keepAliveTimeout)
    }

    @Test("keep alive 0 disables pings")
    func noKeepAlive() {
        var machine = Self.machine(keepAlive: 0)
        _ = Self.connected(&machine)
        #expect(machine.nextDeadline == nil)
        #expect(machine.deadlineReached(now: .at(10_000)) == .none)
    }

    @Test("DISCONNECT from the broker closes with its reason (session taken over)")
    func serverDisconnect() {
        var machine = Self.machine()
        _ = Self.connected(&machine)
        #expect(machine.received(.disconnect(MQTTReasonPacket(reasonCode: .sessionTakenOver)), now: .at(2)) == .close(.serverDisconnected(.sessionTakenOver, reasonString: nil)))
        #expect(MQTTConnectionCloseReason.serverDisconnected(.sessionTakenOver, reasonString: nil).description.contains("session taken over"))
    }

    @Test("packets a broker must not send close the connection", arguments: [MQTTPacket.pingreq, .connack(MQTTConnAckPacket(sessionPresent: false, reasonCode: .success)),
        .subscribe(MQTTSubscribePacket(packetIdentifier: 1, subscriptions: [MQTTSubscriptionRequest("a")]))])
    func forbidden(packet: MQTTPacket) {
        var machine = Self.machine()
        _ = Self.connected(&machine)
        guard case .close(.protocolError) = machine.received(packet, now: .at(2)) else { Issue.record("expected protocol error"); return }
    }

    @Test("other packets are forwarded")
    func forward() {
        var machine = Self.machine()
        _ = Self.connected(&machine)
        let ack = MQTTPacket.puback(MQTTAckPacket(packetIdentifier: 1))
        #expect(machine.received(ack, now: .at(2)) == .forward(ack))
    }

    @Test("inbound topic aliases are resolved; unknown or too-large aliases are protocol errors")
    func inboundAliases() {
        var machine = Self.machine(aliases: 2)
        _ = Self.connected(&machine)
        var properties = MQTTProperties()
        properties.topicAlias = 1
        let defining = MQTTPublishPacket(topic: "long/topic", payload: ByteBuffer(string: "1"), properties: properties)
        #expect(machine.received(.publish(defining), now: .at(2)) == .forward(.publish(defining)))
        var using = defining
        using.topic = ""
        guard case .forward(.publish(let resolved)) = machine.received(.publish(using), now: .at(3)) else { Issue.record("not forwarded"); return }
        #expect(resolved.topic == "long/topic")
        properties.topicAlias = 2
        let unknown = MQTTPublishPacket(topic: "", payload: ByteBuffer(), properties: properties)
        guard case .close(.protocolError(let error)) = machine.received(.publish(unknown), now: .at(4)) else { Issue.record("expected close"); return }
        #expect(error.code == .invalidTopicAlias)

        var strict = Self.machine(aliases: 0)
        _ = Self.connected(&strict)
        guard case .close(.protocolError) = strict.received(.publish(defining), now: .at(2)) else { Issue.record("expected close"); return }
    }

    @Test("outbound topic aliases when the broker offers them")
    func outboundAliases() {
        var machine = Self.machine()
        var properties = MQTTProperties()
        properties.topicAliasMaximum = 1
        _ = Self.connected(&machine, properties: properties)
        let publish = MQTTPublishPacket(topic: "a/b", payload: ByteBuffer())
        let first = machine.aliased(publish)
        #expect(first.topic == "a/b" && first.properties.topicAlias == 1)
        let second = machine.aliased(publish)
        #expect(second.topic.isEmpty && second.properties.topicAlias == 1)
        let other = machine.aliased(MQTTPublishPacket(topic: "c", payload: ByteBuffer()))
        #expect(other.topic == "c" && other.properties.topicAlias == nil, "alias space exhausted")

        var v3 = Self.machine(version: .v3_1_1)
        _ = Self.connected(&v3, properties: properties)
        #expect(v3.aliased(publish) == publish)
    }

    @Test("outbound topic aliases last one connection: none once it closes, defined afresh after the next CONNACK")
    func outboundAliasesPerConnection() {
        var machine = Self.machine()
        var properties = MQTTProperties()
        properties.topicAliasMaximum = 1
        _ = Self.connected(&machine, properties: properties)
        let publish = MQTTPublishPacket(topic: "a/b", payload: ByteBuffer())
        #expect(machine.aliased(publish).properties.topicAlias == 1)
        #expect(machine.aliased(publish).topic.isEmpty)

        machine.closed()
        #expect(machine.aliased(publish) == publish, "no aliases while not connected")
        #expect(machine.outboundAliases == MQTTOutboundTopicAliases())

        _ = Self.connected(&machine, properties: properties)
        let first = machine.aliased(publish)
        #expect(first.topic == "a/b" && first.properties.topicAlias == 1, "the new connection defines the alias again")

        var keepAlive = Self.machine(keepAlive: 1)
        _ = Self.connected(&keepAlive, properties: properties)
        _ = keepAlive.aliased(publish)
        _ = keepAlive.deadlineReached(now: .at(2))  // PINGREQ: still connected, aliases kept
        #expect(keepAlive.aliased(publish).topic.isEmpty)
        _ = keepAlive.deadlineReached(now: .at(100))  // no PINGRESP: the machine closes the connection itself
        #expect(keepAlive.aliased(publish) == publish)
    }

    @Test("backoff doubles from the minimum up to the maximum, with jitter in [ceiling/2, ceiling]")
    func backoff() {
        let backoff = MQTTReconnectBackoff(minimum: .milliseconds(100), maximum: .seconds(5))
        let ceilings: [Duration] = [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .milliseconds(1600), .milliseconds(3200), .seconds(5), .seconds(5)]
        for (index, ceiling) in ceilings.enumerated() {
            #expect(backoff.delay(attempt: index + 1, random: 0) == ceiling / 2)
            let high = backoff.delay(attempt: index + 1, random: 0.999_999)
            #expect(high <= ceiling && high > ceiling * 0.99)
        }
        #expect(backoff.delay(attempt: 1_000, random: 0.5) <= .seconds(5))
        #expect(backoff.delay(attempt: 0, random: 0) == .milliseconds(50))
    }
}

extension MQTTConnectionStateMachine {
    /// `publish` as the client shell sends it: with this connection's outbound topic alias applied.
    fileprivate mutating func aliased(_ publish: MQTTPublishPacket) -> MQTTPublishPacket {
        var publish = publish
        outboundAliases.apply(to: &publish)
        return publish
    }
}
