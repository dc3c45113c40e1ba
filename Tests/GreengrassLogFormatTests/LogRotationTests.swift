import GreengrassLogFormat
import Testing

@Suite("Rotation names and the rotation state machine")
struct LogRotationTests {
    /// 2022-08-05T14:00:00Z
    static let hour14: Int64 = 1_659_708_000_000
    static let hourMs: Int64 = 3_600_000

    @Test("rolled file names use logback's yyyy_MM_dd_HH_i pattern in UTC")
    func names() {
        let name = RolledLogFileName(baseName: "greengrass", epochHour: Self.hour14 / Self.hourMs, index: 0)
        #expect(name.fileName == "greengrass_2022_08_05_14_0.log")
        let component = RolledLogFileName(baseName: "com.example.Foo", epochHour: 0, index: 12)
        #expect(component.fileName == "com.example.Foo_1970_01_01_00_12.log")
    }

    @Test(
        "rolled names parse back; other names do not",
        arguments: [
            ("greengrass_2022_08_05_14_0.log", "greengrass", true),
            ("greengrass_2022_08_05_14_17.log", "greengrass", true),
            ("com.example.Foo_2024_02_29_23_3.log", "com.example.Foo", true),
            ("greengrass.log", "greengrass", false),
            ("greengrass_2022_08_05_14.log", "greengrass", false),
            ("greengrass_2022_08_05_14_x.log", "greengrass", false),
            ("greengrass_2022_13_05_14_0.log", "greengrass", false),
            ("greengrass_2023_02_29_14_0.log", "greengrass", false),
            ("greengrass_2022_08_05_24_0.log", "greengrass", false),
            ("greengrass_2022_08_05_14_0.log.gz", "greengrass", false),
            ("other_2022_08_05_14_0.log", "greengrass", false),
            ("greengrass_2022_08_05_14_0.log", "greengrass_2022", false),
            ("greengrass_2022_8_05_14_0.log", "greengrass", false),
        ])
    func parseNames(fileName: String, baseName: String, valid: Bool) {
        let parsed = RolledLogFileName(parsing: fileName, baseName: baseName)
        #expect((parsed != nil) == valid)
        if let parsed { #expect(parsed.fileName == fileName) }
    }

    @Test("rolls before a write would exceed the file size, with unique indexes per hour")
    func sizeRolls() {
        var state = LogRotationState(
            baseName: "greengrass", policy: LogRotationPolicy(fileSizeKB: 1, totalLogsSizeKB: 100, rollsHourly: true))
        let now = Self.hour14 + 1234
        var rolledNames: [String] = []
        for _ in 0..<10 {
            // 300-byte lines: 3 fit in 1024 bytes, the 4th rolls.
            for action in state.prepareWrite(byteCount: 300, now: now) {
                if case .rollActive(let name) = action { rolledNames.append(name.fileName) }
            }
            state.recordWrite(byteCount: 300, now: now)
            #expect(state.activeBytes <= 1024)
        }
        #expect(rolledNames == ["greengrass_2022_08_05_14_0.log", "greengrass_2022_08_05_14_1.log", "greengrass_2022_08_05_14_2.log"])
        #expect(state.rolled.map(\.bytes) == [900, 900, 900])
        #expect(state.activeBytes == 300)
    }

    @Test("an hour change rolls the active file under the hour of its content")
    func hourlyRoll() {
        var state = LogRotationState(baseName: "a", policy: LogRotationPolicy(fileSizeKB: 1024, totalLogsSizeKB: 10240))
        #expect(state.prepareWrite(byteCount: 10, now: Self.hour14 + 5).isEmpty)
        state.recordWrite(byteCount: 10, now: Self.hour14 + 5)
        #expect(state.prepareWrite(byteCount: 10, now: Self.hour14 + Self.hourMs - 1).isEmpty)
        state.recordWrite(byteCount: 10, now: Self.hour14 + Self.hourMs - 1)
        let actions = state.prepareWrite(byteCount: 10, now: Self.hour14 + Self.hourMs)
        #expect(actions == [.rollActive(to: RolledLogFileName(baseName: "a", epochHour: Self.hour14 / Self.hourMs, index: 0))])
        state.recordWrite(byteCount: 10, now: Self.hour14 + Self.hourMs)
        #expect(state.activeEpochHour == Self.hour14 / Self.hourMs + 1)

        var noHourly = LogRotationState(baseName: "a", policy: LogRotationPolicy(fileSizeKB: 1024, totalLogsSizeKB: 10240, rollsHourly: false))
        noHourly.recordWrite(byteCount: 10, now: Self.hour14)
        #expect(noHourly.prepareWrite(byteCount: 10, now: Self.hour14 + 5 * Self.hourMs).isEmpty)
    }

    @Test("an empty active file never rolls, even for a line larger than the file limit")
    func emptyNeverRolls() {
        var state = LogRotationState(baseName: "a", policy: LogRotationPolicy(fileSizeKB: 1, totalLogsSizeKB: 1))
        #expect(state.prepareWrite(byteCount: 5000, now: 0).isEmpty)
        state.recordWrite(byteCount: 5000, now: 0)
        #expect(state.prepareWrite(byteCount: 1, now: 0) == [.rollActive(to: RolledLogFileName(baseName: "a", epochHour: 0, index: 0)), .delete(RolledLogFileName(baseName: "a", epochHour: 0, index: 0))])
    }

    @Test("the rolled files' total stays under the cap by deleting the oldest")
    func totalCap() {
        var state = LogRotationState(baseName: "c", policy: LogRotationPolicy(fileSizeKB: 1, totalLogsSizeKB: 3))
        var deleted: [RolledLogFileName] = []
        var rolled: [RolledLogFileName] = []
        var now = Self.hour14
        for step in 0..<200 {
            now += 60_000  // a minute per line: crosses hours too
            for action in state.prepareWrite(byteCount: 700, now: now) {
                switch action {
                case .rollActive(let name): rolled.append(name)
                case .delete(let name): deleted.append(name)
                }
            }
            state.recordWrite(byteCount: 700, now: now)
            #expect(state.rolledBytes <= 3 * 1024, "step \(step)")
        }
        #expect(rolled.count == 199)
        #expect(Set(rolled).count == rolled.count)
        // Deleted oldest first, exactly the ones no longer tracked.
        #expect(deleted == Array(rolled.prefix(deleted.count)))
        #expect(state.rolled.map(\.name) == Array(rolled.suffix(rolled.count - deleted.count)))
        #expect(state.rolled.count == 4)
    }

    @Test("existing rolled files are adopted from the directory, sorted, and capped at start")
    func adoptsExisting() {
        let entries: [(name: String, bytes: Int64)] = [
            ("g_2022_08_05_14_1.log", 1000), ("g_2022_08_05_13_0.log", 1000), ("g.log", 50), ("g_2022_08_05_14_0.log", 1000),
            ("g_2022_08_05_14_10.log", 1000), ("h_2022_08_05_14_0.log", 9999), ("README", 1), ("g_2022_08_05_14_2.log", 1000),
        ]
        var state = LogRotationState(
            baseName: "g", policy: LogRotationPolicy(fileSizeKB: 1, totalLogsSizeKB: 3), activeBytes: 500,
            activeModifiedAt: Self.hour14 + 10, directoryEntries: entries)
        #expect(state.rolled.map(\.name.fileName) == [
            "g_2022_08_05_13_0.log", "g_2022_08_05_14_0.log", "g_2022_08_05_14_1.log", "g_2022_08_05_14_2.log", "g_2022_08_05_14_10.log",
        ])
        let deletions = state.enforceTotalCap()
        #expect(deletions.map { if case .delete(let n) = $0 { n.fileName } else { "" } } == ["g_2022_08_05_13_0.log", "g_2022_08_05_14_0.log"])
        // The next roll in hour 14 continues after the highest index.
        let actions = state.prepareWrite(byteCount: 1000, now: Self.hour14 + 20)
        #expect(actions.first == .rollActive(to: RolledLogFileName(baseName: "g", epochHour: Self.hour14 / Self.hourMs, index: 11)))
    }

    @Test("an adopted non-empty active file from an earlier hour rolls under that hour")
    func adoptedActiveFromEarlierHour() {
        var state = LogRotationState(
            baseName: "g", policy: LogRotationPolicy(), activeBytes: 100, activeModifiedAt: Self.hour14 - 1)
        let actions = state.prepareWrite(byteCount: 10, now: Self.hour14 + 1)
        #expect(actions == [.rollActive(to: RolledLogFileName(baseName: "g", epochHour: Self.hour14 / Self.hourMs - 1, index: 0))])
    }
}
