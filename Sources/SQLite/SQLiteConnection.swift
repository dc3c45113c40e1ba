import CSQLite

/// A failed SQLite call: SQLite's own message and (extended) result code, the database file, and the SQL that
/// was running, so a log line says which file is broken and what the nucleus was doing with it.
public struct SQLiteError: Error, CustomStringConvertible, Equatable, Sendable {
    public var path: String
    /// The extended result code (`SQLITE_NOTADB` = 26, `SQLITE_CORRUPT` = 11, `SQLITE_BUSY` = 5, …).
    public var code: Int32
    public var message: String
    public var sql: String?

    public init(path: String, code: Int32, message: String, sql: String?) {
        self.path = path
        self.code = code
        self.message = message
        self.sql = sql
    }

    public var description: String {
        "SQLite database \(path): \(message) (code \(code))" + (sql.map { " while running: \($0)" } ?? "")
    }
}

/// A value bound to a statement parameter.
public enum SQLiteValue: Equatable, Sendable {
    case null
    case integer(Int64)
    case text(String)
    case blob([UInt8])

    public static func text(_ value: String?) -> SQLiteValue { value.map(SQLiteValue.text) ?? .null }
    public static func integer(_ value: Bool) -> SQLiteValue { .integer(value ? 1 : 0) }
    public static func integer(_ value: Int) -> SQLiteValue { .integer(Int64(value)) }
    public static func integer(_ value: Int32) -> SQLiteValue { .integer(Int64(value)) }
}

/// One connection to a database file, owning its `sqlite3*`. Not thread-safe by itself: its owner keeps it in one
/// isolation domain (NucleusStore holds it in a Mutex), so SQLite can run in its multi-thread mode.
public final class SQLiteConnection {
    public let path: String
    private let handle: OpaquePointer
    /// Statements prepared once and reused (reset between runs), by SQL text: hot paths such as the spool's inserts
    /// and page reads skip SQLite's parser. Bounded, so a caller building SQL text dynamically cannot grow it.
    private var preparedStatements: [String: OpaquePointer] = [:]
    private static let preparedStatementLimit = 32

    /// Opens (creating if `create`) the database at `path`. SQLite opens files lazily: a file that is no database
    /// fails at the first statement, with `SQLITE_NOTADB`.
    public init(path: String, create: Bool = true) throws(SQLiteError) {
        self.path = path
        var handle: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | (create ? SQLITE_OPEN_CREATE : 0) | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        let code = sqlite3_open_v2(path, &handle, flags, nil)
        guard let handle else {
            throw SQLiteError(path: path, code: code, message: String(cString: sqlite3_errstr(code)), sql: nil)
        }
        guard code == SQLITE_OK else {
            let error = SQLiteError(path: path, code: code, message: String(cString: sqlite3_errmsg(handle)), sql: nil)
            sqlite3_close_v2(handle)
            throw error
        }
        self.handle = handle
        sqlite3_extended_result_codes(handle, 1)
        try check(csqlite_disable_double_quoted_strings(handle), sql: nil)
    }

    deinit {
        for statement in preparedStatements.values { sqlite3_finalize(statement) }
        sqlite3_close_v2(handle)
    }

    /// Frames in the write-ahead log after this connection's last commit, as SQLite reports them to its WAL hook
    /// (0 before the first commit, and outside WAL mode). Kept only after ``countWALFrames()``.
    public private(set) var walFrameCount = 0

    /// Keeps ``walFrameCount`` up to date from SQLite's `sqlite3_wal_hook`: the WAL's real length in pages, whatever
    /// the commits wrote (rows, index and free-list pages, page splits). The hook replaces `wal_autocheckpoint`, so
    /// the owner must checkpoint (``checkpointWAL()``).
    public func countWALFrames() {
        // Unretained: SQLite calls the hook only inside this connection's own calls, so `self` is alive.
        sqlite3_wal_hook(
            handle,
            { context, _, _, frames in
                if let context { Unmanaged<SQLiteConnection>.fromOpaque(context).takeUnretainedValue().walFrameCount = Int(frames) }
                return SQLITE_OK
            }, Unmanaged.passUnretained(self).toOpaque())
    }

    /// A PASSIVE checkpoint on this connection: copies what no other connection's reader needs into the database
    /// and never waits. Returns whether every frame was copied: then the next write transaction restarts the WAL from
    /// its beginning, overwriting it in place instead of growing it.
    public func checkpointWAL() throws -> Bool {
        var frames: Int32 = 0
        var copied: Int32 = 0
        try check(sqlite3_wal_checkpoint_v2(handle, nil, SQLITE_CHECKPOINT_PASSIVE, &frames, &copied), sql: "PRAGMA wal_checkpoint(PASSIVE)")
        return frames >= 0 && copied == frames
    }

    /// How long a statement waits for another connection's lock before failing with `SQLITE_BUSY`.
    public func setBusyTimeout(milliseconds: Int32) { sqlite3_busy_timeout(handle, milliseconds) }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    public var changes: Int { Int(sqlite3_changes(handle)) }

