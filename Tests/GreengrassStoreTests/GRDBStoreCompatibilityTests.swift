import GreengrassIPCModel
import GreengrassJSON
@testable import GreengrassStore
import SQLite
import GreengrassTestSupport
import Testing

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Roots written by the releases whose store ran on GRDB must keep working: the store file such a release wrote
/// (Tests/Fixtures/store/grdb-v1, see its README) opens with every value as written and takes new writes.
@Suite("NucleusStore reads roots of the GRDB-based release")
struct GRDBStoreCompatibilityTests {
    let directory: TemporaryDirectory

    init() throws {
        directory = try TemporaryDirectory(prefix: "ggstore")
    }

    /// The fixture, found next to this file's directory so the test runs from any working directory.
    static let fixturePath: String = {
        var components = "\(#filePath)".split(separator: "/", omittingEmptySubsequences: false)
        components.removeLast(2)  // GreengrassStoreTests/<this file>
        return components.joined(separator: "/") + "/Fixtures/store/grdb-v1/nucleus.db"
    }()

    /// A copy of the fixture in the temporary directory (the test writes to it; the fixture stays as released).
    func fixtureCopy() throws -> String {
        let path = directory.file("nucleus.db")
        try FileManager.default.copyItem(atPath: Self.fixturePath, toPath: path)
        return path
    }

    /// Every value `OldStoreFixture.populate` wrote, read back through the store.
    func expectFixtureValues(_ store: NucleusStore) throws {
        #expect(try store.integrityCheck())
        #expect(try store.document(named: "nucleus") == OldStoreFixture.configurationTree)
        #expect(try store.document(named: "nucleusRun") == OldStoreFixture.runRecord)
        #expect(try store.document(named: "absent") == nil)

        #expect(try store.deployedComponents() == OldStoreFixture.finalSet)
        #expect(try store.deployedComponent(named: "com.example.Hello") == OldStoreFixture.finalSet[0])
        #expect(try store.deployedComponent(named: "com.example.Hello")?.runWith == OldStoreFixture.runWith)
        #expect(try store.deployedComponent(named: "com.example.Lib")?.groupName == nil)

        let records = try store.deployments()
        #expect(records.map(\.id) == OldStoreFixture.deployments.map(\.id))
        for (index, (record, expected)) in zip(records, OldStoreFixture.deployments).enumerated() {
            #expect(record.sequence == Int64(index + 1), "\(expected.id)")
            #expect(record.createdOn == expected.createdOn, "\(expected.id)")
            #expect(record.status == expected.status, "\(expected.id)")
            #expect(record.groupName == expected.groupName, "\(expected.id)")
            #expect(record.request == expected.request, "\(expected.id)")
            #expect(record.details == expected.details, "\(expected.id)")
            #expect(record.rollbackSnapshot == expected.rollbackSnapshot, "\(expected.id)")
            #expect(try store.deployment(id: expected.id) == record)
        }
        #expect(try store.deployments(withStatus: [.queued, .inProgress]).map(\.id) == ["d-in-progress", "d-queued"])

        for (name, version) in OldStoreFixture.installed { #expect(try store.installedVersion(of: name) == version) }
        #expect(try store.installedVersion(of: "com.example.Gone") == nil)
        let groups = try store.processGroups().sorted { $0.pgid < $1.pgid }
        #expect(groups.map(\.pgid) == OldStoreFixture.processGroups.map(\.pgid))
        #expect(groups.map(\.component) == OldStoreFixture.processGroups.map(\.component))
    }

    func appliedMigrations(_ path: String) throws -> [String] {
        try SQLiteConnection(path: path, create: false).query("SELECT identifier FROM grdb_migrations ORDER BY identifier") { try $0.text(0) }
    }

    @Test func oldRootOpensWithEveryValueAsWritten() throws {
        let path = try fixtureCopy()
        try expectFixtureValues(try NucleusStore(path: path))
        // Recognised as migrated: v1 was not run again (it would fail on the existing tables) nor recorded twice.
        #expect(try appliedMigrations(path) == ["v1"])
    }

    @Test func oldRootTakesNewWritesThatSurviveReopen() throws {
        let path = try fixtureCopy()
        do {
            let store = try NucleusStore(path: path)
            // The in-progress deployment of the old run finishes, and a new one follows it in the history.
            try store.finishDeployment(id: "d-in-progress", status: .succeeded, details: OldStoreFixture.succeededDetails, now: 2_000)
            try store.insertDeployment(id: "d-new", groupName: "LOCAL_DEPLOYMENT", request: .init(rootComponentsToRemove: ["com.example.Lib"]), createdOn: 2_001)
            try store.beginDeployment(id: "d-new", now: 2_002)
            try store.commitDeployedSet(
                [OldStoreFixture.finalSet[0]], deploymentID: "d-new", status: .succeeded, details: OldStoreFixture.succeededDetails, now: 2_003)
            try store.setDocument(["bootId": "another-boot"], named: "nucleusRun")
            try store.forgetProcessGroup(31337)
        }
        let reopened = try NucleusStore(path: path)
        #expect(try reopened.integrityCheck())
        #expect(try reopened.deployedComponents() == [OldStoreFixture.finalSet[0]])
        let new = try #require(try reopened.deployment(id: "d-new"))
        #expect(new.sequence == 6)
        #expect(new.status == .succeeded)
        #expect(new.rollbackSnapshot == OldStoreFixture.finalSet)
        #expect(try reopened.deployment(id: "d-in-progress")?.status == .succeeded)
        #expect(try reopened.document(named: "nucleusRun") == ["bootId": "another-boot"])
        #expect(try reopened.document(named: "nucleus") == OldStoreFixture.configurationTree)
        #expect(try reopened.processGroups().map(\.pgid) == [2_147_483_000])
    }

    @Test func aLaterMigrationContinuesFromAnOldRoot() throws {
        let path = try fixtureCopy()
        let connection = try SQLiteConnection(path: path, create: false)
        let later = StoreSchema.Migration(identifier: "v2-test", sql: "ALTER TABLE installed ADD COLUMN checksum TEXT;")
        try StoreSchema.migrate(connection, migrations: StoreSchema.migrations + [later])
        #expect(try appliedMigrations(path) == ["v1", "v2-test"])
        #expect(try connection.query("SELECT name, checksum FROM installed ORDER BY name") { [try $0.text(0), try $0.optionalText(1) ?? "null"] }
            == [["com.example.Hello", "null"], ["com.example.Lib", "null"]])
        // Run again (the next start): nothing left to apply.
        try StoreSchema.migrate(connection, migrations: StoreSchema.migrations + [later])
        #expect(try appliedMigrations(path) == ["v1", "v2-test"])
    }

