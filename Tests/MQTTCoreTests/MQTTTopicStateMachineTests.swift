import MQTTCore
import Testing

@Suite("MQTTTopicStateMachine")
struct MQTTTopicStateMachineTests {
    let a = TopicFilter("a/#")
    let b = TopicFilter("b/+")

    func online() -> MQTTTopicStateMachine {
        var machine = MQTTTopicStateMachine()
        #expect(machine.connected(sessionPresent: false).isEmpty)
        return machine
    }

    /// Subscribes online, sends and acknowledges with the codes given.
    func granted(_ requests: [MQTTSubscriptionRequest], codes: [MQTTReasonCode], on machine: inout MQTTTopicStateMachine) {
        let decision = machine.subscribe(requests)
        machine.subscribeSent(decision.send)
        machine.subscribeAcknowledged(decision.send, reasonCodes: codes, isResubscription: false)
    }

    @Test("the first user of a filter sends SUBSCRIBE; later users at the same or lower QoS are answered at once")
    func sharedSubscription() {
        var machine = online()
        let first = machine.subscribe([MQTTSubscriptionRequest(a, qos: .atLeastOnce)])
        #expect(first.send == [MQTTSubscriptionRequest(a, qos: .atLeastOnce)])
        machine.subscribeSent(first.send)
        #expect(machine[a]?.status == .subscribing)
        machine.subscribeAcknowledged(first.send, reasonCodes: [.grantedQoS1], isResubscription: false)
        #expect(machine[a]?.status == .granted(.atLeastOnce))

        let second = machine.subscribe([MQTTSubscriptionRequest(a, qos: .atMostOnce)])
        #expect(second.send.isEmpty)
        #expect(second.alreadyGranted == [a: .grantedQoS1])
        #expect(machine[a]?.references == 2)
        #expect(machine[a]?.request.qos == .atLeastOnce)
    }

    @Test("a higher QoS than granted re-sends the filter at that QoS")
    func qosUpgrade() {
        var machine = online()
        granted([MQTTSubscriptionRequest(a, qos: .atMostOnce)], codes: [.success], on: &machine)
        #expect(machine[a]?.status == .granted(.atMostOnce))
        let upgrade = machine.subscribe([MQTTSubscriptionRequest(a, qos: .atLeastOnce)])
        #expect(upgrade.send == [MQTTSubscriptionRequest(a, qos: .atLeastOnce)])
        #expect(upgrade.alreadyGranted.isEmpty)
    }

    @Test("a second user while the SUBSCRIBE is in flight sends it again rather than wait for an answer it cannot see")
    func inFlight() {
        var machine = online()
        let first = machine.subscribe([MQTTSubscriptionRequest(a)])
        machine.subscribeSent(first.send)
        let second = machine.subscribe([MQTTSubscriptionRequest(a)])
        #expect(second.send == [MQTTSubscriptionRequest(a)])
        #expect(machine[a]?.references == 2)
    }

    @Test("UNSUBSCRIBE only when the last user leaves; an unknown filter is sent as asked")
    func referenceCounting() {
        var machine = online()
        granted([MQTTSubscriptionRequest(a)], codes: [.grantedQoS1], on: &machine)
        granted([MQTTSubscriptionRequest(a)], codes: [.grantedQoS1], on: &machine)
        #expect(machine.unsubscribe([a]).isEmpty)
        #expect(machine[a]?.references == 1)
        #expect(machine.unsubscribe([a]) == [a])
        #expect(machine[a] == nil)
        #expect(machine.filters.isEmpty)
        #expect(machine.unsubscribe([b]) == [b])
    }

    @Test("offline subscriptions wait for the connection and are sent in first-subscribe order")
    func offline() {
        var machine = MQTTTopicStateMachine()
        #expect(machine.subscribe([MQTTSubscriptionRequest(b, qos: .atMostOnce)]).send.isEmpty)
        #expect(machine.subscribe([MQTTSubscriptionRequest(a)]).send.isEmpty)
        #expect(machine[a]?.status == .unsent)
        #expect(machine.connected(sessionPresent: true) == [MQTTSubscriptionRequest(b, qos: .atMostOnce), MQTTSubscriptionRequest(a)])
    }

    @Test("after a reconnect: with a session only what was not granted is re-sent; without one, everything",
          arguments: [true, false])
    func reconnect(sessionPresent: Bool) {
        var machine = online()
        granted([MQTTSubscriptionRequest(a)], codes: [.grantedQoS1], on: &machine)
        let inFlight = machine.subscribe([MQTTSubscriptionRequest(b)])
        machine.subscribeSent(inFlight.send)
        machine.disconnected()
        #expect(machine[b]?.status == .unsent)
        #expect(machine[a]?.status == .granted(.atLeastOnce))
        #expect(machine.subscribe([MQTTSubscriptionRequest(a)]).alreadyGranted == [a: .grantedQoS1], "no SUBSCRIBE while offline")
        let resend = machine.connected(sessionPresent: sessionPresent)
        #expect(resend == (sessionPresent ? [MQTTSubscriptionRequest(b)] : [MQTTSubscriptionRequest(a), MQTTSubscriptionRequest(b)]))
        #expect(machine[a]?.status == (sessionPresent ? .granted(.atLeastOnce) : .unsent))
    }

    @Test("a refused subscribe gives back only the caller's reference")
    func refused() {
        var machine = online()
        granted([MQTTSubscriptionRequest(a, qos: .atMostOnce)], codes: [.success], on: &machine)
        let upgrade = machine.subscribe([MQTTSubscriptionRequest(a, qos: .atLeastOnce), MQTTSubscriptionRequest(b)])
        machine.subscribeSent(upgrade.send)
        let dropped = machine.subscribeAcknowledged(upgrade.send, reasonCodes: [.notAuthorized, .notAuthorized], isResubscription: false)
        #expect(dropped == [b])
        #expect(machine[b] == nil)
        #expect(machine[a]?.references == 1)
        #expect(machine[a]?.status == .unsent)
    }

    @Test("a refused resubscription drops the filter with all its users")
    func refusedResubscription() {
        var machine = MQTTTopicStateMachine()
        _ = machine.subscribe([MQTTSubscriptionRequest(a)])
        _ = machine.subscribe([MQTTSubscriptionRequest(a)])
        let resend = machine.connected(sessionPresent: false)
        machine.subscribeSent(resend)
        #expect(machine.subscribeAcknowledged(resend, reasonCodes: [.notAuthorized], isResubscription: true) == [a])
        #expect(machine[a] == nil)
    }

    @Test("a SUBACK with missing codes refuses the rest; one for a filter nobody holds any more is ignored")
    func shortAndLateAcknowledgements() {
        var machine = online()
        let decision = machine.subscribe([MQTTSubscriptionRequest(a), MQTTSubscriptionRequest(b)])
        machine.subscribeSent(decision.send)
        #expect(machine.unsubscribe([a]) == [a])
        #expect(machine.subscribeAcknowledged(decision.send, reasonCodes: [.grantedQoS1], isResubscription: false) == [b])
        #expect(machine[a] == nil)
        #expect(machine.filters.isEmpty)
    }

    @Test("a MQTT 3.1.1 SUBACK granting less than asked records the granted QoS")
    func downgradedGrant() {
        var machine = online()
        granted([MQTTSubscriptionRequest(a, qos: .exactlyOnce)], codes: [.grantedQoS1], on: &machine)
        #expect(machine[a]?.status == .granted(.atLeastOnce))
        #expect(machine.subscribe([MQTTSubscriptionRequest(a, qos: .exactlyOnce)]).send.count == 1)
    }
}
