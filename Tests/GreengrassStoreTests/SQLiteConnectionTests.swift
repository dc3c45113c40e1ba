@testable import GreengrassStore
import SQLite
import GreengrassTestSupport
import Testing

@Suite("SQLiteConnection")
struct SQLiteConnectionTests {
    let directory: TemporaryDirectory
    let connection: SQLiteConnection

    init() throws {
        directory = try TemporaryDirectory(prefix: "ggsqlite")
        connection = try SQLiteConnection(path: directory.file("test.db"))
        try connection.execute("CREATE TABLE value (id INTEGER PRIMARY KEY, content ANY) STRICT")
    }

    func insert(_ id: Int64, _ value: SQLiteValue) throws {
        try connection.execute("INSERT INTO value(id, content) VALUES (?, ?)", [.integer(id), value])
    }

    func storageClass(_ id: Int64) throws -> String? {
        try connection.queryFirst("SELECT typeof(content) FROM value WHERE id = ?", [.integer(id)]) { try $0.text(0) }
    }

    /// Statements are prepared once and reused: each use starts from fresh bindings, a failed run does not poison
    /// the next, a nested use of the same SQL gets its own statement, and a reused statement sees a schema change.
    @Test func reusedStatementsBehaveAsFreshOnes() throws {
        let insertSQL = "INSERT INTO value(id, content) VALUES (?, ?)"
        try connection.execute(insertSQL, [.integer(1), .text("one")])
        #expect(throws: SQLiteError.self) { try connection.execute(insertSQL, [.integer(1), .text("again")]) }
        try connection.execute(insertSQL, [.integer(2), .text("two")])
        let selectSQL = "SELECT content FROM value WHERE id = ?"
        let nested = try connection.query("SELECT id FROM value ORDER BY id") { row in
            try connection.queryFirst(selectSQL, [.integer(try row.int64(0))]) { try $0.text(0) }
        }
        #expect(nested == ["one", "two"])
        let outer = try connection.query(selectSQL, [.integer(1)]) { row in
            (try row.text(0), try connection.queryFirst(selectSQL, [.integer(2)]) { try $0.text(0) })
        }
        #expect(outer.map(\.0) == ["one"] && outer.map(\.1) == ["two"])
        try connection.execute("ALTER TABLE value ADD COLUMN note TEXT")
        #expect(try connection.queryFirst(selectSQL, [.integer(2)]) { try $0.text(0) } == "two")
        #expect(try connection.queryFirst("SELECT count(*) FROM value") { try $0.int64(0) } == 2)
    }

    @Test func valuesRoundTripWithTheirTypes() throws {
        try insert(1, .integer(Int64.min))
        try insert(2, .integer(Int64.max))
        try insert(3, .text("grüße ✓ \"quoted\" 'single'"))
        try insert(4, .text(""))
        try insert(5, .text("before\0after"))
        try insert(6, .blob([0, 1, 0xFF, 0]))
        try insert(7, .blob([]))
        try insert(8, .null)
        try insert(9, .text(nil as String?))
        #expect(try connection.queryFirst("SELECT content FROM value WHERE id = 1") { try $0.int64(0) } == .min)
        #expect(try connection.queryFirst("SELECT content FROM value WHERE id = 2") { try $0.int64(0) } == .max)
        #expect(try connection.queryFirst("SELECT content FROM value WHERE id = 3") { try $0.text(0) } == "grüße ✓ \"quoted\" 'single'")
        // The empty text is text, not NULL; a NUL inside text is kept.
        #expect(try storageClass(4) == "text")
        #expect(try connection.queryFirst("SELECT content FROM value WHERE id = 4") { try $0.text(0) } == "")
        #expect(try connection.queryFirst("SELECT content FROM value WHERE id = 5") { try $0.text(0) } == "before\0after")
        #expect(try connection.queryFirst("SELECT content FROM value WHERE id = 6") { try $0.blob(0) } == [0, 1, 0xFF, 0])
        #expect(try storageClass(7) == "blob")
        #expect(try connection.queryFirst("SELECT content FROM value WHERE id = 7") { try $0.blob(0) } == [])
        #expect(try storageClass(8) == "null")
        #expect(try storageClass(9) == "null")
        #expect(try connection.queryFirst("SELECT content FROM value WHERE id = 9") { try $0.optionalText(0) } == .some(nil))
        #expect(try connection.queryFirst("SELECT content FROM value WHERE id = 99") { try $0.int64(0) } == nil)
        #expect(try connection.query("SELECT id FROM value WHERE content IS NULL ORDER BY id") { try $0.int64(0) } == [8, 9])
    }

    @Test func aColumnOfAnotherTypeIsAnErrorNamingIt() throws {
        try insert(1, .text("12"))
        let error = try #require(throws: SQLiteError.self) {
            try connection.queryFirst("SELECT content FROM value WHERE id = 1") { try $0.int64(0) }
        }
        #expect(error.message == "column content is text, not an integer")
        #expect(error.sql == "SELECT content FROM value WHERE id = 1")
        #expect(throws: SQLiteError.self) { try connection.queryFirst("SELECT NULL AS nothing") { try $0.text(0) } }
    }

    @Test func aFailedTransactionLeavesNothingAndTheConnectionUsable() throws {
        struct Abort: Error {}
        try insert(1, .text("kept"))
        #expect(throws: Abort.self) {
            try connection.transaction {
                try insert(2, .text("dropped"))
                try connection.execute("UPDATE value SET content = 'changed' WHERE id = 1")
                throw Abort()
            }
        }
        #expect(try connection.query("SELECT id, content FROM value") { "\(try $0.int64(0))=\(try $0.text(1))" } == ["1=kept"])
        let count = try connection.transaction {
            try insert(3, .text("committed"))
            return connection.changes
        }
        #expect(count == 1)
        #expect(try connection.query("SELECT id FROM value ORDER BY id") { try $0.int64(0) } == [1, 3])
    }

    @Test func errorsCarrySQLitesMessageTheFileAndTheSQL() throws {
        let syntax = try #require(throws: SQLiteError.self) { try connection.execute("SELEC 1") }
        #expect(syntax.message.contains("syntax error"))
        #expect(syntax.sql == "SELEC 1")
        #expect(syntax.path == directory.file("test.db"))
        #expect(syntax.description.contains(directory.file("test.db")))

        let arguments = try #require(throws: SQLiteError.self) { try connection.execute("SELECT ?, ?", [.integer(1)]) }
        #expect(arguments.message == "1 arguments for 2 parameters")

        try insert(1, .null)
        let constraint = try #require(throws: SQLiteError.self) { try insert(1, .null) }
        #expect(constraint.message.contains("UNIQUE constraint failed"))
        // Double-quoted identifiers that name nothing are an error, not a string literal.
        #expect(throws: SQLiteError.self) { try connection.execute("SELECT \"no_such_column\" FROM value") }
    }

    @Test func openingWithoutCreateNeedsAnExistingFile() throws {
        let path = directory.file("absent.db")
        let error = try #require(throws: SQLiteError.self) { try SQLiteConnection(path: path, create: false) }
        #expect(error.path == path)
        #expect(error.code == 14)  // SQLITE_CANTOPEN
    }
}
