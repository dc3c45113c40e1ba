import ArgumentParser
import Foundation
import Testing

@testable import GreengrassCLICommands

/// A temporary log directory that removes itself.
private final class LogFixture {
    let directory: String

    init() throws {
        directory = NSTemporaryDirectory() + "logs-test-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: directory) }

    func path(_ name: String) -> String { directory + "/" + name }

    func write(_ name: String, _ lines: [String]) throws {
        try Data(lines.map { $0 + "\n" }.joined().utf8).write(to: URL(fileURLWithPath: path(name)))
    }

    func append(_ name: String, _ text: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path(name)))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
        try handle.close()
    }
}

/// Captures what a command prints.
private final class Capture {
    var standardOutput: [String] = []
    var standardError: [String] = []
    var sleeps = 0

    func environment(now: Int64 = 1_704_164_645_678, onSleep: @escaping (Int) throws -> Void = { _ in }) -> LogsEnvironment {
        LogsEnvironment(
            now: { now },
            sleep: { _ in
                self.sleeps += 1
                try onSleep(self.sleeps)
            },
            standardOutput: { self.standardOutput.append($0) }, standardError: { self.standardError.append($0) })
    }
}

/// `2024-01-02T03:00:0<second>Z` in TEXT.
private func text(_ second: Int, _ message: String, level: String = "INFO", service: String = "greengrass") -> String {
    "2024-01-02T03:00:0\(second)Z [\(level)] (main) com.aws.greengrass.Main: \(message). {serviceName=\(service)}"
}

/// The same event in JSON.
private func json(_ second: Int, _ message: String, level: String = "INFO", service: String = "com.example.A") -> String {
    #"{"thread":"Copier","level":"\#(level)","eventType":"stdout","message":"\#(message)","contexts":{"serviceName":"\#(service)"},"loggerName":"com.example.A","timestamp":\#(1_704_164_400_000 + Int64(second) * 1000),"cause":null}"#
}

/// The fixture event names (`t1`, `j5`, …) of printed lines, in order.
private func eventNames(_ lines: [String]) -> [String] {
    lines.compactMap { line in
        line.split(separator: " ").first { $0.count == 3 && ($0.hasPrefix("t") || $0.hasPrefix("j")) && $0.hasSuffix(".") }.map { String($0.dropLast()) }
    }
}

private func run(_ arguments: [String], _ capture: Capture, environment: LogsEnvironment? = nil) async throws {
    let command = try LogsCommand.Get.parse(arguments)
    try await command.execute(environment ?? capture.environment())
}

@Suite("greengrass-cli logs on log directories")
struct LogsCommandTests {
    /// Two logs, each with a rolled and an active file, one TEXT and one JSON, with interleaved times.
    private func mixedDirectory() throws -> LogFixture {
        let fixture = try LogFixture()
        try fixture.write("greengrass_2024_01_02_03_0.log", [text(1, "t1"), text(4, "t4")])
        try fixture.write("greengrass.log", [text(6, "t6"), ""])
        try fixture.write("com.example.A_2024_01_02_03_0.log", [json(0, "j0"), json(2, "j2")])
        try fixture.write("com.example.A.log", [json(3, "j3"), json(5, "j5", level: "ERROR")])
        try fixture.write("notes.txt", ["not a log"])
        return fixture
    }

    @Test func bothFormatsAndRotatedFilesAreMergedInTimeOrder() async throws {
        let fixture = try mixedDirectory()
        let capture = Capture()
        try await run(["-ld", fixture.directory, "-nc"], capture)
        #expect(eventNames(capture.standardOutput) == ["j0", "t1", "j2", "j3", "t4", "j5", "t6"])
        #expect(capture.standardOutput[0] == "2024-01-02 03:00:00 UTC [INFO] example.A: stdout. j0. {serviceName=com.example.A}")
        #expect(capture.standardOutput[1] == "2024-01-02 03:00:01 UTC [INFO] greengrass.Main: t1. {serviceName=greengrass}")
        #expect(capture.standardError.isEmpty)
    }

    @Test func verboseShowsWholeTextLines() async throws {
        let fixture = try mixedDirectory()
        let capture = Capture()
        try await run(["-lf", fixture.path("greengrass.log"), "-lf", fixture.path("greengrass_2024_01_02_03_0.log"), "-v", "-nc"], capture)
        #expect(capture.standardOutput == [text(1, "t1"), text(4, "t4"), text(6, "t6")])
    }

