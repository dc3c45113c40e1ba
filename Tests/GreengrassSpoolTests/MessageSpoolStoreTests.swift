import GreengrassSpool
import GreengrassTestSupport
import MQTTCore
import NIOCore
import SQLite
import Testing

#if canImport(Glibc)
import Glibc
#endif

struct WriteFailure: Error {}

func writeFile(_ path: String, _ bytes: [UInt8]) throws {
    guard let file = fopen(path, "wb") else { throw WriteFailure() }
    defer { fclose(file) }
    guard fwrite(bytes, 1, bytes.count, file) == bytes.count else { throw WriteFailure() }
}

func numbered(_ number: Int, expiry: UInt32? = nil) -> MQTTOutboundMessage {
    var properties = MQTTProperties()
    properties.userProperties = [MQTTUserProperty("n", "\(number)")]
    properties.messageExpiryInterval = expiry
    properties.correlationData = [UInt8(number % 256)]
    properties.responseTopic = "reply/\(number)"
    properties.payloadFormatIndicator = 1
    properties.contentType = "text/plain"
    return MQTTOutboundMessage(topic: "spool/\(number)", payload: ByteBuffer(string: "message \(number)"), qos: .atLeastOnce, retain: number % 2 == 0, properties: properties)
}

@Suite("Spool stores: SQLite against the in-memory reference")
struct MessageSpoolStoreTests {
    let directory: TemporaryDirectory
    init() throws { directory = try TemporaryDirectory() }

    func stores() -> [any MessageSpoolStore] {
        [InMemoryMessageSpoolStore(), SQLiteMessageSpoolStore(path: directory.file("spooler.db"))]
    }

    @Test("messages come back in order with every field, in pages, and leave when removed")
    func roundTrip() throws {
        for store in stores() {
            #expect(try store.open() == MessageSpoolStoreSummary(count: 0, bytes: 0, oldestSpooledAtMilliseconds: nil))
            let first = try store.commit(appending: (1...5).map { MessageToSpool(message: numbered($0), spooledAtMilliseconds: Int64($0)) }, removing: [])
            #expect(first.sequences.count == 5 && first.oldestRemaining == 1)
            let page = try store.messages(after: 0, limit: 3)
            #expect(page.map(\.message) == (1...3).map { numbered($0) })
            #expect(page.map(\.spooledAtMilliseconds) == [1, 2, 3])
            #expect(try store.messages(after: page[2].sequence, limit: 10).map(\.message) == [numbered(4), numbered(5)])
            let second = try store.commit(appending: [MessageToSpool(message: numbered(6), spooledAtMilliseconds: 6)], removing: Array(first.sequences.prefix(2)))
            #expect(second.oldestRemaining == 3)
            #expect(try store.messages(after: 0, limit: 10).map(\.message) == (3...6).map { numbered($0) })
        }
    }

    @Test("reopening the file reports count, bytes and oldest from the header, and continues numbering")
    func reopen() throws {
        let path = directory.file("spooler.db")
        let messages = (1...4).map { numbered($0) }
        do {
            let store = SQLiteMessageSpoolStore(path: path)
            _ = try store.open()
            let committed = try store.commit(appending: messages.map { MessageToSpool(message: $0, spooledAtMilliseconds: 100) }, removing: [])
            _ = try store.commit(appending: [], removing: [committed.sequences[0]])
        }
        let store = SQLiteMessageSpoolStore(path: path)
        let summary = try store.open()
        #expect(summary == MessageSpoolStoreSummary(count: 3, bytes: messages.dropFirst().reduce(0) { $0 + $1.spoolCharge }, oldestSpooledAtMilliseconds: 100, lastSequence: 4))
        let more = try store.commit(appending: [MessageToSpool(message: numbered(9), spooledAtMilliseconds: 200)], removing: [])
        #expect(more.sequences == [5])
    }

    @Test("a file that is no database fails to open with an error naming it")
    func garbage() throws {
        let path = directory.file("spooler.db")
        try writeFile(path, Array(String(repeating: "not a database ", count: 400).utf8))
        let error = #expect(throws: SQLiteError.self) { try SQLiteMessageSpoolStore(path: path).open() }
        #expect(error?.path == path)
    }

