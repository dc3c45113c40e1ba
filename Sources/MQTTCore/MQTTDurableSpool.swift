import NIOCore

// The rules of a spool whose messages outlive the process (Greengrass's `storageType: Disk`), as pure values: what
// to admit, what a stored message looks like on its way back out, and the counters that are logged. The store
// itself (a file, a table) is an I/O shell that follows these rules.

/// A message as the durable spool keeps it: the request exactly as asked, plus its place in the spool and when it
/// was spooled (wall-clock milliseconds since the Unix epoch, so the age survives a restart).
public struct MQTTSpooledMessage: Hashable, Sendable {
    /// Position in the spool: strictly increasing in publish order.
    public var sequence: Int64
    public var message: MQTTOutboundMessage
    public var spooledAtMilliseconds: Int64

    public init(sequence: Int64, message: MQTTOutboundMessage, spooledAtMilliseconds: Int64) {
        self.sequence = sequence
        self.message = message
        self.spooledAtMilliseconds = spooledAtMilliseconds
    }

    /// The message to send at `nowMilliseconds`, or nil when its MQTT 5 message expiry interval has passed while
    /// it waited. A message sent late carries the interval it has left, not the one it was published with (the
    /// Java nucleus forwards the original), rounding the wait up so a message never lives longer than asked.
    /// A clock that went backwards counts as no wait.
    public func outgoing(atMilliseconds nowMilliseconds: Int64) -> MQTTOutboundMessage? {
        // The stored time is read from a file: a wait that overflows is an absurd one, long past any expiry.
        let (waited, overflow) = nowMilliseconds.subtractingReportingOverflow(spooledAtMilliseconds)
        guard let properties = message.properties.afterWaiting(milliseconds: overflow ? .max : waited) else { return nil }
        var outgoing = message
        outgoing.properties = properties
        return outgoing
    }
}

extension MQTTProperties {
    /// These properties on a message sent `waited` milliseconds after its expiry interval was set: nil when the
    /// interval has passed; otherwise with the interval it has left, the wait rounded up to whole seconds so a
    /// message never lives longer than asked. Unchanged without an expiry interval; a negative wait (a clock that
    /// went backwards) counts as none.
    public func afterWaiting(milliseconds waited: Int64) -> MQTTProperties? {
        guard let interval = messageExpiryInterval else { return self }
        let waitedSeconds = waited <= 0 ? 0 : waited / 1000 + (waited % 1000 == 0 ? 0 : 1)
        guard waitedSeconds < Int64(interval) else { return nil }
        return withExpiryInterval(UInt32(Int64(interval) - waitedSeconds))
    }

    /// These properties with `seconds` as their message expiry interval.
    public func withExpiryInterval(_ seconds: UInt32) -> MQTTProperties {
        var properties = self
        properties.messageExpiryInterval = seconds
        return properties
    }

    /// The properties a PUBLISH carries, in their MQTT 5 wire form (length prefix included): how the durable spool
    /// stores them, so every property survives exactly.
    public func encodedForStorage() -> [UInt8] {
        var buffer = ByteBuffer()
        write(to: &buffer)
        return Array(buffer.readableBytesView)
    }

    /// Reads properties stored by ``encodedForStorage()``. The bytes come from a file and are checked as a PUBLISH's
    /// would be (known, allowed, in range, no trailing bytes); `source` names them in the error.
    public static func decodedFromStorage(_ bytes: [UInt8], source: String) throws(MQTTProtocolError) -> MQTTProperties {
        var buffer = ByteBuffer(bytes: bytes)
        let properties = try read(from: &buffer, context: .publish, packet: source)
        guard buffer.readableBytes == 0 else {
            throw MQTTProtocolError(.trailingBytes, "\(source) has \(buffer.readableBytes) bytes after its properties")
        }
        return properties
    }
}

/// Why a durable spool dropped or refused a message: each has its own counter in ``MQTTDurableSpoolLedger``.
public enum MQTTDurableSpoolDrop: String, Hashable, Sendable, CaseIterable {
    /// Refused: the spool was full ("Message spool is full. Message could not be added.").
    case spoolFull
    /// Refused: larger than the whole spool.
    case largerThanSpool
    /// Refused: the store could not make it durable (disk full, I/O error); never acknowledged.
    case storageFailed
    /// Dropped before sending: its message expiry interval passed while it was spooled.
    case expired
    /// Dropped before sending: its stored row could not be read back (a damaged file); skipped, never a stall.
    case unreadable
    /// Dropped after sending: the broker refused it with a failure reason code (retrying cannot help).
    case rejectedByBroker
}

