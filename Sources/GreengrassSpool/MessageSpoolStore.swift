@preconcurrency import Glibc
import MQTTCore
import NIOCore
import SQLite
import Synchronization

/// What a spool store holds, read when it opens: from a header row, never by scanning the messages, so opening
/// costs the same with 100,000 messages as with none.
public struct MessageSpoolStoreSummary: Hashable, Sendable {
    public var count: Int
    public var bytes: Int
    public var oldestSpooledAtMilliseconds: Int64?
    /// The highest sequence number stored (0 when empty): where the backlog found at opening ends.
    public var lastSequence: Int64

    public init(count: Int, bytes: Int, oldestSpooledAtMilliseconds: Int64?, lastSequence: Int64 = 0) {
        self.count = count
        self.bytes = bytes
        self.oldestSpooledAtMilliseconds = oldestSpooledAtMilliseconds
        self.lastSequence = lastSequence
    }
}

/// Makes a store's commits durable. Separate from the store so the flush (an fsync, milliseconds) can run on other
/// threads while the store's own thread already writes the next group: commits overlap their fsyncs.
public protocol MessageSpoolDurability: Sendable {
    /// Returns once every commit that had returned before this call began is durable.
    func sync() throws
    /// Whether the store's housekeeping (``MessageSpoolStore/maintain()``) is due. Read without the store's lock, so
    /// a worker takes that lock only when there is something to do.
    var isMaintenanceDue: Bool { get }
}

/// For stores whose commits are durable when they return (or that keep nothing durable, such as the in-memory one).
public struct CommitsAreDurable: MessageSpoolDurability {
    public init() {}
    public func sync() {}
    public var isMaintenanceDue: Bool { false }
}

/// A message to make durable, as handed to ``MessageSpoolStore/commit(appending:removing:)``.
public struct MessageToSpool: Sendable {
    public var message: MQTTOutboundMessage
    public var spooledAtMilliseconds: Int64

    public init(message: MQTTOutboundMessage, spooledAtMilliseconds: Int64) {
        self.message = message
        self.spooledAtMilliseconds = spooledAtMilliseconds
    }
}

/// The I/O shell under the durable spool: stores messages in order and gives them back in pages. The rules (what to
/// admit, expiry, accounting) are in `MQTTDurableSpoolLedger` and `MQTTSpooledMessage`; a store only keeps bytes.
/// Used from one thread at a time (the spool serializes its reader thread and whichever worker has the commit turn).
public protocol MessageSpoolStore {
    /// Opens the store (creating it when absent) and reports what it holds.
    func open() throws -> MessageSpoolStoreSummary
    /// Appends `appending` and removes the messages numbered `removing` in one atomic step; returns the new
    /// messages' sequence numbers in order, and when the oldest message left was spooled. The step is durable once
    /// a ``MessageSpoolDurability/sync()`` begun after it returned has returned (one fsync for the whole group, or
    /// for several groups).
    func commit(appending: [MessageToSpool], removing: [Int64]) throws -> (sequences: [Int64], oldestRemaining: Int64?)
    /// What makes commits durable; valid once ``open()`` returned, and callable from any thread.
    var durability: any MessageSpoolDurability { get }
    /// Up to `limit` messages numbered above `sequence`, oldest first.
    func messages(after sequence: Int64, limit: Int) throws -> [MQTTSpooledMessage]
    /// The number of the first message above `sequence`, without reading it: to skip a row that cannot be read.
    func firstSequence(after sequence: Int64) throws -> Int64?
    /// Housekeeping kept off the commit path (the SQLite store's WAL checkpoints), run between commits when
    /// ``MessageSpoolDurability/isMaintenanceDue``. It never makes a commit less durable, and a failure only
    /// postpones it.
    func maintain()
}

extension MessageSpoolStore {
    public var durability: any MessageSpoolDurability { CommitsAreDurable() }
    public func maintain() {}
}

/// A store in memory: what `storageType: Memory` would keep, and the reference the SQLite store is tested against.
public final class InMemoryMessageSpoolStore: MessageSpoolStore {
    private var stored: [MQTTSpooledMessage] = []
    private var nextSequence: Int64 = 1

    public init() {}

    public func open() -> MessageSpoolStoreSummary {
        MessageSpoolStoreSummary(
            count: stored.count, bytes: stored.reduce(0) { $0 + $1.message.spoolCharge }, oldestSpooledAtMilliseconds: stored.first?.spooledAtMilliseconds,
            lastSequence: stored.last?.sequence ?? 0)
    }

