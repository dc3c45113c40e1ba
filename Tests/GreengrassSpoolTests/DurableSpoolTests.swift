import Dispatch
import GreengrassSpool
import GreengrassTestSupport
import Logging
import MQTTClient
import MQTTCore
import NIOCore
import NIOPosix
import SQLite
import Synchronization
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Records what the spool sends and acknowledges each at once (or fails it as told).
final class RecordingSender: SpoolSender {
    let sent = Mutex<[MQTTOutboundMessage]>([])
    let failure: (@Sendable (MQTTOutboundMessage) -> (any Error)?)

    init(failure: @escaping @Sendable (MQTTOutboundMessage) -> (any Error)? = { _ in nil }) {
        self.failure = failure
    }

    func send(_ message: MQTTOutboundMessage) -> EventLoopFuture<Void> {
        sent.withLock { $0.append(message) }
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        if let error = failure(message) { return loop.makeFailedFuture(error) }
        return loop.makeSucceededFuture(())
    }
}

final class Counter: Sendable {
    let count = Mutex(0)
}

final class CommitLog: Sendable {
    let sizes = Mutex<[Int]>([])
}

/// Counts commits, so group commit is observable; `durability` decides when they count as durable.
final class CountingStore: MessageSpoolStore {
    let inner = InMemoryMessageSpoolStore()
    let commits: CommitLog
    let durability: any MessageSpoolDurability
    init(commits: CommitLog, durability: any MessageSpoolDurability = CommitsAreDurable()) {
        self.commits = commits
        self.durability = durability
    }
    func open() throws -> MessageSpoolStoreSummary { inner.open() }
    func commit(appending: [MessageToSpool], removing: [Int64]) throws -> (sequences: [Int64], oldestRemaining: Int64?) {
        if !appending.isEmpty { commits.sizes.withLock { $0.append(appending.count) } }
        return inner.commit(appending: appending, removing: removing)
    }
    func messages(after sequence: Int64, limit: Int) throws -> [MQTTSpooledMessage] { inner.messages(after: sequence, limit: limit) }
    func firstSequence(after sequence: Int64) throws -> Int64? { inner.firstSequence(after: sequence) }
}

/// The threads that ran each commit of appends and each sync, in order.
final class ThreadLog: Sendable {
    let threads = Mutex<(commits: [pthread_t], syncs: [pthread_t])>(([], []))
}

/// A store in memory whose commits and syncs note the thread they ran on.
final class ThreadRecordingStore: MessageSpoolStore {
    let inner = InMemoryMessageSpoolStore()
    let threads: ThreadLog
    let durability: any MessageSpoolDurability
    init(threads: ThreadLog) {
        self.threads = threads
        durability = ThreadRecordingDurability(threads: threads)
    }
    func open() throws -> MessageSpoolStoreSummary { inner.open() }
    func commit(appending: [MessageToSpool], removing: [Int64]) throws -> (sequences: [Int64], oldestRemaining: Int64?) {
        if !appending.isEmpty { threads.threads.withLock { $0.commits.append(pthread_self()) } }
        return inner.commit(appending: appending, removing: removing)
    }
    func messages(after sequence: Int64, limit: Int) throws -> [MQTTSpooledMessage] { inner.messages(after: sequence, limit: limit) }
    func firstSequence(after sequence: Int64) throws -> Int64? { inner.firstSequence(after: sequence) }
}

final class ThreadRecordingDurability: MessageSpoolDurability {
    let threads: ThreadLog
    init(threads: ThreadLog) { self.threads = threads }
    func sync() { threads.threads.withLock { $0.syncs.append(pthread_self()) } }
    var isMaintenanceDue: Bool { false }
}

/// Holds every send until the test releases it: the broker's acknowledgements under the test's control.
final class GatedSender: SpoolSender {
    let sent = Mutex<[MQTTOutboundMessage]>([])
    let held = Mutex<[EventLoopPromise<Void>]>([])

    func send(_ message: MQTTOutboundMessage) -> EventLoopFuture<Void> {
        let promise = MultiThreadedEventLoopGroup.singleton.next().makePromise(of: Void.self)
        sent.withLock { $0.append(message) }
        held.withLock { $0.append(promise) }
        return promise.futureResult
    }

