import Foundation
import GreengrassLogFormat
import GreengrassLogging
import Logging
import Testing

@Suite("GreengrassLogFiles: rotation on disk, concurrency, bounded memory")
struct RotationAndLoadTests {
    /// 2022-08-05T14:00:00Z
    static let hour14: Int64 = 1_659_708_000_000

    @Test("rolls to <name>_yyyy_MM_dd_HH_i.log at fileSizeKB and caps the rolled total at totalLogsSizeKB")
    func rotationOnDisk() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let clock = ManualClock(Self.hour14 + 1)  // .001Z: every line has the same length
        let logs = GreengrassLogFiles.inTemp(dir, clock: clock, fileSizeKB: 1, totalLogsSizeKB: 3)
        let logger = logs.componentLogger(name: "com.example.Foo")
        let message = String(repeating: "m", count: 120)
        var written: [String] = []
        for index in 0..<100 {
            logger.info("\(message) \(String(format: "%04d", index))")
            written.append("\(index)")
        }
        logs.close()

        let files = dir.files()
        #expect(files.first == "com.example.Foo.log")
        let rolled = files.dropFirst().compactMap { RolledLogFileName(parsing: $0, baseName: "com.example.Foo") }
        #expect(rolled.count == files.count - 1, "unexpected files: \(files)")
        #expect(rolled.allSatisfy { $0.fileName.hasPrefix("com.example.Foo_2022_08_05_14_") })
        // Each file ≤ 1 KiB; rolled total ≤ 3 KiB; the newest lines survive, oldest files were deleted.
        for file in files { #expect(dir.size("logs/" + file) <= 1024, "\(file)") }
        let rolledTotal = files.dropFirst().map { dir.size("logs/" + $0) }.reduce(0, +)
        #expect(rolledTotal <= 3 * 1024)
        #expect(rolledTotal > 2 * 1024)
        let indexes = rolled.map(\.index).sorted()
        #expect(indexes == Array(indexes.first!...indexes.last!))
        #expect(indexes.first! > 0)
        // Lines read back in order across rolled files then the active one, ending with the last line written.
        let ordered = rolled.sorted().map { "logs/" + $0.fileName } + ["logs/com.example.Foo.log"]
        let numbers = try ordered.flatMap { try dir.lines($0).map { try GreengrassLogLine(parsingText: $0) } }
            .compactMap { $0.message.flatMap { Int($0.suffix(4)) } }
        #expect(numbers == Array((100 - numbers.count)..<100))
    }

    @Test("an hour change rolls; a restart adopts existing rolled files and continues their indexes")
    func hourlyAndRestart() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let clock = ManualClock(Self.hour14 + 10)
        let first = GreengrassLogFiles.inTemp(dir, clock: clock, fileSizeKB: 1)
        let logger = first.nucleusLogger(label: "L")
        logger.info("in hour 14")
        clock.set(Self.hour14 + 3_600_000 + 10)
        logger.info("in hour 15")
        first.close()
        #expect(dir.files() == ["greengrass.log", "greengrass_2022_08_05_14_0.log"])
        #expect(dir.lines("logs/greengrass_2022_08_05_14_0.log").count == 1)