    public func commit(appending: [MessageToSpool], removing: [Int64]) -> (sequences: [Int64], oldestRemaining: Int64?) {
        let removed = Set(removing)
        stored.removeAll { removed.contains($0.sequence) }
        var sequences: [Int64] = []
        for entry in appending {
            stored.append(MQTTSpooledMessage(sequence: nextSequence, message: entry.message, spooledAtMilliseconds: entry.spooledAtMilliseconds))
            sequences.append(nextSequence)
            nextSequence += 1
        }
        return (sequences, stored.first?.spooledAtMilliseconds)
    }

    public func messages(after sequence: Int64, limit: Int) -> [MQTTSpooledMessage] {
        Array(stored.lazy.filter { $0.sequence > sequence }.prefix(limit))
    }

    public func firstSequence(after sequence: Int64) -> Int64? {
        stored.first { $0.sequence > sequence }?.sequence
    }
}

/// The spool in its own SQLite file (Greengrass's DiskSpooler path, `<root>/work/aws.greengrass.DiskSpooler/spooler.db`),
/// separate from the state store so spooling never contends with deployment commits.
///
/// WAL with `synchronous = NORMAL`: a commit only writes its frames to the WAL; ``durability`` fsyncs the WAL
/// (from another thread, while the next group is written), so a message whose commit was followed by a sync survives
/// a power cut. NORMAL still has SQLite sync the WAL before each checkpoint, the database after it and the WAL header
/// when the WAL is reused, so checkpoints never undo a synced commit; they run between commits, never inside one.
/// A copy of the file and its WAL taken at any instant opens at a committed state.
///
/// The WAL is kept at a stable size, written over in place: an `fdatasync` of a WAL that grew must also commit the
/// file's new size through the file system's journal (on ext4 here 2–4 ms against 0.1–0.4 ms for a pure data flush).
/// So the WAL is filled to its working size when opened (real zeros: reserved-but-unwritten blocks would make the
/// first write to each block a metadata change again), and a checkpoint runs once the WAL holds
/// ``checkpointAfterFrames`` frames (counted by SQLite's WAL hook, whatever wrote them), on the writer's own
/// connection between commits: with no other reader or writer it copies every frame, so the next commit restarts
/// the WAL at its beginning.
/// Counts and bytes live in a one-row header kept by triggers in the same transactions, so opening reads one row.
public final class SQLiteMessageSpoolStore: MessageSpoolStore {
    public let path: String
    private var connection: SQLiteConnection?
    private var walDurability: SQLiteWALDurability?
    /// WAL frames (pages) after which a checkpoint is due: SQLite's own default (1,000 pages of 4 KiB).
    public static let checkpointAfterFrames = 1000

    public var durability: any MessageSpoolDurability { walDurability ?? CommitsAreDurable() }

    public init(path: String) {
        self.path = path
    }

    static let schema = """
        CREATE TABLE IF NOT EXISTS spooler (
            message_id INTEGER PRIMARY KEY AUTOINCREMENT,
            topic TEXT NOT NULL,
            qos INTEGER NOT NULL,
            retain INTEGER NOT NULL,
            payload BLOB NOT NULL,
            properties BLOB NOT NULL,
            spooled_at INTEGER NOT NULL,
            charge INTEGER NOT NULL
        );
        CREATE TABLE IF NOT EXISTS spooler_totals (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            message_count INTEGER NOT NULL,
            byte_count INTEGER NOT NULL
        );
        INSERT OR IGNORE INTO spooler_totals (id, message_count, byte_count) VALUES (1, 0, 0);
        CREATE TRIGGER IF NOT EXISTS spooler_counted_in AFTER INSERT ON spooler BEGIN
            UPDATE spooler_totals SET message_count = message_count + 1, byte_count = byte_count + NEW.charge WHERE id = 1;
        END;
        CREATE TRIGGER IF NOT EXISTS spooler_counted_out AFTER DELETE ON spooler BEGIN
            UPDATE spooler_totals SET message_count = message_count - 1, byte_count = byte_count - OLD.charge WHERE id = 1;
        END;
        """