    var topics: [String] { sent.withLock { $0.map(\.topic) } }

    /// Acknowledges everything sent so far.
    func release() {
        let promises = held.withLock { held in
            defer { held.removeAll() }
            return held
        }
        for promise in promises { promise.succeed() }
    }

    /// Acknowledges sends as they come until `count` were sent.
    func releaseUntil(sent count: Int) async throws -> Bool {
        await eventually(timeout: .seconds(30)) {
            release()
            return sent.withLock { $0.count } >= count
        }
    }
}

/// A sync that blocks until the test opens the gate, counting the syncs begun: shows when appends are answered.
final class GatedDurability: MessageSpoolDurability {
    let isOpen = Mutex(false)
    let begun = Mutex(0)

    func sync() {
        begun.withLock { $0 += 1 }
        while !isOpen.withLock({ $0 }) { usleep(1_000) }
    }

    var isMaintenanceDue: Bool { false }
}

/// A value shared with callbacks on other threads.
final class Box<Value: Sendable>: Sendable {
    let value: Mutex<Value>
    init(_ value: Value) { self.value = Mutex(value) }
    func withLock<T: Sendable>(_ body: (inout Value) -> T) -> T { value.withLock { body(&$0) } }
}

/// Holds commits of appends until the test opens it, noting each one's size.
final class CommitGate: Sendable {
    let isOpen = Mutex(false)
    let waiting = Mutex(false)
    let commits = Mutex<[Int]>([])
}

/// A store in memory whose commits of appends wait for the gate.
final class GatedCommitStore: MessageSpoolStore {
    let inner = InMemoryMessageSpoolStore()
    let gate: CommitGate
    init(gate: CommitGate) { self.gate = gate }
    func open() throws -> MessageSpoolStoreSummary { inner.open() }
    func commit(appending: [MessageToSpool], removing: [Int64]) throws -> (sequences: [Int64], oldestRemaining: Int64?) {
        if !appending.isEmpty {
            gate.waiting.withLock { $0 = true }
            while !gate.isOpen.withLock({ $0 }) { usleep(1_000) }
            gate.commits.withLock { $0.append(appending.count) }
        }
        return inner.commit(appending: appending, removing: removing)
    }
    func messages(after sequence: Int64, limit: Int) throws -> [MQTTSpooledMessage] { inner.messages(after: sequence, limit: limit) }
    func firstSequence(after sequence: Int64) throws -> Int64? { inner.firstSequence(after: sequence) }
}

/// An event loop that counts the tasks handed to it from outside with `execute`: the hops to it.
final class CountingLoop: EventLoop {
    let inner: any EventLoop
    let executes = Mutex(0)
    init(_ inner: any EventLoop) { self.inner = inner }
    var inEventLoop: Bool { inner.inEventLoop }
    func execute(_ task: @escaping @Sendable () -> Void) {
        executes.withLock { $0 += 1 }
        inner.execute(task)
    }
    func scheduleTask<T>(deadline: NIODeadline, _ task: @escaping @Sendable () throws -> T) -> Scheduled<T> {
        inner.scheduleTask(deadline: deadline, task)
    }
    func scheduleTask<T>(in delay: TimeAmount, _ task: @escaping @Sendable () throws -> T) -> Scheduled<T> {
        inner.scheduleTask(in: delay, task)
    }
    func shutdownGracefully(queue: DispatchQueue, _ callback: @escaping @Sendable ((any Error)?) -> Void) {
        callback(nil)
    }
}

@Suite("DurableSpool: durable before acknowledged, sent in order from disk, survives restarts")
struct DurableSpoolTests {
    let directory: TemporaryDirectory
    let logger = Logger(label: "spool-test")
    init() throws { directory = try TemporaryDirectory() }

    var path: String { directory.file("work/aws.greengrass.DiskSpooler/spooler.db") }

    func rows(_ path: String) throws -> [MQTTSpooledMessage] {
        let store = SQLiteMessageSpoolStore(path: path)
        _ = try store.open()
        return try store.messages(after: 0, limit: 1_000_000)
    }

