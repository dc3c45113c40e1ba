import MQTTCore
import NIOCore
import SQLite

/// What a spool store holds, read when it opens: from a header row, never by scanning the messages, so opening
/// costs the same with 100,000 messages as with none.
public struct MessageSpoolStoreSummary: Hashable, Sendable {
    public var count: Int
    public var bytes: Int
    public var oldestSpooledAtMilliseconds: Int64?

    public init(count: Int, bytes: Int, oldestSpooledAtMilliseconds: Int64?) {
        self.count = count
        self.bytes = bytes
        self.oldestSpooledAtMilliseconds = oldestSpooledAtMilliseconds
    }
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
/// Used from one thread at a time (the spool's writer thread).
public protocol MessageSpoolStore {
    /// Opens the store (creating it when absent) and reports what it holds.
    func open() throws -> MessageSpoolStoreSummary
    /// Appends `appending` and removes the messages numbered `removing` in one durable step (a single fsync for
    /// the whole group); returns the new messages' sequence numbers in order, and when the oldest message left was
    /// spooled.
    func commit(appending: [MessageToSpool], removing: [Int64]) throws -> (sequences: [Int64], oldestRemaining: Int64?)
    /// Up to `limit` messages numbered above `sequence`, oldest first.
    func messages(after sequence: Int64, limit: Int) throws -> [MQTTSpooledMessage]
    /// The number of the first message above `sequence`, without reading it: to skip a row that cannot be read.
    func firstSequence(after sequence: Int64) throws -> Int64?
}

/// A store in memory: what `storageType: Memory` would keep, and the reference the SQLite store is tested against.
public final class InMemoryMessageSpoolStore: MessageSpoolStore {
    private var stored: [MQTTSpooledMessage] = []
    private var nextSequence: Int64 = 1

    public init() {}

    public func open() -> MessageSpoolStoreSummary {
        MessageSpoolStoreSummary(
            count: stored.count, bytes: stored.reduce(0) { $0 + $1.message.spoolCharge }, oldestSpooledAtMilliseconds: stored.first?.spooledAtMilliseconds)
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
/// WAL with `synchronous = FULL`: every commit is fsynced before it returns, so a message whose commit returned
/// survives a power cut; a copy of the file and its WAL taken at any instant opens at a committed state.
/// Counts and bytes live in a one-row header kept by triggers in the same transactions, so opening reads one row.
public final class SQLiteMessageSpoolStore: MessageSpoolStore {
    public let path: String
    private var connection: SQLiteConnection?

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
        try connection.execute("PRAGMA synchronous = FULL")
        // Reads stream forward in pages and writes append at the end: a small page cache loses little, and keeps the
        // nucleus's memory the same with a full spool as with an empty one.
        try connection.execute("PRAGMA cache_size = -512")
        try connection.executeScript(Self.schema)
        let totals = try connection.queryFirst("SELECT message_count, byte_count FROM spooler_totals WHERE id = 1") {
            (Int(try $0.int64(0)), Int(try $0.int64(1)))
        }
        self.connection = connection
        return MessageSpoolStoreSummary(count: totals?.0 ?? 0, bytes: totals?.1 ?? 0, oldestSpooledAtMilliseconds: try oldest(connection))
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
        return try connection.transaction {
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
