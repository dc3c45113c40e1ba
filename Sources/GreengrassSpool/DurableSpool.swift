@preconcurrency import Glibc
import Logging
import MQTTClient
import MQTTCore
import NIOCore
import NIOPosix
import ServiceLifecycle
import Synchronization

/// Why ``DurableSpool/append(_:)`` did not accept a message. `message` is what the component is told.
public struct DurableSpoolError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Where the messages go once durable: the upstream MQTT client, or a test double.
public protocol SpoolSender: Sendable {
    /// Sends `message` (in call order) and completes when the broker acknowledged it, or fails with why not.
    func send(_ message: MQTTOutboundMessage) -> EventLoopFuture<Void>
}

extension MQTTClient: SpoolSender {}

/// The disk spool (`storageType: Disk`): QoS 1 messages are acknowledged to the component only once durable, and sent
/// from the store, in order, whenever the broker is reachable — across crashes and power cuts.
///
/// - All store I/O runs on one dedicated writer thread (never the event loops or Swift's cooperative pool).
///   Appends that arrive while a commit runs wait for the next one, which takes them all: one fsync per group,
///   not per message.
/// - Start-up never waits for the spool: the store is opened on the writer thread when ``run()`` starts, reading a
///   header row only; appends made before it is open join the first commit.
/// - Sending reads the store in pages behind a bounded window (count and bytes), so memory does not grow with the
///   backlog; acknowledged messages are deleted in the next group commit. A message acknowledged before a crash but
///   not yet deleted is sent again after it (MQTT's at-least-once); one never acknowledged is never lost.
public final class DurableSpool: Service, Sendable {
    public struct Configuration: Sendable {
        public var path: String
        public var capacityBytes: Int
        /// Most messages read from the store at once.
        public var pageSize = 64
        /// Most messages (and bytes) handed to the sender and not yet acknowledged.
        public var windowCount = 100
        public var windowBytes: Int

        public init(path: String, capacityBytes: Int) {
            self.path = path
            self.capacityBytes = max(1, capacityBytes)
            // Half the MQTT client's own (same-sized) in-memory spool at most, so the window always fits in it.
            // 256 KiB keeps a loopback broker busy while keeping a full spool's memory close to an empty one's.
            self.windowBytes = max(1, min(256 << 10, capacityBytes / 2))
        }
    }

    private struct Pending: ~Copyable {
        var appends: [(entry: MessageToSpool, continuation: CheckedContinuation<Void, any Error>)] = []
        var removals: [(sequence: Int64, charge: Int, drop: MQTTDurableSpoolDrop?)] = []
        var commitScheduled = false
        var isOpen = false
        var ledger: MQTTDurableSpoolLedger
        var window: MQTTSpoolSendWindow
        /// Messages the sender could not take for now (its own spool full): sent again before newer ones.
        var retry: [MQTTSpooledMessage] = []
    }

    public let configuration: Configuration
    private let sender: any SpoolSender
    private let logger: Logger
    private let now: @Sendable () -> Int64
    private let thread: NIOThreadPool
    private let state: Mutex<Pending>
    /// The store, touched only on the writer thread; the Mutex is never contended.
    private let store: Mutex<any MessageSpoolStore>
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    /// - Parameter now: wall-clock milliseconds since the Unix epoch (ages and expiry survive restarts).
    public init(
        configuration: Configuration, store: sending (any MessageSpoolStore)? = nil, sender: any SpoolSender, logger: Logger,
        now: @escaping @Sendable () -> Int64 = DurableSpool.wallClockMilliseconds
    ) {
        self.configuration = configuration
        self.sender = sender
        self.logger = logger
        self.now = now
        self.thread = NIOThreadPool(numberOfThreads: 1)
        self.state = Mutex(
            Pending(
                ledger: MQTTDurableSpoolLedger(capacity: configuration.capacityBytes),
                window: MQTTSpoolSendWindow(maximumCount: configuration.windowCount, maximumBytes: configuration.windowBytes)))
        self.store = Mutex(store ?? SQLiteMessageSpoolStore(path: configuration.path))
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    public static let wallClockMilliseconds: @Sendable () -> Int64 = {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
    }

    /// The spool's counters, for logs and tests.
    public var ledger: MQTTDurableSpoolLedger { state.withLock { $0.ledger } }

    /// Logs the spool's state (messages, bytes, oldest age, drops by reason): called at each connect and disconnect.
    public func logState(_ event: String) {
        let summary = ledger.summary(atMilliseconds: now())
        var metadata: Logger.Metadata = ["eventType": "mqtt-spool-state", "event": "\(event)", "storageType": "Disk"]
        for (key, value) in summary { metadata[key] = "\(value)" }
        logger.info("Message spool state", metadata: metadata)
    }

    // MARK: Appending

    /// Makes a QoS 1 message durable; returns once it is on disk (the component may then be told it was accepted).
    /// - Throws: ``DurableSpoolError`` — a full spool ("Message spool is full. Message could not be added."), a message
    ///   larger than the spool, or a store that could not write (disk full).
    public func append(_ message: MQTTOutboundMessage) async throws(DurableSpoolError) {
        let charge = message.spoolCharge
        if let refusal = state.withLock({ $0.ledger.admit(charge: charge) }) { throw DurableSpoolError(message: refusal.description) }
        let entry = MessageToSpool(message: message, spooledAtMilliseconds: now())
        do {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let schedule = state.withLock { state in
                    state.appends.append((entry, continuation))
                    return scheduleCommitLocked(&state)
                }
                if schedule { scheduleCommit() }
            }
        } catch let error as DurableSpoolError {
            throw error
        } catch {
            throw DurableSpoolError(message: "Message could not be written to the spool: \(error)")
        }
    }