    /// Spools `numbers` while the broker is down (nothing is sent) and stops the spool: they are left in the file.
    func spoolOffline(_ numbers: ClosedRange<Int>) async throws {
        let spool = DurableSpool(configuration: .init(path: path, capacityBytes: 1 << 20), sender: NeverSender(), logger: logger)
        let running = Task { try await spool.run() }
        for number in numbers { try await spool.append(numbered(number)) }
        running.cancel()
        try await running.value
    }

    @Test("an append returns only once the message is in the file; offline messages stay there")
    func durableBeforeAcknowledged() async throws {
        // A sender that never completes: the broker is down.
        let spool = DurableSpool(configuration: .init(path: path, capacityBytes: 1 << 20), sender: NeverSender(), logger: logger)
        let running = Task { try await spool.run() }
        for number in 1...20 { try await spool.append(numbered(number)) }
        #expect(try rows(path).map(\.message) == (1...20).map { numbered($0) })
        running.cancel()
        try await running.value
        #expect(try rows(path).count == 20)
    }

    @Test("messages are sent in order, acknowledged ones leave the file, and a restart sends the rest")
    func sendsAndRemoves() async throws {
        try await spoolOffline(1...300)
        let sender = RecordingSender()
        var configuration = DurableSpool.Configuration(path: path, capacityBytes: 1 << 20)
        configuration.pageSize = 7
        configuration.windowCount = 3
        let spool = DurableSpool(configuration: configuration, sender: sender, logger: logger)
        spool.connected()
        let running = Task { try await spool.run() }
        #expect(spool.ledger.storedCount <= 300)
        try await spool.append(numbered(301))
        #expect(await eventually { sender.sent.withLock { $0.count } == 301 && spool.ledger.storedCount == 0 })
        // The 300 spooled before the start are the backlog, in order; 301, published since, shares the window.
        let sent = sender.sent.withLock { $0 }
        #expect(sent.filter { $0.topic != "spool/301" } == (1...300).map { numbered($0) })
        #expect(sent.filter { $0.topic == "spool/301" } == [numbered(301)])
        running.cancel()
        try await running.value
        #expect(try rows(path).isEmpty)
    }

    @Test("a message whose expiry passed while spooled is dropped and counted; a late one carries what is left")
    func expiry() async throws {
        let clock = Mutex<Int64>(1_000_000)
        let now: @Sendable () -> Int64 = { clock.withLock { $0 } }
        do {
            let offline = DurableSpool(configuration: .init(path: path, capacityBytes: 1 << 20), sender: NeverSender(), logger: logger, now: now)
            let running = Task { try await offline.run() }
            try await offline.append(numbered(1, expiry: 5))
            try await offline.append(numbered(2, expiry: 60))
            try await offline.append(numbered(3))
            running.cancel()
            try await running.value
        }
        clock.withLock { $0 += 10_000 }
        let sender = RecordingSender()
        let spool = DurableSpool(configuration: .init(path: path, capacityBytes: 1 << 20), sender: sender, logger: logger, now: now)
        spool.connected()
        let running = Task { try await spool.run() }
        #expect(await eventually(every: .milliseconds(5)) { sender.sent.withLock { $0.count } == 2 && spool.ledger.storedCount == 0 })
        #expect(sender.sent.withLock { $0.map(\.topic) } == ["spool/2", "spool/3"])
        #expect(sender.sent.withLock { $0[0].properties.messageExpiryInterval } == 50)
        #expect(spool.ledger.drops[.expired] == 1)
        running.cancel()
        try await running.value
        #expect(try rows(path).isEmpty)
    }

    @Test("a message the client dropped as expired (it waited in its in-flight window for a reconnect) leaves the spool counted as expired")
    func expiredInTheClient() async throws {
        let sender = RecordingSender { message in
            message.topic == "spool/1" ? MQTTClientError(.publishDropped, MQTTDropReason.expired.description) : nil
        }
        let spool = DurableSpool(configuration: .init(path: path, capacityBytes: 1 << 20), sender: sender, logger: logger)
        spool.connected()
        let running = Task { try await spool.run() }
        try await spool.append(numbered(1, expiry: 5))
        try await spool.append(numbered(2))
        #expect(await eventually { sender.sent.withLock { $0.count } == 2 && spool.ledger.storedCount == 0 })
        #expect(spool.ledger.drops[.expired] == 1)
        #expect(spool.ledger.drops[.rejectedByBroker, default: 0] == 0)
        running.cancel()
        try await running.value
        #expect(try rows(path).isEmpty)
    }

