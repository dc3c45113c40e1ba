import SQLite

/// The store's schema, built by numbered migrations, each applied once in its own transaction.
///
/// Applied migrations are recorded where GRDB's `DatabaseMigrator` recorded them (the store used GRDB until issue
/// 16): table `grdb_migrations`, one row per identifier. A root written by those releases therefore opens as
/// already migrated to `v1`, with no data copied, and any later migration continues from there. Keep the table
/// name and never rename or edit an identifier or its SQL once released: add a new migration instead.
enum StoreSchema {
    struct Migration {
        var identifier: String
        var sql: String
    }

    static let migrations: [Migration] = [
        Migration(
            identifier: "v1",
            sql: """
                CREATE TABLE configuration_document (
                    name TEXT PRIMARY KEY NOT NULL,
                    document TEXT NOT NULL
                );
                CREATE TABLE component (
                    name TEXT PRIMARY KEY NOT NULL,
                    version TEXT NOT NULL,
                    isRoot INTEGER NOT NULL,
                    groupName TEXT,
                    recipePath TEXT NOT NULL,
                    configuration TEXT NOT NULL,
                    runWith TEXT
                );
                CREATE TABLE deployment (
                    id TEXT PRIMARY KEY NOT NULL,
                    sequence INTEGER NOT NULL,
                    createdOn INTEGER NOT NULL,
                    status TEXT NOT NULL,
                    groupName TEXT NOT NULL,
                    request TEXT NOT NULL,
                    details TEXT,
                    rollbackSnapshot TEXT,
                    updatedOn INTEGER NOT NULL
                );
                CREATE INDEX deployment_by_sequence ON deployment(sequence);
                CREATE TABLE installed (
                    name TEXT PRIMARY KEY NOT NULL,
                    version TEXT NOT NULL,
                    installedOn INTEGER NOT NULL
                );
                CREATE TABLE processGroup (
                    pgid INTEGER PRIMARY KEY NOT NULL,
                    component TEXT NOT NULL,
                    startedOn INTEGER NOT NULL
                );
                """),
    ]

    /// Applies, in order, every migration `connection`'s database has not recorded yet. Identifiers recorded by a
    /// newer release are left alone, as GRDB did: that release's tables are extra to this one.
    static func migrate(_ connection: SQLiteConnection, migrations: [Migration] = migrations) throws {
        try connection.execute("CREATE TABLE IF NOT EXISTS grdb_migrations (identifier TEXT NOT NULL PRIMARY KEY)")
        let applied = Set(try connection.query("SELECT identifier FROM grdb_migrations") { try $0.text(0) })
        for migration in migrations where !applied.contains(migration.identifier) {
            try connection.transaction {
                try connection.executeScript(migration.sql)
                try connection.execute("INSERT INTO grdb_migrations (identifier) VALUES (?)", [.text(migration.identifier)])
            }
        }
    }
}