    @Test func filtersWindowsAndContextLines() async throws {
        let fixture = try mixedDirectory()
        let capture = Capture()
        try await run(["-ld", fixture.directory, "-f", "level=ERROR,t4", "-nc", "-v"], capture)
        #expect(capture.standardOutput == [
            text(4, "t4"), "2024-01-02T03:00:05Z [ERROR] (Copier) com.example.A: stdout. j5. {serviceName=com.example.A}",
        ])

        let andCapture = Capture()
        try await run(["-ld", fixture.directory, "-f", "serviceName=greengrass", "-f", "t[46]", "-nc", "-v"], andCapture)
        #expect(andCapture.standardOutput == [text(4, "t4"), text(6, "t6")])

        let windowCapture = Capture()
        try await run(["-ld", fixture.directory, "-t", "2024-01-02T03:00:01Z,2024-01-02T03:00:04Z", "-nc", "-v"], windowCapture)
        #expect(eventNames(windowCapture.standardOutput) == ["j2", "j3"])

        // Context is taken within each log: j3 precedes j5 in com.example.A; t1 precedes and t6 follows t4 in greengrass.
        let contextCapture = Capture()
        try await run(["-ld", fixture.directory, "-f", "j5,t4", "-b", "1", "-a", "1", "-nc"], contextCapture)
        #expect(eventNames(contextCapture.standardOutput) == ["t1", "j3", "t4", "j5", "t6"])
    }

    @Test func matchesAreHighlightedUnlessNoColor() async throws {
        let fixture = try mixedDirectory()
        let capture = Capture()
        try await run(["-lf", fixture.path("greengrass.log"), "-f", "t6"], capture)
        #expect(capture.standardOutput == ["2024-01-02 03:00:06 UTC [INFO] greengrass.Main: \u{1B}[31m\u{1B}[1mt6\u{1B}[0m\u{1B}[0m. {serviceName=greengrass}"])
    }

    @Test func followKeepsUpWithRotation() async throws {
        let fixture = try LogFixture()
        try fixture.write("greengrass.log", [text(1, "a")])
        let capture = Capture()
        let environment = capture.environment { step in
            switch step {
            case 1: try fixture.append("greengrass.log", text(2, "b") + "\n" + text(3, "c").prefix(20))
            case 2:
                // The writer completes its line, renames the file, writes one more line to the renamed file through
                // its open handle, and starts a new active file.
                try fixture.append("greengrass.log", String(text(3, "c").dropFirst(20)) + "\n")
                try FileManager.default.moveItem(atPath: fixture.path("greengrass.log"), toPath: fixture.path("greengrass_2024_01_02_03_0.log"))
                try fixture.append("greengrass_2024_01_02_03_0.log", text(4, "d") + "\n")
                try fixture.write("greengrass.log", [text(5, "e")])
            case 3: try fixture.append("greengrass.log", text(6, "f") + "\n")
            default: throw CancellationError()
            }
        }
        await #expect(throws: CancellationError.self) {
            try await run(["-ld", fixture.directory, "--follow", "-v", "-nc"], capture, environment: environment)
        }
        #expect(capture.standardOutput == [text(1, "a"), text(2, "b"), text(3, "c"), text(4, "d"), text(5, "e"), text(6, "f")])
        #expect(capture.sleeps == 4)
    }

    @Test func followEndsWithItsTimeWindow() async throws {
        let fixture = try LogFixture()
        try fixture.write("greengrass.log", [text(1, "a")])
        let capture = Capture()
        // The window ended before "now": nothing is followed.
        try await run(["-ld", fixture.directory, "--follow", "-t", "2024-01-01,2024-01-02"], capture)
        #expect(capture.sleeps == 0 && capture.standardOutput.isEmpty)
    }

    @Test func oversizedLinesAreSkippedWithANote() async throws {
        let fixture = try LogFixture()
        try fixture.write("greengrass.log", [text(1, "a"), String(repeating: "x", count: 3 << 20), text(2, "b")])
        let capture = Capture()
        try await run(["-ld", fixture.directory, "-v", "-nc"], capture)
        #expect(capture.standardOutput == [text(1, "a"), text(2, "b")])
        #expect(capture.standardError == ["Skipped a line of \((3 << 20)) bytes in \(fixture.path("greengrass.log")): longer than 1048576 bytes."])
    }

    @Test func badInputNamesTheInputExitsNonZeroAndPrintsNothing() async throws {
        let fixture = try mixedDirectory()
        let missing = fixture.path("no-such-dir")
        let cases: [([String], String)] = [
            (["-ld", missing], missing),
            (["-lf", fixture.path("gone.log")], fixture.path("gone.log")),
            (["-lf", fixture.directory], fixture.directory),
            (["-ld", fixture.directory, "-t", "yesterday,today"], "yesterday,today"),
            (["-ld", fixture.directory, "-f", "a=b=c"], "a=b=c"),
            (["-ld", fixture.directory, "-m", "0"], "max-log-queue-size"),
            ([], "Please provide a log file or directory"),
        ]
        for (arguments, named) in cases {
            let capture = Capture()
            do {
                try await run(arguments, capture)
                Issue.record("\(arguments) succeeded")
            } catch {
                #expect(LogsCommand.Get.exitCode(for: error) != .success, "\(arguments)")
                #expect(LogsCommand.Get.message(for: error).contains(named), "\(arguments): \(LogsCommand.Get.message(for: error))")
            }
            #expect(capture.standardOutput.isEmpty && capture.standardError.isEmpty)
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: fixture.directory).count == 5)
    }

    @Test func unreadableFileIsRefused() async throws {
        guard getuid() != 0 else { return }  // root reads any file; the directory case above covers it.
        let fixture = try mixedDirectory()
        chmod(fixture.path("greengrass.log"), 0)
        let capture = Capture()
        await #expect {
            try await run(["-ld", fixture.directory], capture)
        } throws: { error in
            "\(error)".contains(fixture.path("greengrass.log"))
        }
        #expect(capture.standardOutput.isEmpty)
    }

    @Test func listLogFilesAndKeywords() throws {
        let fixture = try mixedDirectory()
        let listing = try LogsCommand.ListLogFiles.parse(["-ld", fixture.directory]).listing()
        #expect(listing == [
            "com.example.A.log", "com.example.A_2024_01_02_03_0.log", "greengrass.log", "greengrass_2024_01_02_03_0.log",
        ].map { fixture.path($0) + "\n" }.joined() + "Total 4 files found.\n")
        let empty = try LogFixture()
        #expect(try LogsCommand.ListLogFiles.parse(["-ld", empty.directory]).listing() == "No log file found.\n")
        #expect(throws: LogInputError.self) { try LogsCommand.ListLogFiles.parse(["--log-dir", empty.path("missing")]).listing() }
        #expect(throws: (any Error).self) { try LogsCommand.ListLogFiles.parse([]) }
    }
}