    @Test("nothing is handed to the sender while its connection is down, so expiry is judged when a message goes out")
    func holdsMessagesWhileDisconnected() async throws {
        let clock = Mutex<Int64>(1_000_000)
        let sender = RecordingSender()
        let spool = DurableSpool(
            configuration: .init(path: path, capacityBytes: 1 << 20), sender: sender, logger: logger, now: { clock.withLock { $0 } })
        let running = Task { try await spool.run() }
        try await spool.append(numbered(1, expiry: 5))
        try await spool.append(numbered(2))
        try await Task.sleep(for: .milliseconds(100))
        #expect(sender.sent.withLock { $0.isEmpty }, "handed over while disconnected")
        clock.withLock { $0 += 10_000 }
        spool.connected()
        #expect(await eventually { sender.sent.withLock { $0.count } == 1 && spool.ledger.storedCount == 0 })
        #expect(sender.sent.withLock { $0.map(\.topic) } == ["spool/2"])
        #expect(spool.ledger.drops[.expired] == 1)
        spool.disconnected()
        try await spool.append(numbered(3))
        try await Task.sleep(for: .milliseconds(100))
        #expect(sender.sent.withLock { $0.map(\.topic) } == ["spool/2"], "handed over after the connection went down")
        running.cancel()
        try await running.value
    }

    @Test("a damaged row is dropped, logged and counted; the messages around it are still sent, in order")
    func damagedRowIsSkipped() async throws {
        try await spoolOffline(1...5)
        try SQLiteConnection(path: path, create: false).execute("UPDATE spooler SET properties = X'0501' WHERE message_id = 3")
        let sender = RecordingSender()
        let spool = DurableSpool(configuration: .init(path: path, capacityBytes: 1 << 20), sender: sender, logger: logger)
        spool.connected()
        let running = Task { try await spool.run() }
        #expect(await eventually(every: .milliseconds(5)) { sender.sent.withLock { $0.count } == 4 && spool.ledger.storedCount == 0 })
        #expect(sender.sent.withLock { $0.map(\.topic) } == ["spool/1", "spool/2", "spool/4", "spool/5"])
        #expect(spool.ledger.drops[.unreadable] == 1)
        running.cancel()
        try await running.value
    }

    @Test("appends arriving together share one commit (one fsync for the group)")
    func groupCommit() async throws {
        let commits = CommitLog()
        let spool = DurableSpool(
            configuration: .init(path: path, capacityBytes: 1 << 24), store: CountingStore(commits: commits), sender: NeverSender(), logger: logger)
        let running = Task { try await spool.run() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for number in 1...500 { group.addTask { try await spool.append(numbered(number)) } }
            try await group.waitForAll()
        }
        let counts = commits.sizes.withLock { $0 }
        #expect(counts.reduce(0, +) == 500)
        #expect(counts.count < 500)
        #expect(counts.contains { $0 > 1 })
        running.cancel()
        try await running.value
    }

    @Test("an append is answered only after a sync begun after its commit; the next group commits and syncs meanwhile")
    func overlappingCommits() async throws {
        let gate = GatedDurability(), commits = CommitLog()
        let spool = DurableSpool(
            configuration: .init(path: path, capacityBytes: 1 << 24), store: CountingStore(commits: commits, durability: gate), sender: NeverSender(),
            logger: logger)
        let running = Task { try await spool.run() }
        let answered = Counter()
        let first = Task {
            try await spool.append(numbered(1))
            answered.count.withLock { $0 += 1 }
        }
        #expect(await eventually { commits.sizes.withLock { $0.count } == 1 && gate.begun.withLock { $0 } == 1 })
        let second = Task {
            try await spool.append(numbered(2))
            answered.count.withLock { $0 += 1 }
        }
        // The writer is not held by the first group's sync: the second group is written and its own sync begins.
        #expect(await eventually { commits.sizes.withLock { $0.count } == 2 && gate.begun.withLock { $0 } == 2 })
        try await Task.sleep(for: .milliseconds(50))
        #expect(answered.count.withLock { $0 } == 0, "answered before any sync returned")
        gate.isOpen.withLock { $0 = true }
        try await first.value
        try await second.value
        #expect(spool.ledger.storedCount == 2)
        running.cancel()
        try await running.value
    }