    /// Runs one statement to completion, discarding any rows.
    public func execute(_ sql: String, _ arguments: [SQLiteValue] = []) throws {
        try withStatement(sql, arguments) { statement in
            while try statement.step() {}
        }
    }

    /// The rowid of the last row inserted on this connection.
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Runs one statement once per argument list, prepared once (bulk inserts and deletes inside a transaction).
    public func executeEach(_ sql: String, _ argumentLists: [[SQLiteValue]]) throws {
        try withStatement(sql, argumentLists.first ?? []) { statement in
            for (index, arguments) in argumentLists.enumerated() {
                if index > 0 {
                    try statement.reset()
                    for (position, argument) in arguments.enumerated() { try statement.bind(argument, at: Int32(position + 1)) }
                }
                while try statement.step() {}
            }
        }
    }

    /// Runs a script of several statements without parameters (schema migrations).
    public func executeScript(_ sql: String) throws(SQLiteError) {
        var message: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(handle, sql, nil, nil, &message)
        defer { sqlite3_free(message) }
        guard code == SQLITE_OK else {
            throw SQLiteError(path: path, code: code, message: message.map { String(cString: $0) } ?? String(cString: sqlite3_errstr(code)), sql: sql)
        }
    }

    /// Every row of a query, each read by `read` while the statement is positioned on it.
    public func query<Row>(_ sql: String, _ arguments: [SQLiteValue] = [], _ read: (SQLiteRow) throws -> Row) throws -> [Row] {
        try withStatement(sql, arguments) { statement in
            var rows: [Row] = []
            while try statement.step() { rows.append(try read(SQLiteRow(statement: statement))) }
            return rows
        }
    }

    /// The first row of a query, or nil when it returns none.
    public func queryFirst<Row>(_ sql: String, _ arguments: [SQLiteValue] = [], _ read: (SQLiteRow) throws -> Row) throws -> Row? {
        try withStatement(sql, arguments) { statement in
            try statement.step() ? try read(SQLiteRow(statement: statement)) : nil
        }
    }

    /// Runs `body` in one `BEGIN IMMEDIATE … COMMIT` transaction (the write lock taken up front, so a concurrent
    /// writer makes it wait at BEGIN rather than fail at its first write); any error rolls everything back.
    public func transaction<Result>(_ body: () throws -> Result) throws -> Result {
        try execute("BEGIN IMMEDIATE")
        let result: Result
        do {
            result = try body()
            try execute("COMMIT")
        } catch {
            // A failed COMMIT may have rolled back already; ROLLBACK then reports "no transaction", which is moot.
            if sqlite3_get_autocommit(handle) == 0 { try? execute("ROLLBACK") }
            throw error
        }
        return result
    }

    private func withStatement<Result>(_ sql: String, _ arguments: [SQLiteValue], _ body: (SQLiteStatement) throws -> Result) throws -> Result {
        // Taken out of the cache while in use, so a nested use of the same SQL prepares its own.
        let pointer: OpaquePointer
        if let cached = preparedStatements.removeValue(forKey: sql) {
            pointer = cached
        } else {
            var prepared: OpaquePointer?
            try check(sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &prepared, nil), sql: sql)
            guard let prepared else {
                throw SQLiteError(path: path, code: SQLITE_MISUSE, message: "no statement in the SQL text", sql: sql)
            }
            pointer = prepared
        }
        defer {
            // Reset releases any read or write lock the statement holds; its error (the last step's) was reported.
            sqlite3_reset(pointer)
            sqlite3_clear_bindings(pointer)
            if preparedStatements[sql] == nil && preparedStatements.count < Self.preparedStatementLimit {
                preparedStatements[sql] = pointer
            } else {
                sqlite3_finalize(pointer)
            }
        }
        let statement = SQLiteStatement(connection: self, pointer: pointer, sql: sql)
        let parameters = Int(sqlite3_bind_parameter_count(pointer))
        guard parameters == arguments.count else {
            throw SQLiteError(
                path: path, code: SQLITE_RANGE, message: "\(arguments.count) arguments for \(parameters) parameters", sql: sql)
        }
        for (index, argument) in arguments.enumerated() { try statement.bind(argument, at: Int32(index + 1)) }
        return try body(statement)
    }

    fileprivate func check(_ code: Int32, sql: String?) throws(SQLiteError) {
        guard code == SQLITE_OK else { throw error(code, sql: sql) }
    }

    fileprivate func error(_ code: Int32, sql: String?) -> SQLiteError {
        SQLiteError(path: path, code: code, message: String(cString: sqlite3_errmsg(handle)), sql: sql)
    }
}

/// A prepared statement, valid only inside `SQLiteConnection.withStatement`.
public final class SQLiteStatement {
    private unowned let connection: SQLiteConnection
    fileprivate let pointer: OpaquePointer
    public let sql: String