        // The active file was last written in hour 15 of the manual clock; make its mtime say so.
        try FileManager.default.setAttributes(
            [.modificationDate: Date(timeIntervalSince1970: Double(clock.now) / 1000)], ofItemAtPath: dir.path + "/logs/greengrass.log")
        // Restart in hour 15 with a small file limit: the active file (hour 15) rolls to ..._15_0, then ..._15_1.
        let second = GreengrassLogFiles.inTemp(dir, clock: clock, fileSizeKB: 1)
        let again = second.nucleusLogger(label: "L")
        for _ in 0..<30 { again.info("\(String(repeating: "x", count: 100))") }
        second.close()
        let files = dir.files()
        #expect(files.contains("greengrass_2022_08_05_14_0.log"))
        #expect(files.contains("greengrass_2022_08_05_15_0.log"))
        #expect(files.contains("greengrass_2022_08_05_15_1.log"))
        #expect(dir.lines("logs/greengrass_2022_08_05_15_0.log").first?.contains("in hour 15") == true)
    }

    @Test("a restart with a smaller total cap deletes the oldest rolled files first")
    func startupCleanup() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try FileManager.default.createDirectory(atPath: dir.path + "/logs", withIntermediateDirectories: true)
        let names = ["c_2022_08_05_13_0.log", "c_2022_08_05_13_1.log", "c_2022_08_05_14_0.log", "c_2022_08_05_14_1.log", "unrelated_2022_08_05_13_0.log"]
        for name in names {
            #expect(FileManager.default.createFile(atPath: dir.path + "/logs/" + name, contents: Data(repeating: 0x41, count: 1024)))
        }
        let logs = GreengrassLogFiles.inTemp(dir, clock: ManualClock(Self.hour14), totalLogsSizeKB: 2)
        logs.componentLogger(name: "c").info("start")
        logs.close()
        #expect(dir.files() == ["c.log", "c_2022_08_05_14_0.log", "c_2022_08_05_14_1.log", "unrelated_2022_08_05_13_0.log"])
    }

    @Test("many concurrent writers never interleave partial lines")
    func concurrentWriters() async throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let logs = GreengrassLogFiles.inTemp(dir, clock: ManualClock(Self.hour14 + 5), fileSizeKB: 10240, totalLogsSizeKB: 102_400)
        let writers = 16
        let linesPerWriter = 1000
        await withTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    var logger = logs.componentLogger(name: "com.example.Shared")
                    logger[metadataKey: "writer"] = "\(writer)"
                    for index in 0..<linesPerWriter {
                        logger.info("w\(writer) i\(index) \(String(repeating: "p", count: index % 300))")
                    }
                }
            }
        }
        logs.close()
        let lines = dir.lines("logs/com.example.Shared.log")
        #expect(lines.count == writers * linesPerWriter)
        var nextIndex = Array(repeating: 0, count: writers)
        for text in lines {
            let line = try GreengrassLogLine(parsingText: text)
            let parts = try #require(line.message?.split(separator: " "))
            let writer = try #require(Int(parts[0].dropFirst()))
            let index = try #require(Int(parts[1].dropFirst()))
            #expect(line.contexts.first { $0.key == "writer" }?.value == "\(writer)")
            #expect(index == nextIndex[writer], "writer \(writer) out of order")
            #expect(parts.count == (index % 300 == 0 ? 2 : 3))
            nextIndex[writer] = index + 1
        }
        #expect(nextIndex == Array(repeating: linesPerWriter, count: writers))
    }

    @Test("a 32 MB burst is on disk when the calls return and memory stays bounded")
    func burst() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let logs = GreengrassLogFiles.inTemp(dir, clock: ManualClock(Self.hour14 + 7), fileSizeKB: 1024, totalLogsSizeKB: 64 * 1024)
        var logger = logs.componentLogger(name: "com.example.Flood")
        logger[metadataKey: "currentState"] = "RUNNING"
        let payload = String(repeating: "0123456789abcdef", count: 64)  // 1 KiB of output per line
        var splitter = OutputLineSplitter()
        let chunk = Array((payload + "\n").utf8)
        let before = residentBytes()
        var peak = before
        var logged = 0
        let start = ContinuousClock.now
        for round in 0..<32_768 {
            for line in splitter.feed(chunk) {
                logger.logComponentOutput(line, stream: .stdout, scriptName: "services.com.example.Flood.lifecycle.Run")
                logged += 1
            }
            if round % 1024 == 0 { peak = max(peak, residentBytes()) }
        }
        let elapsed = ContinuousClock.now - start
        peak = max(peak, residentBytes())
        let onDisk = dir.files().map { dir.size("logs/" + $0) }.reduce(0, +)
        logs.close()

        #expect(logged == 32_768)
        let lineBytes = Int64(
            GreengrassLogLine(
                timestamp: Self.hour14 + 7, level: .info, thread: "Copier", loggerName: "com.example.Flood", eventType: "stdout",
                message: payload,
                contexts: [.init("scriptName", "services.com.example.Flood.lifecycle.Run"), .init("serviceName", "com.example.Flood"), .init("currentState", "RUNNING")]
            ).renderText().utf8.count + 1)
        // Nothing is queued: every byte is in the files when the calls return.
        #expect(onDisk == lineBytes * 32_768)
        #expect(dir.files().count > 32)
        // 37 MB went through; resident memory grew by far less (process-wide RSS, so other suites running in
        // parallel add noise: the bound leaves room for them but not for a buffered copy of the burst).
        #expect(peak - before < 24 * 1024 * 1024, "RSS grew by \(peak - before) bytes")
        // A hang detector only: a debug build on a shared 2-core machine is slow.
        #expect(elapsed < .seconds(120), "took \(elapsed)")
        print("burst: \(lineBytes * 32_768) bytes in \(elapsed), RSS +\(peak - before) bytes")
    }
}