    @Test("a group is fsynced by the thread that committed it: no hand-off between its write and its sync")
    func commitAndSyncOnOneThread() async throws {
        let threads = ThreadLog()
        let spool = DurableSpool(
            configuration: .init(path: path, capacityBytes: 1 << 24), store: ThreadRecordingStore(threads: threads), sender: NeverSender(),
            logger: logger)
        let running = Task { try await spool.run() }
        // One at a time: each append is its own group, committed and synced before the next arrives.
        for number in 1...5 { try await spool.append(numbered(number)) }
        let (commits, syncs) = threads.threads.withLock { ($0.commits, $0.syncs) }
        #expect(commits.count == 5 && syncs.count == 5)
        #expect(commits == syncs)
        running.cancel()
        try await running.value
    }

    @Test("a fresh publish does not wait for the whole backlog: the two share the send window, each in its own order")
    func freshPublishesShareTheWindowWithTheBacklog() async throws {
        let backlog = 2_000
        do {
            _ = mkdir(directory.file("work"), 0o700)
            _ = mkdir(directory.file("work/aws.greengrass.DiskSpooler"), 0o700)
            let store = SQLiteMessageSpoolStore(path: path)
            _ = try store.open()
            _ = try store.commit(appending: (1...backlog).map { MessageToSpool(message: numbered($0), spooledAtMilliseconds: 1) }, removing: [])
        }
        let sender = GatedSender()
        var configuration = DurableSpool.Configuration(path: path, capacityBytes: 1 << 24)
        configuration.windowCount = 10
        let spool = DurableSpool(configuration: configuration, sender: sender, logger: logger)
        spool.connected()
        let running = Task { try await spool.run() }
        #expect(await eventually { sender.sent.withLock { $0.count } == 10 })
        try await spool.append(numbered(9_999))
        #expect(try await sender.releaseUntil(sent: backlog + 1))
        let topics = sender.topics
        let freshAt = try #require(topics.firstIndex(of: "spool/9999"))
        print("fresh publish sent as message \(freshAt + 1) of \(topics.count)")
        #expect(freshAt <= 20, "the fresh message waited behind the backlog: sent as \(freshAt + 1) of \(topics.count)")
        #expect(topics.filter { $0 != "spool/9999" } == (1...backlog).map { "spool/\($0)" }, "the backlog stays in order")
        // The last sends may have come after releaseUntil's last release.
        #expect(await eventually {
            sender.release()
            return spool.ledger.storedCount == 0
        })
        running.cancel()
        try await running.value
    }

    @Test("at a reconnect what piled up becomes the backlog, and publishes from then on share the window with it")
    func reconnectStartsANewBacklog() async throws {
        let sender = GatedSender()
        var configuration = DurableSpool.Configuration(path: path, capacityBytes: 1 << 24)
        configuration.windowCount = 10
        let spool = DurableSpool(configuration: configuration, sender: sender, logger: logger)
        spool.connected()
        let running = Task { try await spool.run() }
        let piledUp = 500
        try await withThrowingTaskGroup(of: Void.self) { group in
            for number in 1...piledUp { group.addTask { try await spool.append(numbered(number)) } }
            try await group.waitForAll()
        }
        #expect(await eventually { sender.sent.withLock { $0.count } == 10 })
        spool.disconnected()
        spool.connected()
        try await spool.append(numbered(9_999))
        #expect(try await sender.releaseUntil(sent: piledUp + 1))
        let topics = sender.topics
        let freshAt = try #require(topics.firstIndex(of: "spool/9999"))
        #expect(freshAt <= 30, "sent as \(freshAt + 1) of \(topics.count)")
        let piled = topics.filter { $0 != "spool/9999" }
        #expect(piled.count == piledUp && Set(piled).count == piledUp)
        running.cancel()
        try await running.value
    }

    @Test("answers to appends made from an event loop come on that loop, a whole group in one execute, in append order, after the sync")
    func answersOnTheCallersLoop() async throws {
        let gate = CommitGate(), loop = CountingLoop(MultiThreadedEventLoopGroup.singleton.next())
        let spool = DurableSpool(
            configuration: .init(path: path, capacityBytes: 1 << 24), store: GatedCommitStore(gate: gate), sender: NeverSender(), logger: logger)
        let running = Task { try await spool.run() }
        let answers = Box<[(number: Int, onLoop: Bool, result: Result<Void, DurableSpoolError>)]>([])
        func append(_ number: Int) throws {
            try spool.append(numbered(number), answeringOn: loop) { result in
                answers.withLock { $0.append((number, loop.inEventLoop, result)) }
            }
        }
        try append(1)
        // The first group's commit holds the writer: the next 20 wait together for the following group.
        #expect(await eventually { gate.waiting.withLock { $0 } })
        for number in 2...21 { try append(number) }
        try await Task.sleep(for: .milliseconds(20))
        #expect(answers.withLock { $0.isEmpty }, "answered before its commit")
        gate.isOpen.withLock { $0 = true }
        #expect(await eventually { answers.withLock { $0.count } == 21 })
        let answered = answers.withLock { $0 }
        #expect(answered.map(\.number) == Array(1...21))
        #expect(answered.allSatisfy { $0.onLoop })
        #expect(answered.allSatisfy { if case .success = $0.result { true } else { false } })
        // Two groups (or one sync answering both): at most one hop each, not one per message.
        #expect(gate.commits.withLock { $0 } == [1, 20])
        #expect((1...2).contains(loop.executes.withLock { $0 }))
        running.cancel()
        try await running.value
    }

    @Test("appends answered on a loop: a full spool is refused at once in Greengrass's words; a failed write is answered on the loop")
    func answersOnTheCallersLoopRefusals() async throws {
        let loop = CountingLoop(MultiThreadedEventLoopGroup.singleton.next())
        let charge = numbered(1).spoolCharge
        let full = DurableSpool(configuration: .init(path: path, capacityBytes: charge + charge / 2), sender: NeverSender(), logger: logger)
        let running = Task { try await full.run() }
        try await full.append(numbered(1))
        let refusal = #expect(throws: DurableSpoolError.self) {
            try full.append(numbered(2), answeringOn: loop) { _ in Issue.record("a refused append was answered") }
        }
        #expect(refusal?.message == "Message spool is full. Message could not be added.")
        running.cancel()
        try await running.value

        let failing = DurableSpool(
            configuration: .init(path: path + "-failing", capacityBytes: 1 << 20), store: FailingStore(), sender: NeverSender(), logger: logger)
        let failingRun = Task { try await failing.run() }
        let answer = Box<(onLoop: Bool, result: Result<Void, DurableSpoolError>)?>(nil)
        try failing.append(numbered(1), answeringOn: loop) { result in answer.withLock { $0 = (loop.inEventLoop, result) } }
        #expect(await eventually { answer.withLock { $0 != nil } })
        let (onLoop, result) = try #require(answer.withLock { $0 })
        #expect(onLoop)
        guard case .failure(let error) = result else {
            Issue.record("a failed write was acknowledged")
            return
        }
        #expect(error.message == "Message could not be written to the spool: \(FailingStore.error)")
        #expect(failing.ledger.drops[.storageFailed] == 1 && failing.ledger.storedCount == 0)
        failingRun.cancel()
        try await failingRun.value
    }

    @Test("a full spool refuses with Greengrass's wording; nothing accepted is lost")
    func full() async throws {
        let charge = numbered(1).spoolCharge
        let spool = DurableSpool(configuration: .init(path: path, capacityBytes: charge * 3 + charge / 2), sender: NeverSender(), logger: logger)
        let running = Task { try await spool.run() }
        for number in 1...3 { try await spool.append(numbered(number)) }
        let error = await #expect(throws: DurableSpoolError.self) { try await spool.append(numbered(4)) }
        #expect(error?.message == "Message spool is full. Message could not be added.")
        #expect(spool.ledger.drops[.spoolFull] == 1)
        #expect(try rows(path).count == 3)
        running.cancel()
        try await running.value
    }

    @Test("an unreadable spool file is moved aside with a log line naming it, and the spool starts empty")
    func corruptFileSetAside() async throws {
        _ = mkdir(directory.file("work"), 0o700)
        _ = mkdir(directory.file("work/aws.greengrass.DiskSpooler"), 0o700)
        try writeFile(path, Array(String(repeating: "garbage! ", count: 1000).utf8))
        let spool = DurableSpool(configuration: .init(path: path, capacityBytes: 1 << 20), sender: NeverSender(), logger: logger)
        let running = Task { try await spool.run() }
        try await spool.append(numbered(1))
        #expect(try rows(path).map(\.message) == [numbered(1)])
        let aside = try directoryEntries(directory.file("work/aws.greengrass.DiskSpooler")).filter { $0.hasPrefix("spooler.db.corrupt-") }
        #expect(aside.count == 1)
        running.cancel()
        try await running.value
    }

    @Test("a message refused after a failed sync is never sent (nothing goes out before its sync) and leaves the file, counted; the next group is sent")
    func refusedAfterFailedSync() async throws {
        let sender = RecordingSender()
        let spool = DurableSpool(
            configuration: .init(path: path, capacityBytes: 1 << 20), store: FailingSyncStore(path: path, failures: 1), sender: sender, logger: logger)
        spool.connected()
        let running = Task { try await spool.run() }
        let error = await #expect(throws: DurableSpoolError.self) { try await spool.append(numbered(1)) }
        #expect(error?.message.contains("could not be written") == true)
        try await spool.append(numbered(2))
        #expect(await eventually { sender.sent.withLock { $0.count } >= 1 && spool.ledger.storedCount == 0 })
        try await Task.sleep(for: .milliseconds(100))
        #expect(sender.sent.withLock { $0.map(\.topic) } == ["spool/2"])
        #expect(spool.ledger.drops[.storageFailed] == 1)
        running.cancel()
        try await running.value
        #expect(try rows(path).isEmpty)
    }

    @Test("refused rows are never sent, over many rounds with no pause in the sync (the deletion races the send loop's read)")
    func refusedRowsRaceDeletion() async throws {
        for round in 0..<40 {
            let path = directory.file("round-\(round).db")
            let sender = RecordingSender()
            let spool = DurableSpool(
                configuration: .init(path: path, capacityBytes: 1 << 20), store: FailingSyncStore(path: path, failures: 1, pauseMicroseconds: 0, racingDeletion: true),
                sender: sender, logger: logger)
            spool.connected()
            let running = Task { try await spool.run() }
            await #expect(throws: DurableSpoolError.self) { try await spool.append(numbered(1)) }
            try await spool.append(numbered(2))
            #expect(await eventually { sender.sent.withLock { $0.count } >= 1 && spool.ledger.storedCount == 0 })
            #expect(sender.sent.withLock { $0.map(\.topic) } == ["spool/2"], "round \(round)")
            running.cancel()
            try await running.value
        }
    }

    @Test("a store that cannot write refuses the append with a clear error and counts it")
    func storageFailure() async throws {
        let spool = DurableSpool(
            configuration: .init(path: path, capacityBytes: 1 << 20), store: FailingStore(), sender: NeverSender(), logger: logger)
        let running = Task { try await spool.run() }
        let error = await #expect(throws: DurableSpoolError.self) { try await spool.append(numbered(1)) }
        #expect(error?.message.contains("database or disk is full") == true)
        #expect(spool.ledger.drops[.storageFailed] == 1 && spool.ledger.storedCount == 0 && spool.ledger.reservedBytes == 0)
        running.cancel()
        try await running.value
    }
}

