import MQTTCore
import NIOCore
import Testing

@Suite("Durable spool rules: expiry on the way out, stored properties, admission, send window")
struct MQTTDurableSpoolTests {
    func spooled(expiry: UInt32?, at spooledAt: Int64 = 1_000_000) -> MQTTSpooledMessage {
        var properties = MQTTProperties()
        properties.messageExpiryInterval = expiry
        return MQTTSpooledMessage(
            sequence: 1, message: MQTTOutboundMessage(topic: "t", payload: ByteBuffer(string: "p"), qos: .atLeastOnce, properties: properties),
            spooledAtMilliseconds: spooledAt)
    }

    @Test("a message without an expiry interval goes out unchanged however long it waited")
    func noExpiry() {
        let message = spooled(expiry: nil)
        #expect(message.outgoing(atMilliseconds: 1_000_000 + 86_400_000) == message.message)
    }

    @Test("a message sent late carries the interval it has left, the wait rounded up")
    func remainingInterval() {
        let message = spooled(expiry: 10)
        #expect(message.outgoing(atMilliseconds: 1_000_000)?.properties.messageExpiryInterval == 10)
        #expect(message.outgoing(atMilliseconds: 1_003_000)?.properties.messageExpiryInterval == 7)
        #expect(message.outgoing(atMilliseconds: 1_003_001)?.properties.messageExpiryInterval == 6)
        #expect(message.outgoing(atMilliseconds: 1_009_000)?.properties.messageExpiryInterval == 1)
    }

    @Test("a message whose interval passed while spooled is not sent")
    func expired() {
        let message = spooled(expiry: 10)
        #expect(message.outgoing(atMilliseconds: 1_009_001) == nil)
        #expect(message.outgoing(atMilliseconds: 1_010_000) == nil)
        #expect(message.outgoing(atMilliseconds: 9_000_000) == nil)
    }

    @Test("a clock that went backwards counts as no wait")
    func clockWentBackwards() {
        #expect(spooled(expiry: 10).outgoing(atMilliseconds: 0)?.properties.messageExpiryInterval == 10)
    }

    @Test("every PUBLISH property survives storage exactly")
    func propertiesRoundTrip() throws {
        var properties = MQTTProperties()
        properties.userProperties = [MQTTUserProperty("k", "v"), MQTTUserProperty("k", "w")]
        properties.messageExpiryInterval = 3600
        properties.correlationData = [0, 1, 255]
        properties.responseTopic = "reply/here"
        properties.payloadFormatIndicator = 1
        properties.contentType = "application/json"
        let stored = properties.encodedForStorage()
        #expect(try MQTTProperties.decodedFromStorage(stored, source: "row 1") == properties)
        #expect(try MQTTProperties.decodedFromStorage(MQTTProperties().encodedForStorage(), source: "row 2") == MQTTProperties())
    }

    @Test("damaged stored properties are an error naming their source, never a crash")
    func damagedProperties() {
        let stored = MQTTProperties(contentType: "text/plain").encodedForStorage()
        for bytes in [[], Array(stored.dropLast()), stored + [0], [0x05, 0x7F, 0, 0, 0, 0], [0x02, 0x11, 0]] {
            let error = #expect(throws: MQTTProtocolError.self) { try MQTTProperties.decodedFromStorage(bytes, source: "spooler.db row 7") }
            #expect(error?.message.contains("spooler.db row 7") == true)
        }
    }

    @Test("admission reserves room; a full spool refuses with Greengrass's wording and counts it")
    func admission() {
        var ledger = MQTTDurableSpoolLedger(capacity: 100)
        #expect(ledger.admit(charge: 60) == nil)
        #expect(ledger.admit(charge: 41) == .spoolFull)
        #expect(ledger.admit(charge: 40) == nil)
        #expect(ledger.reservedBytes == 100)
        #expect(ledger.admit(charge: 101) == .largerThanSpool)
        #expect(ledger.drops == [.spoolFull: 1, .largerThanSpool: 1])
        #expect(MQTTDropReason.spoolFull.description == "Message spool is full. Message could not be added.")
    }

    @Test("stored bytes count against the capacity until removed; failures release the reservation")
    func accounting() {
        var ledger = MQTTDurableSpoolLedger(capacity: 100)
        ledger.opened(count: 2, bytes: 50, oldestSpooledAtMilliseconds: 5)
        #expect(ledger.admit(charge: 51) == .spoolFull)
        #expect(ledger.admit(charge: 30) == nil)
        #expect(ledger.admit(charge: 20) == nil)
        ledger.committed([(charge: 30, spooledAtMilliseconds: 9)])
        ledger.failedToStore(charge: 20)
        #expect(ledger.storedCount == 3 && ledger.storedBytes == 80 && ledger.reservedBytes == 0)
        #expect(ledger.oldestSpooledAtMilliseconds == 5)
        ledger.removed(count: 1, bytes: 25, drop: .expired, oldestRemaining: 7)
        #expect(ledger.storedCount == 2 && ledger.storedBytes == 55 && ledger.oldestSpooledAtMilliseconds == 7)
        ledger.removed(count: 2, bytes: 55, oldestRemaining: nil)
        #expect(ledger.storedCount == 0 && ledger.oldestSpooledAtMilliseconds == nil)
        #expect(ledger.drops == [.spoolFull: 1, .storageFailed: 1, .expired: 1])
        let summary = ledger.summary(atMilliseconds: 10_000)
        #expect(summary["spooledMessages"] == "0" && summary["oldestAgeSeconds"] == "none" && summary["dropped.expired"] == "1")
    }

    @Test("the summary gives the oldest message's age in seconds")
    func summaryAge() {
        var ledger = MQTTDurableSpoolLedger(capacity: 100)
        ledger.opened(count: 1, bytes: 10, oldestSpooledAtMilliseconds: 1_000)
        #expect(ledger.summary(atMilliseconds: 61_999)["oldestAgeSeconds"] == "60")
        #expect(ledger.summary(atMilliseconds: 61_999)["spooledBytes"] == "10")
    }

    @Test("the backlog and fresh streams take turns; one with nothing to send leaves its turns to the other")
    func streamTurns() {
        var turn = MQTTSpoolStreamTurn()
        #expect(turn.order == [MQTTSpoolStreamTurn.backlog, MQTTSpoolStreamTurn.fresh])
        turn.took(MQTTSpoolStreamTurn.backlog)
        #expect(turn.order == [MQTTSpoolStreamTurn.fresh, MQTTSpoolStreamTurn.backlog])
        turn.took(MQTTSpoolStreamTurn.fresh)
        #expect(turn.order.first == MQTTSpoolStreamTurn.backlog)
        // The fresh stream had nothing, so the backlog took the place it was offered second: fresh stays first.
        turn.took(MQTTSpoolStreamTurn.backlog)
        turn.took(MQTTSpoolStreamTurn.backlog)
        #expect(turn.order.first == MQTTSpoolStreamTurn.fresh)
    }

    @Test("the send window bounds count and bytes, but an empty window takes even an oversized message")
    func sendWindow() {
        var window = MQTTSpoolSendWindow(maximumCount: 2, maximumBytes: 100)
        #expect(window.hasRoom(charge: 500))
        window.sent(charge: 60)
        #expect(!window.hasRoom(charge: 41))
        #expect(window.hasRoom(charge: 40))
        window.sent(charge: 10)
        #expect(!window.hasRoom(charge: 1))
        window.finished(charge: 60)
        #expect(window.hasRoom(charge: 90) && !window.hasRoom(charge: 91))
    }
}

extension MQTTProperties {
    init(contentType: String) {
        self.init()
        self.contentType = contentType
    }
}
