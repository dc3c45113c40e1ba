import NIOCore

extension MQTTOutboundMessage {
    /// Fixed cost charged per spooled message on top of its bytes, so that a flood of tiny (even empty) messages
    /// fills the spool instead of growing memory without bound: roughly the bookkeeping of one entry.
    public static let spoolEntryOverhead = 64

    /// What this message costs against the spool's byte limit: payload, topic and MQTT 5 properties, plus
    /// ``spoolEntryOverhead``. Greengrass counts the payload only; counting the rest keeps memory bounded by
    /// the limit whatever the messages look like.
    public var spoolCharge: Int {
        payload.readableBytes + topic.utf8.count + (properties.isEmpty ? 0 : properties.encodedLength()) + Self.spoolEntryOverhead
    }
}

/// The offline spool as a pure value: messages in publish order, bounded by a byte limit only, with
/// Greengrass's eviction rule (reference §7).
///
/// - QoS 0 messages are *evictable*: when a new message does not fit, the oldest QoS 0 messages are evicted
///   to make room.
/// - QoS 1/2 messages are never evicted: once accepted they stay until they are taken for sending. When the
///   spool is full of them, the new message is refused (the caller can retry later).
/// - Eviction happens only when it actually makes room; a message that would be refused anyway evicts nothing.
///
/// QoS 0 and QoS 1/2 messages live in two FIFO queues with a shared sequence number, so evicting the oldest
/// QoS 0 message is O(1) and ``popFirst()`` still yields publish order.
public struct MQTTSpool<Element: Sendable>: Sendable {
    /// The answer to ``append(_:charge:evictable:)``.
    public enum Admission: Sendable {
        /// Stored; `evicted` are the QoS 0 elements removed (oldest first) to make room.
        case accepted(evicted: [Element])
        /// Not stored: `.largerThanSpool` or `.spoolFull`.
        case refused(MQTTDropReason)
    }

    private struct Entry: Sendable {
        var sequence: UInt64
        var charge: Int
        var element: Element
    }

    /// Most bytes (sum of charges) the spool holds.
    public let capacity: Int
    private var evictable = RingQueue<Entry>()
    private var retained = RingQueue<Entry>()
    private var nextSequence: UInt64 = 0
    /// Sum of the charges of all stored elements.
    public private(set) var chargedBytes = 0
    /// Sum of the charges of the elements that can never be evicted.
    public private(set) var retainedBytes = 0

    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    public var count: Int { evictable.count + retained.count }
    public var isEmpty: Bool { count == 0 }

    /// Whether a message of `charge` bytes that can never be evicted would be accepted now.
    public func hasRoomForRetained(charge: Int) -> Bool {
        charge <= capacity && retainedBytes + charge <= capacity
    }

    /// Stores `element` unless the rule above refuses it.
    public mutating func append(_ element: Element, charge: Int, evictable isEvictable: Bool) -> Admission {
        guard charge <= capacity else { return .refused(.largerThanSpool) }
        // Only never-evictable bytes can stand in the way: everything evictable can be made room from.
        guard retainedBytes + charge <= capacity else { return .refused(.spoolFull) }
        var evicted: [Element] = []
        while chargedBytes + charge > capacity, let oldest = evictable.popFirst() {
            chargedBytes -= oldest.charge
            evicted.append(oldest.element)
        }
        let entry = Entry(sequence: nextSequence, charge: charge, element: element)
        nextSequence += 1
        chargedBytes += charge
        if isEvictable {
            evictable.append(entry)
        } else {
            retained.append(entry)
            retainedBytes += charge
        }
        return .accepted(evicted: evicted)
    }

    /// The oldest element, in publish order.
    public var first: Element? { nextQueueIsEvictable.map { $0 ? evictable.first!.element : retained.first!.element } }

    /// Removes and returns the oldest element, in publish order.
    public mutating func popFirst() -> Element? {
        guard let fromEvictable = nextQueueIsEvictable else { return nil }
        if fromEvictable {
            let entry = evictable.popFirst()!
            chargedBytes -= entry.charge
            return entry.element
        }
        let entry = retained.popFirst()!
        chargedBytes -= entry.charge
        retainedBytes -= entry.charge
        return entry.element
    }

    /// Removes every evictable element (QoS 0 purged on disconnect), returning them oldest first.
    public mutating func removeAllEvictable() -> [Element] {
        var removed: [Element] = []
        while let entry = evictable.popFirst() {
            chargedBytes -= entry.charge
            removed.append(entry.element)
        }
        return removed
    }

    /// nil when empty; otherwise whether the oldest element is in the evictable queue.
    private var nextQueueIsEvictable: Bool? {
        switch (evictable.first, retained.first) {
        case (nil, nil): nil
        case (.some, nil): true
        case (nil, .some): false
        case (let a?, let b?): a.sequence < b.sequence
        }
    }
}

/// Admission to the spool for callers that must answer before the session sees the message (the client's
/// synchronous `enqueue`, answered on the caller's thread while the session lives on the event loop).
///
/// A QoS 1/2 message is admitted only if it will certainly fit when the session gets it: the never-evictable
/// bytes the session holds, plus every message admitted but not yet handed over, plus this one, stay within the
/// capacity. So an admitted message, which the caller has already acknowledged, is never refused later.
public struct MQTTSpoolLedger: Hashable, Sendable {
    public let capacity: Int
    /// Charges of admitted messages not yet handed to the session.
    public private(set) var pendingBytes = 0
    /// The session's never-evictable spooled bytes, as last reported.
    public private(set) var sessionRetainedBytes = 0
    /// Messages refused because the spool was full, and because they were larger than the spool.
    public private(set) var refusedSpoolFull = 0
    public private(set) var refusedLargerThanSpool = 0

    public init(capacity: Int) {
        self.capacity = max(1, capacity)
    }

    /// Admits (and reserves room for) a message that can never be evicted; nil when admitted, else why not.
    public mutating func admit(charge: Int) -> MQTTDropReason? {
        guard charge <= capacity else {
            refusedLargerThanSpool += 1
            return .largerThanSpool
        }
        guard sessionRetainedBytes + pendingBytes + charge <= capacity else {
            refusedSpoolFull += 1
            return .spoolFull
        }
        pendingBytes += charge
        return nil
    }

    /// Admitted messages of `charge` bytes in total were handed to the session, which now holds
    /// `retainedBytes` never-evictable bytes. Report both together, after the session took the messages, so the
    /// ledger never undercounts.
    public mutating func handedOver(charge: Int, sessionRetainedBytes retainedBytes: Int) {
        pendingBytes = max(0, pendingBytes - charge)
        sessionRetainedBytes = retainedBytes
    }
}