    @Test("a damaged row is an error naming the file and row, never a crash")
    func damagedRow() throws {
        let path = directory.file("spooler.db")
        let store = SQLiteMessageSpoolStore(path: path)
        _ = try store.open()
        _ = try store.commit(appending: [MessageToSpool(message: numbered(1), spooledAtMilliseconds: 1)], removing: [])
        try SQLiteConnection(path: path, create: false).execute("UPDATE spooler SET properties = X'0501'")
        #expect(throws: MQTTProtocolError.self) { try store.messages(after: 0, limit: 1) }
        try SQLiteConnection(path: path, create: false).execute("UPDATE spooler SET qos = 7")
        let error = #expect(throws: SQLiteError.self) { try store.messages(after: 0, limit: 1) }
        #expect(error?.message.contains("message_id 1") == true)
    }

    func fileSize(_ path: String) throws -> Int {
        var status = stat()
        guard stat(path, &status) == 0 else { throw WriteFailure() }
        return Int(status.st_size)
    }

    @Test("the WAL keeps its working size: a checkpoint is due by the WAL's length in frames, and after one the WAL is written over from its start")
    func walKeepsItsSize() throws {
        let path = directory.file("spooler.db")
        let store = SQLiteMessageSpoolStore(path: path)
        _ = try store.open()
        // Filled to its working size when opened: commits write over written blocks, never extend the file.
        let prepared = try fileSize(path + "-wal")
        #expect(prepared >= 32 + SQLiteMessageSpoolStore.checkpointAfterFrames * (24 + 4096))
        var checkpoints = 0
        // Small messages, one per commit: a few frames each, far fewer message bytes (which alone never made a
        // checkpoint due), so only counting frames keeps the WAL bounded.
        for number in 1...3000 {
            _ = try store.commit(appending: [MessageToSpool(message: numbered(number), spooledAtMilliseconds: 1)], removing: [])
            if store.durability.isMaintenanceDue {
                store.maintain()
                checkpoints += 1
                #expect(!store.durability.isMaintenanceDue)
            }
        }
        #expect(checkpoints >= 3)
        #expect(try fileSize(path + "-wal") == prepared)
        let stored = try store.messages(after: 0, limit: 5000)
        #expect(stored.count == 3000 && stored.last?.message == numbered(3000))
    }

    @Test("a WAL left holding frames (a crash) keeps them when the store fills it to its working size")
    func preparedWALKeepsFrames() throws {
        let path = directory.file("spooler.db")
        let crashed = directory.file("crashed.db")
        let store = SQLiteMessageSpoolStore(path: path)
        _ = try store.open()
        _ = try store.commit(appending: (1...5).map { MessageToSpool(message: numbered($0), spooledAtMilliseconds: 1) }, removing: [])
        // A copy taken while the store is open, its WAL cut after its last frame: as a crash before any checkpoint
        // leaves it, shorter than the working size.
        for suffix in ["", "-wal"] {
            guard let source = fopen(path + suffix, "rb") else { throw WriteFailure() }
            var bytes: [UInt8] = []
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            while case let count = fread(&chunk, 1, chunk.count, source), count > 0 { bytes += chunk[..<count] }
            fclose(source)
            if suffix == "-wal" {
                let used = (bytes.lastIndex { $0 != 0 } ?? 0) + 1
                bytes.removeLast(bytes.count - (32 + (used - 32 + 4119) / 4120 * 4120))
            }
            try writeFile(crashed + suffix, bytes)
        }
        let shortWAL = try fileSize(crashed + "-wal")
        let reopened = SQLiteMessageSpoolStore(path: crashed)
        #expect(try reopened.open().count == 5)
        #expect(try fileSize(crashed + "-wal") > shortWAL)
        #expect(try reopened.messages(after: 0, limit: 10).map(\.message) == (1...5).map { numbered($0) })
    }
}