/// The durable spool's admission and accounting as a pure value.
///
/// Only QoS 1 messages are stored (they can never be evicted, as in ``MQTTSpool``), so the rule is: a message is
/// admitted if the bytes stored, plus the bytes admitted and not yet stored, plus its own stay within the capacity.
/// Admission reserves its bytes at once, so a message the caller was told "accepted" is never refused later, and
/// ``committed(_:)`` or ``failedToStore(charge:)`` settles the reservation.
public struct MQTTDurableSpoolLedger: Hashable, Sendable {
    public let capacity: Int
    /// Messages and bytes (``MQTTOutboundMessage/spoolCharge``) durable in the store.
    public private(set) var storedCount = 0
    public private(set) var storedBytes = 0
    /// Bytes admitted but not yet durable.
    public private(set) var reservedBytes = 0
    /// When the oldest stored message was spooled (nil when empty or not known yet).
    public private(set) var oldestSpooledAtMilliseconds: Int64?
    public private(set) var drops: [MQTTDurableSpoolDrop: Int] = [:]

    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// What the store held when it was opened.
    public mutating func opened(count: Int, bytes: Int, oldestSpooledAtMilliseconds oldest: Int64?) {
        storedCount = count
        storedBytes = bytes
        oldestSpooledAtMilliseconds = count == 0 ? nil : oldest
    }

    /// Admits (reserving room for) a message of `charge` bytes; nil when admitted, else why not (and counted).
    public mutating func admit(charge: Int) -> MQTTDropReason? {
        guard charge <= capacity else {
            drops[.largerThanSpool, default: 0] += 1
            return .largerThanSpool
        }
        guard storedBytes + reservedBytes + charge <= capacity else {
            drops[.spoolFull, default: 0] += 1
            return .spoolFull
        }
        reservedBytes += charge
        return nil
    }

    /// Admitted messages became durable: their reservation turns into stored bytes.
    public mutating func committed(_ messages: [(charge: Int, spooledAtMilliseconds: Int64)]) {
        for message in messages {
            reservedBytes = max(0, reservedBytes - message.charge)
            storedBytes += message.charge
            storedCount += 1
            if oldestSpooledAtMilliseconds == nil { oldestSpooledAtMilliseconds = message.spooledAtMilliseconds }
        }
    }

    /// An admitted message could not be stored: its reservation is released and the failure counted.
    public mutating func failedToStore(charge: Int) {
        reservedBytes = max(0, reservedBytes - charge)
        drops[.storageFailed, default: 0] += 1
    }

    /// Stored messages left the spool: sent and acknowledged, or dropped for `drop`. `oldestRemaining` is when the
    /// oldest message still stored was spooled, as the store reports it after the removal.
    public mutating func removed(count: Int, bytes: Int, drop: MQTTDurableSpoolDrop? = nil, oldestRemaining: Int64?) {
        storedCount = max(0, storedCount - count)
        storedBytes = max(0, storedBytes - bytes)
        if let drop { drops[drop, default: 0] += count }
        oldestSpooledAtMilliseconds = storedCount == 0 ? nil : oldestRemaining
    }

    /// One line for the log at each connect and disconnect: messages, bytes, oldest age, drops by reason.
    public func summary(atMilliseconds nowMilliseconds: Int64) -> [String: String] {
        var fields = [
            "spooledMessages": "\(storedCount)", "spooledBytes": "\(storedBytes)", "capacityBytes": "\(capacity)",
            "oldestAgeSeconds": oldestSpooledAtMilliseconds.map { "\(max(0, nowMilliseconds - $0) / 1000)" } ?? "none",
        ]
        for drop in MQTTDurableSpoolDrop.allCases { fields["dropped.\(drop.rawValue)"] = "\(drops[drop, default: 0])" }
        return fields
    }
}

/// How much of the durable spool may be on its way to the broker at once: read from the store and handed to the
/// MQTT session, not yet acknowledged. Bounded in count and bytes so draining a large spool never loads it into
/// memory and never fills the session's own in-memory spool.
public struct MQTTSpoolSendWindow: Hashable, Sendable {
    public let maximumCount: Int
    public let maximumBytes: Int
    public private(set) var count = 0
    public private(set) var bytes = 0

    public init(maximumCount: Int, maximumBytes: Int) {
        self.maximumCount = max(1, maximumCount)
        self.maximumBytes = max(1, maximumBytes)
    }

    /// Whether a message of `charge` bytes may go now. An empty window always takes one message, so a message
    /// larger than the byte bound still goes (alone).
    public func hasRoom(charge: Int) -> Bool {
        count == 0 || (count < maximumCount && bytes + charge <= maximumBytes)
    }

    public mutating func sent(charge: Int) {
        count += 1
        bytes += charge
    }

    public mutating func finished(charge: Int) {
        count = max(0, count - 1)
        bytes = max(0, bytes - charge)
    }
}

/// The order in which the durable spool offers its send window to its two streams, each kept in publish order:
/// 0, the backlog (what was spooled before the spool opened or before a reconnect), and 1, messages published since.
/// They take turns: the stream that just sent goes last, so while both have messages each gets every other place
/// in the window, and fresh messages never wait for the whole backlog; a stream with nothing to send leaves its
/// turns to the other.
public struct MQTTSpoolStreamTurn: Hashable, Sendable {
    public static let backlog = 0
    public static let fresh = 1
    /// The stream asked first for the next place.
    public private(set) var first = MQTTSpoolStreamTurn.backlog

    public init() {}

    /// The streams in the order they are asked.
    public var order: [Int] { [first, 1 - first] }

    /// `stream` took a place: the other one is asked first next time.
    public mutating func took(_ stream: Int) {
        first = stream == Self.backlog ? Self.fresh : Self.backlog
    }
}