    public func open() throws -> MessageSpoolStoreSummary {
        let connection = try SQLiteConnection(path: path)
        _ = try connection.queryFirst("PRAGMA journal_mode = WAL") { try $0.text(0) }
        try connection.execute("PRAGMA synchronous = NORMAL")
        // Checkpoints run from `maintain()`, between commits, instead of inside whichever commit crosses SQLite's
        // threshold; the WAL hook that counts frames for it replaces SQLite's automatic checkpoints.
        connection.countWALFrames()
        // Reads stream forward in pages and writes append at the end: a small page cache loses little, and keeps the
        // nucleus's memory the same with a full spool as with an empty one.
        try connection.execute("PRAGMA cache_size = -512")
        try connection.executeScript(Self.schema)
        let totals = try connection.queryFirst("SELECT message_count, byte_count FROM spooler_totals WHERE id = 1") {
            (Int(try $0.int64(0)), Int(try $0.int64(1)))
        }
        let last = try connection.queryFirst("SELECT max(message_id) FROM spooler") { $0.isNull(0) ? 0 : try $0.int64(0) } ?? 0
        let pageSize = Int(try connection.queryFirst("PRAGMA page_size") { try $0.int64(0) } ?? 4096)
        let walBytes = SQLiteWALDurability.walBytes(frames: Self.checkpointAfterFrames + Self.checkpointAfterFrames / 4, pageSize: pageSize)
        // SQLite truncates a WAL it restarts only when it grew past this (a burst of large messages), never below
        // the working size prepared here.
        _ = try connection.queryFirst("PRAGMA journal_size_limit = \(2 * walBytes)") { try $0.int64(0) }
        let durability = try SQLiteWALDurability(databasePath: path, checkpointAfterFrames: Self.checkpointAfterFrames)
        durability.prepare(walBytes: walBytes)
        walDurability = durability
        self.connection = connection
        return MessageSpoolStoreSummary(
            count: totals?.0 ?? 0, bytes: totals?.1 ?? 0, oldestSpooledAtMilliseconds: try oldest(connection), lastSequence: last)
    }

    private func oldest(_ connection: SQLiteConnection) throws -> Int64? {
        try connection.queryFirst("SELECT spooled_at FROM spooler ORDER BY message_id LIMIT 1") { try $0.int64(0) }
    }

    private func opened() throws -> SQLiteConnection {
        guard let connection else { throw SQLiteError(path: path, code: 21, message: "the spool store is not open", sql: nil) }
        return connection
    }

    public func commit(appending: [MessageToSpool], removing: [Int64]) throws -> (sequences: [Int64], oldestRemaining: Int64?) {
        let connection = try opened()
        let result = try connection.transaction {
            if !removing.isEmpty {
                try connection.executeEach("DELETE FROM spooler WHERE message_id = ?", removing.map { [.integer($0)] })
            }
            var sequences: [Int64] = []
            sequences.reserveCapacity(appending.count)
            if !appending.isEmpty {
                let rows: [[SQLiteValue]] = appending.map { entry in
                    let message = entry.message
                    return [
                        .text(message.topic), .integer(Int(message.qos.rawValue)), .integer(message.retain),
                        .blob(Array(message.payload.readableBytesView)), .blob(message.properties.encodedForStorage()),
                        .integer(entry.spooledAtMilliseconds), .integer(message.spoolCharge),
                    ]
                }
                try connection.executeEach(
                    "INSERT INTO spooler (topic, qos, retain, payload, properties, spooled_at, charge) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
                // Rowids of one INSERT statement run repeatedly inside a transaction are consecutive under
                // AUTOINCREMENT with a single writer: the last one tells them all.
                let last = connection.lastInsertRowID
                let first = last - Int64(appending.count) + 1
                sequences = Array(first...last)
            }
            return (sequences, try oldest(connection))
        }
        walDurability?.committed(walFrames: connection.walFrameCount)
        return result
    }

    public func maintain() {
        guard let connection, let walDurability, walDurability.isMaintenanceDue else { return }
        // A failure (disk full, I/O error) leaves the WAL longer until a later try; it never loses a commit.
        walDurability.checkpointed(completely: (try? connection.checkpointWAL()) ?? false, walFrames: connection.walFrameCount)
    }

    public func firstSequence(after sequence: Int64) throws -> Int64? {
        try opened().queryFirst("SELECT message_id FROM spooler WHERE message_id > ? ORDER BY message_id LIMIT 1", [.integer(sequence)]) {
            try $0.int64(0)
        }
    }

    public func messages(after sequence: Int64, limit: Int) throws -> [MQTTSpooledMessage] {
        let connection = try opened()
        return try connection.query(
            "SELECT message_id, topic, qos, retain, payload, properties, spooled_at FROM spooler WHERE message_id > ? ORDER BY message_id LIMIT ?",
            [.integer(sequence), .integer(limit)]
        ) { row in
            let id = try row.int64(0)
            let source = "\(path) message_id \(id)"
            guard let qos = QoS(rawValue: UInt8(clamping: try row.int64(2))), try row.int64(2) <= 2 else {
                throw SQLiteError(path: path, code: 20, message: "\(source) has QoS \(try row.int64(2))", sql: nil)
            }
            let properties = try MQTTProperties.decodedFromStorage(try row.blob(5) ?? [], source: source)
            let message = MQTTOutboundMessage(
                topic: try row.text(1), payload: ByteBuffer(bytes: try row.blob(4) ?? []), qos: qos, retain: try row.int64(3) != 0,
                properties: properties)
            return MQTTSpooledMessage(sequence: id, message: message, spooledAtMilliseconds: try row.int64(6))
        }
    }
}

/// A flush or checkpoint of the spool file failed; `path` names the file.
public struct MessageSpoolSyncError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var operation: String
    public var errorNumber: Int32