    /// Whether the caller must schedule a commit (none pending, and the store is open).
    private func scheduleCommitLocked(_ state: inout Pending) -> Bool {
        guard state.isOpen, !state.commitScheduled else { return false }
        state.commitScheduled = true
        return true
    }

    private func scheduleCommit() {
        thread.submit { [self] workState in
            guard workState == .active else { return }
            commitPending()
        }
    }

    /// On the writer thread: commits everything pending as one group, answers the appenders, repeats while more came.
    private func commitPending() {
        while true {
            let (appends, removals) = state.withLock { state in
                let taken = (state.appends, state.removals)
                state.appends.removeAll(keepingCapacity: true)
                state.removals.removeAll(keepingCapacity: true)
                if taken.0.isEmpty && taken.1.isEmpty { state.commitScheduled = false }
                return taken
            }
            if appends.isEmpty && removals.isEmpty { return }
            let result = Result { try store.withLock { try $0.commit(appending: appends.map(\.entry), removing: removals.map(\.sequence)) } }
            switch result {
            case .success(let committed):
                state.withLock { state in
                    state.ledger.committed(appends.map { (charge: $0.entry.message.spoolCharge, spooledAtMilliseconds: $0.entry.spooledAtMilliseconds) })
                    for drop in Set(removals.map(\.drop)) {
                        let group = removals.filter { $0.drop == drop }
                        state.ledger.removed(count: group.count, bytes: group.reduce(0) { $0 + $1.charge }, drop: drop, oldestRemaining: committed.oldestRemaining)
                    }
                }
                for append in appends { append.continuation.resume() }
                if !appends.isEmpty { wake.yield() }
            case .failure(let error):
                // Nothing of this group is durable: refuse its appends (never acknowledged, so nothing is lost);
                // the removals are retried with the next group (until then those messages may be sent again).
                state.withLock { state in
                    for append in appends { state.ledger.failedToStore(charge: append.entry.message.spoolCharge) }
                    state.removals.append(contentsOf: removals)
                }
                logger.error("Message spool write failed", metadata: ["eventType": "mqtt-spool-write-failed", "path": "\(configuration.path)", "reason": "\(error)"])
                let refusal = DurableSpoolError(message: "Message could not be written to the spool: \(error)")
                for append in appends { append.continuation.resume(throwing: refusal) }
                if appends.isEmpty {
                    // Only removals failed: try again later rather than spin on a failing disk.
                    state.withLock { $0.commitScheduled = false }
                    return
                }
            }
        }
    }

    // MARK: Opening

    /// On the writer thread: opens the store, setting a damaged file aside (with a log line naming it) and starting
    /// empty rather than failing: a corrupt spool must never become a crash loop.
    private func openStore() {
        let path = configuration.path
        let summary: MessageSpoolStoreSummary?
        do {
            summary = try store.withLock { try $0.open() }
        } catch {
            let aside = "\(path).corrupt-\(now())"
            logger.error(
                "Message spool file is unreadable; moved aside, starting with an empty spool",
                metadata: ["eventType": "mqtt-spool-corrupt", "path": "\(path)", "movedTo": "\(aside)", "reason": "\(error)"])
            for suffix in ["", "-wal", "-shm"] { _ = rename(path + suffix, aside + suffix) }
            summary = try? store.withLock { try $0.open() }
            if summary == nil { logger.error("Message spool could not be created", metadata: ["path": "\(path)"]) }
        }
        let schedule = state.withLock { state in
            if let summary {
                state.ledger.opened(count: summary.count, bytes: summary.bytes, oldestSpooledAtMilliseconds: summary.oldestSpooledAtMilliseconds)
            }
            state.isOpen = true
            return state.appends.isEmpty ? false : scheduleCommitLocked(&state)
        }
        logState("opened")
        if schedule { commitPending() }
        wake.yield()
    }

    // MARK: Sending

