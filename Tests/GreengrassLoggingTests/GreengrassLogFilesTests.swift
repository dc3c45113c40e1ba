import Foundation
import GreengrassLogFormat
import GreengrassLogging
import Logging
import Testing

@Suite("GreengrassLogFiles: files, format, metadata, levels")
struct GreengrassLogFilesTests {
    /// 2022-08-05T14:07:53.230Z
    static let t0: Int64 = 1_659_708_473_230

    @Test("component output lines match the real Greengrass line byte for byte")
    func componentOutputLine() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let clock = ManualClock(Self.t0)
        let logs = GreengrassLogFiles.inTemp(dir, clock: clock)
        var logger = logs.componentLogger(name: "com.iotcore.Publisher")
        logger[metadataKey: "currentState"] = "RUNNING"
        logger.logComponentOutput("publish: hello", stream: .stdout, scriptName: "services.com.iotcore.Publisher.lifecycle.Run")
        clock.advance(by: 770)
        logger.logComponentOutput("oops", stream: .stderr, scriptName: "services.com.iotcore.Publisher.lifecycle.Run")
        logs.close()

        #expect(dir.files() == ["com.iotcore.Publisher.log"])
        #expect(
            dir.lines("logs/com.iotcore.Publisher.log") == [
                "2022-08-05T14:07:53.230Z [INFO] (Copier) com.iotcore.Publisher: stdout. publish: hello. {scriptName=services.com.iotcore.Publisher.lifecycle.Run, serviceName=com.iotcore.Publisher, currentState=RUNNING}",
                "2022-08-05T14:07:54Z [WARN] (Copier) com.iotcore.Publisher: stderr. oops. {scriptName=services.com.iotcore.Publisher.lifecycle.Run, serviceName=com.iotcore.Publisher, currentState=RUNNING}",
            ])
    }

    @Test("nucleus events go to greengrass.log, component events to <name>.log, never mixed")
    func routing() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let logs = GreengrassLogFiles.inTemp(dir, clock: ManualClock(Self.t0))
        let kernel = logs.nucleusLogger(label: "com.aws.greengrass.lifecyclemanager.Kernel")
        kernel.info("Launch Nucleus", metadata: ["eventType": "system-start"])
        var foo = logs.componentLogger(name: "com.example.Foo")
        foo[metadataKey: "currentState"] = "STARTING"
        foo.info("shell-runner-start", metadata: ["eventType": "shell-runner-start", "thread": "pool-2-thread-1", "scriptName": "services.com.example.Foo.lifecycle.Run"])
        let bar = logs.componentLogger(name: "com.example.Bar")
        bar.debug("invisible at INFO")
        bar.error("failed", metadata: ["exitCode": "1"])
        logs.close()

        #expect(dir.files() == ["com.example.Bar.log", "com.example.Foo.log", "greengrass.log"])
        let nucleus = try dir.lines("logs/greengrass.log").map { try GreengrassLogLine(parsingText: $0) }
        #expect(nucleus == [
            GreengrassLogLine(
                timestamp: Self.t0, level: .info, thread: "main", loggerName: "com.aws.greengrass.lifecyclemanager.Kernel",
                eventType: "system-start", message: "Launch Nucleus"),
        ])
        let foo1 = try dir.lines("logs/com.example.Foo.log").map { try GreengrassLogLine(parsingText: $0) }
        #expect(foo1.count == 1)
        #expect(foo1.first?.thread == "pool-2-thread-1")
        #expect(foo1.first?.eventType == "shell-runner-start")
        #expect(foo1.first?.contexts.map(\.key) == ["scriptName", "serviceName", "currentState"])
        let bar1 = try dir.lines("logs/com.example.Bar.log").map { try GreengrassLogLine(parsingText: $0) }
        #expect(bar1.map(\.level) == [.error])
        #expect(bar1.first?.thread == "com.example.Bar-lifecycle")
        #expect(bar1.first?.contexts == [.init("exitCode", "1"), .init("serviceName", "com.example.Bar")])
    }

    @Test("insertion context order: logger metadata in insertion order, then per-call sorted by key")
    func insertionOrder() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let logs = GreengrassLogFiles.inTemp(dir, clock: ManualClock(Self.t0), contextOrder: .insertion)
        var logger = logs.nucleusLogger(label: "L")
        logger[metadataKey: "zeta"] = "1"
        logger[metadataKey: "alpha"] = "2"
        logger[metadataKey: "mid"] = "3"
        logger[metadataKey: "alpha"] = "2b"  // update keeps its position
        logger[metadataKey: "mid"] = nil  // removal
        logger.info("m", metadata: ["y": "p1", "b": "p2", "zeta": "override"])
        logs.close()
        let line = try GreengrassLogLine(parsingText: try #require(dir.lines("logs/greengrass.log").first))
        #expect(line.contexts == [.init("zeta", "override"), .init("alpha", "2b"), .init("b", "p2"), .init("y", "p1")])
    }

    @Test("metadata values render like Java: arrays and nested maps")
    func metadataValues() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let logs = GreengrassLogFiles.inTemp(dir, clock: ManualClock(Self.t0), contextOrder: .insertion)
        let logger = logs.nucleusLogger(label: "L")
        logger.warning("m", metadata: ["a": ["x", "y"], "b": ["k2": "v2", "k1": ["z"]], "c": .stringConvertible(42)])
        logs.close()
        #expect(dir.lines("logs/greengrass.log") == ["2022-08-05T14:07:53.230Z [WARN] (main) L: m. {a=[x, y], b={k1=[z], k2=v2}, c=42}"])
    }

    @Test("JSON format writes one parseable JSON object per line")
    func jsonFormat() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let logs = GreengrassLogFiles.inTemp(dir, clock: ManualClock(Self.t0), format: .json)
        let logger = logs.nucleusLogger(label: "com.aws.greengrass.Kernel")
        logger.info("multi\nline \"quoted\"", metadata: ["eventType": "e", "k": "v"])
        logs.close()
        let lines = dir.lines("logs/greengrass.log")
        #expect(lines.count == 1)
        let object = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(object["message"] as? String == "multi\nline \"quoted\"")
        #expect(object["eventType"] as? String == "e")
        #expect(object["contexts"] as? [String: String] == ["k": "v"])
        #expect((object["timestamp"] as? NSNumber)?.int64Value == Self.t0)
        #expect(object["level"] as? String == "INFO")
        #expect(object["thread"] as? String == "main")
        #expect(object["loggerName"] as? String == "com.aws.greengrass.Kernel")
        #expect(object["cause"] is NSNull)
    }

    @Test("level filtering follows setLevel at runtime; an explicit logger level pins it")
    func levels() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let logs = GreengrassLogFiles.inTemp(dir, clock: ManualClock(Self.t0), level: .warn)
        let logger = logs.nucleusLogger(label: "L")
        var pinned = logs.nucleusLogger(label: "P")
        pinned.logLevel = .trace
        logger.info("dropped 1")
        logger.warning("kept 1")
        pinned.trace("kept pinned")
        logs.setLevel(.debug)
        #expect(logs.level == .debug)
        #expect(logger.logLevel == .debug)
        logger.trace("dropped 2")
        logger.debug("kept 2")
        logger.notice("kept 3")
        logger.critical("kept 4")
        logs.setLevel(.error)
        logger.warning("dropped 3")
        logs.close()
        let lines = try dir.lines("logs/greengrass.log").map { try GreengrassLogLine(parsingText: $0) }
        #expect(lines.map(\.message) == ["kept 1", "kept pinned", "kept 2", "kept 3", "kept 4"])
        #expect(lines.map(\.level) == [.warn, .trace, .debug, .info, .error])
    }

    @Test("log handler treats level and metadata as values")
    func valueSemantics() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let logs = GreengrassLogFiles.inTemp(dir, clock: ManualClock(Self.t0))
        var logger1 = logs.nucleusLogger(label: "first")
        logger1.logLevel = .debug
        logger1[metadataKey: "only-on"] = "first"
        var logger2 = logger1
        logger2.logLevel = .error
        logger2[metadataKey: "only-on"] = "second"
        #expect(logger1.logLevel == .debug)
        #expect(logger2.logLevel == .error)
        #expect(logger1[metadataKey: "only-on"] == "first")
        #expect(logger2[metadataKey: "only-on"] == "second")
        logs.close()
    }

    @Test("directory is created 0700, files 0640; events after close are dropped; closeComponentLog reopens")
    func modesAndClose() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let logs = GreengrassLogFiles.inTemp(dir, clock: ManualClock(Self.t0))
        let foo = logs.componentLogger(name: "com.example.Foo")
        foo.info("one")
        #expect(dir.mode("logs") == 0o700)
        #expect(dir.mode("logs/com.example.Foo.log") == 0o640)
        logs.closeComponentLog(name: "com.example.Foo")
        try FileManager.default.removeItem(atPath: dir.path + "/logs/com.example.Foo.log")
        foo.info("two")  // reopened: a fresh file
        #expect(dir.lines("logs/com.example.Foo.log").count == 1)
        logs.flush()
        logs.close()
        foo.info("three")
        logs.nucleusLogger(label: "L").info("after close")
        #expect(dir.lines("logs/com.example.Foo.log").count == 1)
        #expect(!dir.files().contains("greengrass.log"))
        #expect(logs.writeErrorCount == 0)
    }

    @Test("unsafe component names cannot escape the log directory")
    func unsafeNames() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let logs = GreengrassLogFiles.inTemp(dir, clock: ManualClock(Self.t0))
        for name in ["../escape", "a/b", "..", ".", ""] {
            logs.componentLogger(name: name).info("x")
        }
        logs.close()
        #expect(dir.files("") == ["logs"])
        #expect(dir.files() == ["___.log", "__.log", "_.log", ".._escape.log", "a_b.log"].sorted())
    }

    @Test("over-long messages are cut, with the number of dropped bytes")
    func longMessages() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let logs = GreengrassLogFiles.inTemp(dir, clock: ManualClock(Self.t0), maxMessageBytes: 100)
        logs.nucleusLogger(label: "L").info("\(String(repeating: "é", count: 200))")
        logs.close()
        let line = try GreengrassLogLine(parsingText: try #require(dir.lines("logs/greengrass.log").first))
        #expect(line.message == String(repeating: "é", count: 50) + "…(300 bytes truncated)")
    }

    @Test("a failing disk is counted and reported, never fatal")
    func writeErrors() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        try FileManager.default.createDirectory(atPath: dir.path + "/logs", withIntermediateDirectories: true)
        // Every write to /dev/full fails with ENOSPC.
        try FileManager.default.createSymbolicLink(atPath: dir.path + "/logs/greengrass.log", withDestinationPath: "/dev/full")
        let logs = GreengrassLogFiles.inTemp(dir, clock: ManualClock(Self.t0))
        let logger = logs.nucleusLogger(label: "L")
        for index in 0..<5 { logger.info("line \(index)") }
        #expect(logs.writeErrorCount == 5)
        #expect(logs.lastWriteError?.contains("greengrass.log") == true)
        #expect(logs.lastWriteError?.contains("errno \(ENOSPC)") == true)

        // A log directory that is a regular file cannot be opened: counted, and retried at most once a second.
        let blocked = try TempDir()
        defer { blocked.remove() }
        #expect(FileManager.default.createFile(atPath: blocked.path + "/logs", contents: Data()))
        let clock = ManualClock(Self.t0)
        let blockedLogs = GreengrassLogFiles.inTemp(blocked, clock: clock)
        let blockedLogger = blockedLogs.componentLogger(name: "c")
        for _ in 0..<10 { blockedLogger.info("x") }
        #expect(blockedLogs.writeErrorCount == 1)
        clock.advance(by: 1000)
        blockedLogger.info("x")
        #expect(blockedLogs.writeErrorCount == 2)
        logs.close()
        blockedLogs.close()
    }

    @Test("CONSOLE output sends nucleus and component lines to one descriptor and creates no files")
    func console() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer {
            close(fds[0])
            close(fds[1])
        }
        let logs = GreengrassLogFiles(
            configuration: GreengrassLogConfiguration(
                outputDirectory: dir.path + "/logs", outputType: .console, consoleDescriptor: fds[1]),
            now: ManualClock(Self.t0).function)
        logs.nucleusLogger(label: "Kernel").info("up")
        logs.componentLogger(name: "com.example.Foo").warning("careful")
        logs.close()
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = read(fds[0], &buffer, buffer.count)
        #expect(
            String(decoding: buffer.prefix(max(0, count)), as: UTF8.self)
                == "2022-08-05T14:07:53.230Z [INFO] (main) Kernel: up. {}\n"
                + "2022-08-05T14:07:53.230Z [WARN] (com.example.Foo-lifecycle) com.example.Foo: careful. {serviceName=com.example.Foo}\n")
        #expect(dir.files("") == [])
    }

    @Test("metadata provider values become contexts between logger and per-call metadata")
    func metadataProvider() throws {
        let dir = try TempDir()
        defer { dir.remove() }
        let logs = GreengrassLogFiles.inTemp(dir, clock: ManualClock(Self.t0), contextOrder: .insertion)
        let provider = Logger.MetadataProvider { ["deploymentId": "d-1", "thread": "pool-1-thread-2"] }
        var logger = Logger(label: "com.aws.greengrass.deployment.DeploymentService") { label in
            logs.nucleusLogHandler(label: label, metadataProvider: provider)
        }
        logger[metadataKey: "serviceName"] = "DeploymentService"
        logger.info("Deployment started", metadata: ["eventType": "deployment-start"])
        logs.close()
        #expect(
            dir.lines("logs/greengrass.log") == [
                "2022-08-05T14:07:53.230Z [INFO] (pool-1-thread-2) com.aws.greengrass.deployment.DeploymentService: deployment-start. Deployment started. {serviceName=DeploymentService, deploymentId=d-1}",
            ])
    }

    @Test("an error attached to the event becomes an error context")
    func errorContext() throws {
        struct Boom: Error, CustomStringConvertible {
            var description: String { "boom happened" }
        }
        let dir = try TempDir()
        defer { dir.remove() }
        let logs = GreengrassLogFiles.inTemp(dir, clock: ManualClock(Self.t0))
        logs.nucleusLogger(label: "L").error("failed", error: Boom())
        logs.close()
        #expect(dir.lines("logs/greengrass.log") == ["2022-08-05T14:07:53.230Z [ERROR] (main) L: failed. {error=boom happened}"])
    }
}