struct NeverSender: SpoolSender {
    func send(_ message: MQTTOutboundMessage) -> EventLoopFuture<Void> {
        MultiThreadedEventLoopGroup.singleton.next().makePromise(of: Void.self).futureResult
    }
}

final class FailingStore: MessageSpoolStore {
    static let error = SQLiteError(path: "spooler.db", code: 13, message: "database or disk is full", sql: "INSERT")
    func open() throws -> MessageSpoolStoreSummary { MessageSpoolStoreSummary(count: 0, bytes: 0, oldestSpooledAtMilliseconds: nil) }
    func commit(appending: [MessageToSpool], removing: [Int64]) throws -> (sequences: [Int64], oldestRemaining: Int64?) {
        throw Self.error
    }
    func messages(after sequence: Int64, limit: Int) throws -> [MQTTSpooledMessage] { [] }
    func firstSequence(after sequence: Int64) throws -> Int64? { nil }
}

func directoryEntries(_ path: String) throws -> [String] {
    guard let handle = opendir(path) else { throw WriteFailure() }
    defer { closedir(handle) }
    var names: [String] = []
    while let entry = readdir(handle) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        if name != "." && name != ".." { names.append(name) }
    }
    return names
}

struct SyncFailure: Error, CustomStringConvertible {
    var description: String { "fdatasync failed: Input/output error" }
}