    public var description: String { "\(operation) of \(path) failed: \(String(cString: strerror(errorNumber))) (errno \(errorNumber))" }
}

/// Durability for the SQLite spool in WAL mode: `fdatasync` of the WAL file, callable from any thread while the
/// writer connection commits (Linux syncs the file, not the descriptor, so our own descriptor covers SQLite's
/// writes); and when the WAL is long enough for a checkpoint (SQLiteMessageSpoolStore/maintain() runs it).
final class SQLiteWALDurability: MessageSpoolDurability {
    let walPath: String
    let databasePath: String
    private let walDescriptor: Int32
    private let checkpointAfterFrames: Int
    /// Frames in the WAL after the last commit, as SQLite's WAL hook reported them.
    private let walFrames = Atomic<Int>(0)
    /// The WAL length at which the next checkpoint is due: raised after a checkpoint that could not copy everything,
    /// so a failing one is retried as the WAL grows, not after every sync.
    private let checkpointDueAtFrames: Atomic<Int>

    init(databasePath: String, checkpointAfterFrames: Int) throws(MessageSpoolSyncError) {
        self.databasePath = databasePath
        self.checkpointAfterFrames = max(1, checkpointAfterFrames)
        checkpointDueAtFrames = Atomic(max(1, checkpointAfterFrames))
        walPath = databasePath + "-wal"
        // SQLite created the WAL when the schema ran; O_CREAT only covers a file system that lost it meanwhile (an
        // empty WAL is a valid one).
        let descriptor = Glibc.open(walPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw MessageSpoolSyncError(path: walPath, operation: "open", errorNumber: errno) }
        walDescriptor = descriptor
        // The directory entries of a new spool file and its WAL must survive a power cut too (SQLite syncs the
        // directory only at its own first WAL sync, which NORMAL defers to the first checkpoint).
        let directory = String(databasePath[..<(databasePath.lastIndex(of: "/") ?? databasePath.startIndex)])
        let directoryDescriptor = Glibc.open(directory.isEmpty ? "." : directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if directoryDescriptor >= 0 {
            _ = fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
    }

    deinit { close(walDescriptor) }

    /// The size of a WAL holding `frames` pages of `pageSize` bytes: its 32-byte header, then a 24-byte header per frame.
    static func walBytes(frames: Int, pageSize: Int) -> Int { 32 + frames * (24 + pageSize) }

    /// Extends the WAL with zeros to `walBytes` (never touching what it holds: a WAL SQLite left behind keeps its
    /// frames) and syncs it, so commits write over allocated, written blocks. Zeros past the last frame are what a
    /// restarted WAL has there anyway (old frames): they fail the frame checksum, so SQLite never reads them as
    /// frames. Best effort: on failure (disk full) the WAL just grows as SQLite writes it.
    func prepare(walBytes: Int) {
        var status = stat()
        guard fstat(walDescriptor, &status) == 0, Int(status.st_size) < walBytes else { return }
        let zeros = [UInt8](repeating: 0, count: 64 << 10)
        var offset = Int(status.st_size)
        while offset < walBytes {
            let count = min(zeros.count, walBytes - offset)
            let written = zeros.withUnsafeBytes { pwrite(walDescriptor, $0.baseAddress, count, off_t(offset)) }
            guard written > 0 else { return }
            offset += written
        }
        _ = fdatasync(walDescriptor)
    }

    func sync() throws {
        guard fdatasync(walDescriptor) == 0 else {
            throw MessageSpoolSyncError(path: walPath, operation: "fdatasync", errorNumber: errno)
        }
    }

    /// A commit returned, leaving `walFrames` frames in the WAL.
    func committed(walFrames frames: Int) {
        walFrames.store(frames, ordering: .relaxed)
    }

    var isMaintenanceDue: Bool { walFrames.load(ordering: .relaxed) >= checkpointDueAtFrames.load(ordering: .relaxed) }

    /// A checkpoint ran: when it copied everything the next commit restarts the WAL (the frame count starts over);
    /// otherwise it is tried again once the WAL grew by another quarter of the threshold.
    func checkpointed(completely: Bool, walFrames frames: Int) {
        if completely {
            walFrames.store(0, ordering: .relaxed)
            checkpointDueAtFrames.store(checkpointAfterFrames, ordering: .relaxed)
        } else {
            checkpointDueAtFrames.store(frames + max(1, checkpointAfterFrames / 4), ordering: .relaxed)
        }
    }
}