    fileprivate init(connection: SQLiteConnection, pointer: OpaquePointer, sql: String) {
        self.connection = connection
        self.pointer = pointer
        self.sql = sql
    }

    fileprivate func bind(_ value: SQLiteValue, at index: Int32) throws(SQLiteError) {
        let code: Int32
        switch value {
        case .null:
            code = sqlite3_bind_null(pointer, index)
        case .integer(let integer):
            code = sqlite3_bind_int64(pointer, index, integer)
        case .text(let text):
            // Explicit length: a NUL inside the text is kept, not a terminator. Bound from the string's own UTF-8
            // (SQLite copies it), with no array per value: the spool binds a topic per message.
            var text = text
            code = text.withUTF8 { utf8 in
                // An empty buffer may have no base address, which would bind NULL rather than "".
                guard let base = utf8.baseAddress, !utf8.isEmpty else {
                    return sqlite3_bind_text64(pointer, index, "", 0, csqlite_transient(), UInt8(SQLITE_UTF8))
                }
                return base.withMemoryRebound(to: CChar.self, capacity: utf8.count) {
                    sqlite3_bind_text64(pointer, index, $0, UInt64(utf8.count), csqlite_transient(), UInt8(SQLITE_UTF8))
                }
            }
        case .blob(let bytes):
            // A nil base address (empty array) would bind NULL rather than an empty blob.
            code = bytes.isEmpty
                ? sqlite3_bind_zeroblob(pointer, index, 0)
                : bytes.withUnsafeBytes { sqlite3_bind_blob64(pointer, index, $0.baseAddress, UInt64($0.count), csqlite_transient()) }
        }
        try connection.check(code, sql: sql)
    }

    /// Rewinds the statement for another run with new bindings.
    fileprivate func reset() throws(SQLiteError) {
        sqlite3_reset(pointer)
        try connection.check(sqlite3_clear_bindings(pointer), sql: sql)
    }

    /// Advances to the next row: true while there is one, false when the statement is done.
    fileprivate func step() throws(SQLiteError) -> Bool {
        switch sqlite3_step(pointer) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let code: throw connection.error(code, sql: sql)
        }
    }

    fileprivate func corrupt(_ column: Int32, _ problem: String) -> SQLiteError {
        let name = sqlite3_column_name(pointer, column).map { String(cString: $0) } ?? "#\(column)"
        return SQLiteError(path: connection.path, code: SQLITE_MISMATCH, message: "column \(name) \(problem)", sql: sql)
    }
}

/// The row a statement is positioned on; columns by index (0-based) with the type the schema promises. A column
/// holding another type (a file edited by hand, a damaged page) is an error naming the column, never a crash.
public struct SQLiteRow {
    fileprivate let statement: SQLiteStatement

    public func isNull(_ column: Int32) -> Bool { sqlite3_column_type(statement.pointer, column) == SQLITE_NULL }

    public func int64(_ column: Int32) throws(SQLiteError) -> Int64 {
        guard sqlite3_column_type(statement.pointer, column) == SQLITE_INTEGER else {
            throw statement.corrupt(column, "is \(typeName(column)), not an integer")
        }
        return sqlite3_column_int64(statement.pointer, column)
    }

    public func optionalText(_ column: Int32) throws(SQLiteError) -> String? {
        switch sqlite3_column_type(statement.pointer, column) {
        case SQLITE_NULL:
            return nil
        case SQLITE_TEXT:
            // Fetch the pointer before the length, as SQLite's documentation asks; bytes that are no UTF-8 are
            // repaired (U+FFFD), not trusted.
            guard let characters = sqlite3_column_text(statement.pointer, column) else { return "" }
            let count = Int(sqlite3_column_bytes(statement.pointer, column))
            return String(decoding: UnsafeBufferPointer(start: characters, count: count), as: UTF8.self)
        default:
            throw statement.corrupt(column, "is \(typeName(column)), not text")
        }
    }

    public func text(_ column: Int32) throws(SQLiteError) -> String {
        guard let text = try optionalText(column) else { throw statement.corrupt(column, "is NULL, not text") }
        return text
    }

    public func blob(_ column: Int32) throws(SQLiteError) -> [UInt8]? {
        switch sqlite3_column_type(statement.pointer, column) {
        case SQLITE_NULL:
            return nil
        case SQLITE_BLOB:
            let bytes = sqlite3_column_blob(statement.pointer, column)
            let count = Int(sqlite3_column_bytes(statement.pointer, column))
            guard let bytes, count > 0 else { return [] }
            return Array(UnsafeRawBufferPointer(start: bytes, count: count))
        default:
            throw statement.corrupt(column, "is \(typeName(column)), not a blob")
        }
    }

    private func typeName(_ column: Int32) -> String {
        switch sqlite3_column_type(statement.pointer, column) {
        case SQLITE_INTEGER: "an integer"
        case SQLITE_FLOAT: "a real"
        case SQLITE_TEXT: "text"
        case SQLITE_BLOB: "a blob"
        default: "NULL"
        }
    }
}