/// The SQLite store whose syncs fail the first `failures` times, each after a pause (long enough for a spool that
/// sent rows before their sync to have sent them): rows committed but never known durable.
///
/// With `racingDeletion`, the refused rows' deletion is made to race the send loop instead: after a failed sync
/// the worker waits a moment (so the woken send loop starts reading while the refused row is still there), and a
/// read that found rows holds the store a moment (so the deletion, queued behind it, lands right after the read).
final class FailingSyncStore: MessageSpoolStore {
    let inner: SQLiteMessageSpoolStore
    let durability: any MessageSpoolDurability
    let readPauseMicroseconds: UInt32
    init(path: String, failures: Int, pauseMicroseconds: UInt32 = 50_000, racingDeletion: Bool = false) {
        inner = SQLiteMessageSpoolStore(path: path)
        durability = FailingSyncs(failures: failures, pauseMicroseconds: pauseMicroseconds, pauseAfterFailureMicroseconds: racingDeletion ? 1_000 : 0)
        readPauseMicroseconds = racingDeletion ? 2_000 : 0
    }
    func open() throws -> MessageSpoolStoreSummary { try inner.open() }
    func commit(appending: [MessageToSpool], removing: [Int64]) throws -> (sequences: [Int64], oldestRemaining: Int64?) {
        try inner.commit(appending: appending, removing: removing)
    }
    func messages(after sequence: Int64, limit: Int) throws -> [MQTTSpooledMessage] {
        let page = try inner.messages(after: sequence, limit: limit)
        if !page.isEmpty, readPauseMicroseconds > 0 { usleep(readPauseMicroseconds) }
        return page
    }
    func firstSequence(after sequence: Int64) throws -> Int64? { try inner.firstSequence(after: sequence) }
}

final class FailingSyncs: MessageSpoolDurability {
    let remainingFailures: Mutex<Int>
    let failedLast = Mutex(false)
    let pauseMicroseconds: UInt32
    let pauseAfterFailureMicroseconds: UInt32
    init(failures: Int, pauseMicroseconds: UInt32, pauseAfterFailureMicroseconds: UInt32 = 0) {
        remainingFailures = Mutex(failures)
        self.pauseMicroseconds = pauseMicroseconds
        self.pauseAfterFailureMicroseconds = pauseAfterFailureMicroseconds
    }
    func sync() throws {
        usleep(pauseMicroseconds)
        let fails = remainingFailures.withLock { remaining in
            defer { remaining = max(0, remaining - 1) }
            return remaining > 0
        }
        failedLast.withLock { $0 = fails }
        if fails { throw SyncFailure() }
    }
    /// Asked by the worker right after a sync's answer, before it commits the refused rows' deletion.
    var isMaintenanceDue: Bool {
        if failedLast.withLock({ $0 }), pauseAfterFailureMicroseconds > 0 { usleep(pauseAfterFailureMicroseconds) }
        return false
    }
}