    /// Opens the store and sends its messages until graceful shutdown.
    public func run() async throws {
        thread.start()
        Self.createParentDirectory(of: configuration.path)
        thread.submit { [self] workState in
            guard workState == .active else { return }
            openStore()
        }
        await cancelWhenGracefulShutdown {
            await self.sendLoop()
        }
        // Let the last acknowledged removals reach the disk (work queued at shutdown is cancelled, so run it now),
        // then stop the thread.
        _ = try? await thread.runIfActive { [self] in commitPending() }
        try? await thread.shutdownGracefully()
    }

    private func sendLoop() async {
        var cursor: Int64 = 0
        var page: [MQTTSpooledMessage] = []
        var index = 0
        var iterator = wakeups.makeAsyncIterator()
        while !Task.isCancelled {
            let (isOpen, retried) = state.withLock { state in (state.isOpen, state.retry.isEmpty ? nil : state.retry.removeFirst()) }
            guard isOpen else {
                guard await iterator.next() != nil else { return }
                continue
            }
            let next: MQTTSpooledMessage
            if let retried {
                next = retried
            } else {
                if index == page.count {
                    page = await readPageSkippingDamage(after: &cursor)
                    index = 0
                    if page.isEmpty {
                        guard await iterator.next() != nil else { return }
                        continue
                    }
                }
                next = page[index]
            }
            let charge = next.message.spoolCharge
            let hasRoom = state.withLock { $0.window.hasRoom(charge: charge) }
            guard hasRoom else {
                if let retried { state.withLock { $0.retry.insert(retried, at: 0) } }
                guard await iterator.next() != nil else { return }
                continue
            }
            if retried == nil {
                index += 1
                cursor = next.sequence
            }
            guard let outgoing = next.outgoing(atMilliseconds: now()) else {
                remove(next.sequence, charge: charge, drop: .expired)
                continue
            }
            state.withLock { $0.window.sent(charge: charge) }
            sender.send(outgoing).whenComplete { [self] result in
                finished(next, charge: charge, result: result)
            }
        }
    }

    /// The next page; a row that cannot be read (a damaged file) is logged, dropped and counted, never a stall.
    private func readPageSkippingDamage(after cursor: inout Int64) async -> [MQTTSpooledMessage] {
        while true {
            do {
                return try await readPage(after: cursor)
            } catch {
                let from = cursor
                guard let damaged = try? await thread.runIfActive({ [self] in try store.withLock { try $0.firstSequence(after: from) } }) else {
                    return []
                }
                // The page failed: read its first row alone. If that works the damage is further on, reached row by row.
                if let single = try? await thread.runIfActive({ [self] in try store.withLock { try $0.messages(after: from, limit: 1) } }), !single.isEmpty {
                    cursor = single[0].sequence - 1
                    return single
                }
                logger.error(
                    "Spooled message unreadable; dropped",
                    metadata: ["eventType": "mqtt-spool-unreadable", "path": "\(configuration.path)", "messageId": "\(damaged)", "reason": "\(error)"])
                cursor = damaged
                remove(damaged, charge: 0, drop: .unreadable)
            }
        }
    }

    private func readPage(after cursor: Int64) async throws -> [MQTTSpooledMessage] {
        let limit = configuration.pageSize
        return try await thread.runIfActive { [self] in try store.withLock { try $0.messages(after: cursor, limit: limit) } }
    }

    /// A send ended: acknowledged (or refused for good by the broker) messages leave the spool; ones the client
    /// could not take for now are sent again; at shutdown they stay on disk for the next start.
    private func finished(_ spooled: MQTTSpooledMessage, charge: Int, result: Result<Void, any Error>) {
        state.withLock { $0.window.finished(charge: charge) }
        switch result {
        case .success:
            remove(spooled.sequence, charge: charge, drop: nil)
        case .failure(let error as MQTTClientError) where error.code == .publishRejected:
            logger.warning("Spooled message rejected by the broker", metadata: ["topic": "\(spooled.message.topic)", "reason": "\(error)"])
            remove(spooled.sequence, charge: charge, drop: .rejectedByBroker)
        case .failure(let error as MQTTClientError) where error.code == .shutdown:
            break
        case .failure(let error as MQTTClientError) where error.code == .publishDropped && error.message == MQTTDropReason.spoolFull.description:
            state.withLock { $0.retry.append(spooled) }
        case .failure(let error):
            logger.warning("Spooled message could not be sent", metadata: ["topic": "\(spooled.message.topic)", "reason": "\(error)"])
            remove(spooled.sequence, charge: charge, drop: .rejectedByBroker)
        }
        wake.yield()
    }

    private func remove(_ sequence: Int64, charge: Int, drop: MQTTDurableSpoolDrop?) {
        let schedule = state.withLock { state in
            state.removals.append((sequence, charge, drop))
            return scheduleCommitLocked(&state)
        }
        if schedule { scheduleCommit() }
    }

    private static func createParentDirectory(of path: String) {
        // mkdir -p, best effort: a directory that cannot be made shows up as the store failing to open.
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/").dropLast() {
            prefix += "/" + component
            _ = mkdir(prefix, 0o700)
        }
    }
}