    @Test func storeCreatedByThisBuildReopensWithTheSameValues() throws {
        let path = directory.file("fresh.db")
        try OldStoreFixture.populate(try NucleusStore(path: path))
        try expectFixtureValues(try NucleusStore(path: path))
        #expect(try appliedMigrations(path) == ["v1"])
    }

    @Test func storeConnectionHasTheDurabilitySettingsGRDBGaveIt() throws {
        let path = try fixtureCopy()
        let store = try NucleusStore(path: path)
        #expect(try store.integerPragma("synchronous") == 2)  // FULL
        #expect(try store.integerPragma("foreign_keys") == 1)
        #expect(try store.integerPragma("busy_timeout") == 5000)
        #expect(try SQLiteConnection(path: path, create: false).queryFirst("PRAGMA journal_mode") { try $0.text(0) } == "wal")
        let fresh = directory.file("fresh.db")
        _ = try NucleusStore(path: fresh)
        #expect(try SQLiteConnection(path: fresh, create: false).queryFirst("PRAGMA journal_mode") { try $0.text(0) } == "wal")
    }

    @Test func aFileThatIsNoDatabaseIsAnErrorNamingIt() throws {
        let path = directory.file("nucleus.db")
        try Data(repeating: 0x5A, count: 8192).write(to: URL(fileURLWithPath: path))
        let error = try #require(throws: SQLiteError.self) { try NucleusStore(path: path) }
        #expect(error.path == path)
        #expect(error.code == 26)  // SQLITE_NOTADB
        #expect(error.description.contains(path))
        #expect(error.description.contains("file is not a database"))
    }

    @Test func aDamagedDatabaseIsAnErrorNotACrash() throws {
        let path = try fixtureCopy()
        // Keep the header page (so SQLite takes it for a database) and overwrite the pages holding the tables.
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        for index in 4096..<bytes.count { bytes[index] = UInt8(truncatingIfNeeded: index &* 31) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        // The migrations check reads the damaged grdb_migrations page while opening.
        let error = try #require(throws: SQLiteError.self) { try NucleusStore(path: path) }
        #expect(error.code == 11)  // SQLITE_CORRUPT
        #expect(error.description.contains(path))
        #expect(error.description.contains("malformed"))
    }

    @Test func aDirectoryInPlaceOfTheFileIsAnErrorNamingIt() throws {
        let path = directory.file("nucleus.db")
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        let error = try #require(throws: SQLiteError.self) { try NucleusStore(path: path) }
        #expect(error.description.contains(path))
    }

    @Test func aValueOfTheWrongTypeIsACorruptRecord() throws {
        let path = try fixtureCopy()
        try SQLiteConnection(path: path, create: false).execute("UPDATE component SET isRoot = 'yes' WHERE name = 'com.example.Lib'")
        let store = try NucleusStore(path: path)
        let error = try #require(throws: StoreError.self) { try store.deployedComponents() }
        #expect("\(error)".contains("component record com.example.Lib"))
        #expect("\(error)".contains("isRoot"))
    }
}
