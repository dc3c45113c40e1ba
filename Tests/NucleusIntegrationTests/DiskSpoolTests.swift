import Foundation
import GreengrassTestSupport
import Testing

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Issue 13: `storageType: Disk`. QoS 1 messages acknowledged to a component survive `kill -9` of the nucleus.
@Suite("Disk spool: acknowledged QoS 1 messages survive kill -9 and power cuts", .serialized)
struct DiskSpoolTests {
    static let count = 5_000

    /// The numbered publisher as a deployable component.
    func deployPublisher(_ nucleus: NucleusProcess, in directory: TemporaryDirectory, topic: String, count: Int, expiry: Int? = nil) async throws {
        let input = try ComponentFolder(in: directory)
        let script = try String(contentsOfFile: repositoryRoot + "/Tests/NucleusIntegrationTests/Components/numbered_publisher.py", encoding: .utf8)
        try input.artifact("com.example.Numbered", "1.0.0", "numbered_publisher.py", script)
        try input.recipe("numbered.yaml", """
            RecipeFormatVersion: "2020-01-25"
            ComponentName: com.example.Numbered
            ComponentVersion: "1.0.0"
            ComponentConfiguration:
              DefaultConfiguration:
                accessControl:
                  aws.greengrass.ipc.mqttproxy:
                    com.example.Numbered:mqttproxy:1:
                      operations: ["aws.greengrass#PublishToIoTCore"]
                      resources: ["\(topic)"]
            Manifests:
              - Lifecycle:
                  Run: python3 -u {artifacts:path}/numbered_publisher.py \(topic) \(count)\(expiry.map { " \($0)" } ?? "")
            """)
        let (_, status) = try await nucleus.deploy(["--recipeDir", input.recipes, "--artifactDir", input.artifacts, "--merge", "com.example.Numbered=1.0.0"])
        #expect(status.contains(": SUCCEEDED"), "\(status)")
    }

    func acknowledged(_ nucleus: NucleusProcess) -> Set<Int> {
        Set(nucleus.log("com.example.Numbered").components(separatedBy: "\n").compactMap { line in
            line.range(of: "stdout. ACKED ").flatMap { Int(line[$0.upperBound...].prefix { $0.isNumber }) }
        })
    }

    /// Broker down, 5,000 numbered QoS 1 publishes, power-cut copies of the spool taken while they arrive, `kill -9`,
    /// restart, broker back: an outside subscriber receives every acknowledged message (duplicates counted, none
    /// lost), and every copy opens holding a contiguous run of numbers.
    @Test func everyAcknowledgedMessageArrivesAfterKillNineAndRestart() async throws {
        let broker = try Mosquitto(Mosquitto.Options(persistence: true))
        let directory = try TemporaryDirectory(prefix: "ggds")
        let received = directory.file("received.txt")
        let collector = try PersistentCollector(port: broker.port, topic: "spool/numbered", output: received)
        defer { withExtendedLifetime(collector) {} }
        #expect(await eventually(timeout: .seconds(20)) { broker.log().contains("Subscribe") || broker.log().contains("SUBSCRIBE") })
        // The collector's persistent session is saved; while the broker is down the nucleus spools.
        broker.stop()

        let config = try writeUpstreamConfig(
            in: directory, thingName: "disk-spool-device", port: broker.port,
            extraMQTT: [
                "minimumReconnectDelaySeconds: 0.2", "maximumReconnectDelaySeconds: 1",
                "spooler:", "  storageType: Disk", "  pluginName: aws.greengrass.DiskSpooler", "  maxSizeInBytes: 10485760",
            ])
        let root = directory.file("root")
        let nucleus = NucleusProcess(root: root)
        try nucleus.start(configFile: config)
        defer { nucleus.stop() }
        try await deployPublisher(nucleus, in: directory, topic: "spool/numbered", count: Self.count)

        // Power-cut snapshots: the nucleus frozen (SIGSTOP) mid-load, its spool file and WAL copied as a power cut
        // would leave them, then resumed. Taken at random moments while messages arrive.
        let spoolFile = root + "/work/aws.greengrass.DiskSpooler/spooler.db"
        var snapshots: [String] = []
        var random = SplitMix64(state: UInt64.random(in: 0...UInt64.max))
        let loadDeadline = ContinuousClock.now + .seconds(240)
        while !nucleus.log("com.example.Numbered").contains("LOAD DONE"), ContinuousClock.now < loadDeadline {
            try await Task.sleep(for: .milliseconds(100 + Int(random.next() % 400)))
            guard snapshots.count < 8, let pid = nucleus.pid, FileManager.default.fileExists(atPath: spoolFile) else { continue }
            kill(pid, SIGSTOP)
            let copy = directory.file("snapshot-\(snapshots.count).db")
            for suffix in ["", "-wal"] where FileManager.default.fileExists(atPath: spoolFile + suffix) {
                try? FileManager.default.copyItem(atPath: spoolFile + suffix, toPath: copy + suffix)
            }
            kill(pid, SIGCONT)
            snapshots.append(copy)
        }
        let log = nucleus.log("com.example.Numbered")
        try #require(log.contains("LOAD DONE"), "the load did not finish in time")
        let acked = acknowledged(nucleus)
        #expect(acked.count == Self.count, "every publish is acknowledged (durable on disk): \(acked.count)")
        if let rate = log.components(separatedBy: "\n").first(where: { $0.contains("LOAD DONE") }) { print("disk spool, SDK component: \(rate)") }

        print("power-cut snapshots checked: \(snapshots.count)")
        #expect(!snapshots.isEmpty)
        for snapshot in snapshots {
            let numbers = try spooledNumbers(snapshot)
            let sorted = numbers.sorted()
            #expect(numbers == sorted, "\(snapshot): stored out of order")
            if let first = sorted.first, let last = sorted.last {
                #expect(sorted.count == last - first + 1, "\(snapshot): not a contiguous run (\(sorted.count) numbers from \(first) to \(last))")
                #expect(first == 0, "\(snapshot): nothing was sent yet, so the run starts at 0")
            }
        }

        nucleus.kill()
        try nucleus.start(configFile: config)
        try broker.restart()
        let arrived = await eventually(timeout: .seconds(120)) {
            Set(receivedNumbers(received)).isSuperset(of: acked)
        }
        let lines = receivedNumbers(received)
        let missing = acked.subtracting(lines)
        #expect(arrived, "acknowledged but never arrived: \(missing.count), first \(missing.sorted().prefix(20))")
        print("disk spool after kill -9: \(Set(lines).count) distinct received, \(lines.count - Set(lines).count) duplicates, \(missing.count) lost")
        // In order: each number's first arrival comes after the previous number's first arrival.
        var firstArrival: [Int: Int] = [:]
        for (position, number) in lines.enumerated() where firstArrival[number] == nil { firstArrival[number] = position }
        let outOfOrder = (1..<Self.count).filter { (firstArrival[$0] ?? .max) < (firstArrival[$0 - 1] ?? .max) }
        #expect(outOfOrder.isEmpty, "arrived out of order: \(outOfOrder.prefix(20))")
        #expect(nucleus.log("greengrass").contains("Message spool state"), "the spool's state is logged at connect")
        let stateLines = { nucleus.log("greengrass").components(separatedBy: "\n").filter { $0.contains("Message spool state") } }
        #expect(stateLines().contains { $0.contains("event=connected") && $0.contains("spooledMessages=") && $0.contains("oldestAgeSeconds=") })
        broker.stop()
        #expect(await eventually(timeout: .seconds(20)) { stateLines().contains { $0.contains("event=disconnected") } },
                "the spool's state is logged at disconnect")
    }

    /// MQTT 5 message expiry: messages whose interval passes while the broker is down are dropped from the spool,
    /// counted and never sent; the others arrive (with what is left of their interval).
    @Test func expiredMessagesAreNotSent() async throws {
        let broker = try Mosquitto(Mosquitto.Options(persistence: true))
        let directory = try TemporaryDirectory(prefix: "ggde")
        let received = directory.file("received.txt")
        let collector = try PersistentCollector(port: broker.port, topic: "spool/expiring", output: received)
        defer { withExtendedLifetime(collector) {} }
        #expect(await eventually(timeout: .seconds(20)) { broker.log().contains("Subscribe") || broker.log().contains("SUBSCRIBE") })
        broker.stop()
        let config = try writeUpstreamConfig(
            in: directory, thingName: "expiry-device", port: broker.port,
            extraMQTT: ["minimumReconnectDelaySeconds: 0.2", "maximumReconnectDelaySeconds: 1", "spooler:", "  storageType: Disk"])
        let nucleus = NucleusProcess(root: directory.file("root"))
        try nucleus.start(configFile: config)
        defer { nucleus.stop() }
        // Even numbers live 1 second, odd ones an hour.
        try await deployPublisher(nucleus, in: directory, topic: "spool/expiring", count: 10, expiry: 1)
        #expect(await eventually(timeout: .seconds(60)) { nucleus.log("com.example.Numbered").contains("LOAD DONE") })
        #expect(acknowledged(nucleus).count == 10)
        try await Task.sleep(for: .seconds(2.5))
        try broker.restart()
        #expect(await eventually(timeout: .seconds(60)) { Set(receivedNumbers(received)).isSuperset(of: [1, 3, 5, 7, 9]) })
        // Sent in order, so once 9 arrived nothing before it is still to come.
        try await Task.sleep(for: .seconds(1))
        #expect(Set(receivedNumbers(received)) == [1, 3, 5, 7, 9], "received \(receivedNumbers(received))")
        // Logged at the next disconnect.
        broker.stop()
        #expect(await eventually(timeout: .seconds(20)) { nucleus.log("greengrass").contains("dropped.expired=5") },
                "the expired messages are counted in the spool's state")
    }

    /// 100,000 spooled messages: the nucleus opens its IPC socket as fast as with an empty spool (the spool is opened
    /// by its own service, reading a header row), and its memory stays flat while the backlog drains.
    @Test func aHundredThousandSpooledMessagesNeitherDelayStartUpNorGrowMemoryWhileDraining() async throws {
        let broker = try Mosquitto()
        broker.stop()
        let directory = try TemporaryDirectory(prefix: "ggdh")
        let config = try writeUpstreamConfig(
            in: directory, thingName: "backlog-device", port: broker.port,
            extraMQTT: [
                "minimumReconnectDelaySeconds: 0.2", "maximumReconnectDelaySeconds: 1", "spooler:", "  storageType: Disk",
                "  maxSizeInBytes: 104857600",
            ])
        let empty = NucleusProcess(root: directory.file("empty"))
        let full = NucleusProcess(root: directory.file("full"))
        // First starts create the spool files; then one of them gets 100,000 messages while its nucleus is stopped.
        for nucleus in [empty, full] {
            try nucleus.start(configFile: config)
            #expect(await eventually(timeout: .seconds(20)) { nucleus.log("greengrass").contains("Message spool state") })
            nucleus.stop()
        }
        let fullSpool = directory.file("full") + "/work/aws.greengrass.DiskSpooler/spooler.db"
        try pythonOutput("""
            import sqlite3, sys, time
            db = sqlite3.connect(sys.argv[1])
            now = int(time.time() * 1000)
            with db:
                db.executemany("INSERT INTO spooler (topic, qos, retain, payload, properties, spooled_at, charge) VALUES ('spool/backlog', 1, 0, ?, X'00', ?, ?)",
                               ((str(i).encode(), now, len(str(i)) + 13 + 64) for i in range(100000)))
            """, fullSpool)
        #expect(try spooledCount(fullSpool) == 100_000)

        // Best of three starts each, alternating, so a busy machine slows both alike.
        var emptyTimes: [Duration] = [], fullTimes: [Duration] = []
        for _ in 0..<3 {
            for (nucleus, isFull) in [(empty, false), (full, true)] {
                let started = ContinuousClock.now
                try nucleus.start(configFile: config)
                let elapsed = started.duration(to: .now)
                if isFull { fullTimes.append(elapsed) } else { emptyTimes.append(elapsed) }
                nucleus.stop()
            }
        }
        let (bestEmpty, bestFull) = (emptyTimes.min()!, fullTimes.min()!)
        print("start to IPC socket: empty spool \(bestEmpty), 100,000 spooled \(bestFull)")
        #expect(bestFull < bestEmpty + .milliseconds(50), "empty \(emptyTimes), full \(fullTimes)")

        // Drain against the broker, sampling the nucleus's RSS: it must not grow with the backlog.
        try full.start(configFile: config)
        defer { full.stop() }
        #expect(await eventually(timeout: .seconds(20)) { full.log("greengrass").contains("spooledMessages=100000") })
        let baseline = residentKilobytes(try #require(full.pid))
        try broker.restart()
        var peak = baseline
        let drained = await eventually(timeout: .seconds(180)) {
            peak = max(peak, residentKilobytes(full.pid ?? 0))
            return (try? spooledCount(fullSpool)) == 0
        }
        #expect(drained, "the backlog did not drain in time: \((try? spooledCount(fullSpool)) ?? -1) left")
        print("RSS while draining 100,000 messages: \(baseline) KiB before, \(peak) KiB peak")
        #expect(peak < baseline + 16_384, "RSS grew from \(baseline) KiB to \(peak) KiB while draining")
    }

    /// The spool's file system fills up (a 256 KiB tmpfs mounted over the spool directory; needs root, as mounting
    /// does): further publishes are refused to the component with a clear error, the nucleus keeps running, and every
    /// acknowledged message is in the spool file.
    @Test(.enabled(if: geteuid() == 0, "mounting a tmpfs needs root"))
    func aFullDiskRefusesPublishesCleanlyAndLosesNothingAcknowledged() async throws {
        let directory = try TemporaryDirectory(prefix: "ggdf")
        let root = directory.file("root")
        let spoolDirectory = root + "/work/aws.greengrass.DiskSpooler"
        try FileManager.default.createDirectory(atPath: spoolDirectory, withIntermediateDirectories: true)
        let mounted = try await ChildProcess.run("/usr/bin/mount", ["-t", "tmpfs", "-o", "size=256k", "tmpfs", spoolDirectory], timeout: .seconds(10))
        try #require(mounted.exitCode == 0, "\(mounted.stderr)")
        defer { _ = try? programOutput("/usr/bin/umount", ["-l", spoolDirectory]) }
        let config = try writeUpstreamConfig(
            in: directory, thingName: "full-disk-device", port: try FreePort.tcp(),
            extraMQTT: ["minimumReconnectDelaySeconds: 0.2", "maximumReconnectDelaySeconds: 1", "spooler:", "  storageType: Disk"])
        let nucleus = NucleusProcess(root: root)
        try nucleus.start(configFile: config)
        defer { nucleus.stop() }
        try await deployPublisher(nucleus, in: directory, topic: "spool/full", count: 400)
        #expect(await eventually(timeout: .seconds(120)) { nucleus.log("com.example.Numbered").contains("LOAD DONE") })
        let log = nucleus.log("com.example.Numbered")
        let acked = acknowledged(nucleus)
        let refusals = log.components(separatedBy: "\n").filter { $0.contains("stdout. FAILED ") }
        print("full disk: \(acked.count) acknowledged, \(refusals.count) refused")
        #expect(!acked.isEmpty)
        #expect(!refusals.isEmpty, "a 256 KiB file system must fill up")
        #expect(refusals.allSatisfy { $0.contains("ServiceError") && $0.contains("Publish to topic spool/full failed: Message could not be written to the spool") && $0.contains("full") }, "\(refusals.prefix(3))")
        #expect(nucleus.isRunning)
        #expect(Set(try spooledNumbers(spoolDirectory + "/spooler.db")).isSuperset(of: acked), "an acknowledged message is missing from the spool")
    }

    /// A spool file that is no database is moved aside with a log line naming it; the nucleus starts and spools.
    @Test func corruptSpoolFileIsSetAsideAndTheNucleusStarts() async throws {
        let directory = try TemporaryDirectory(prefix: "ggdc")
        let root = directory.file("root")
        let spoolDirectory = root + "/work/aws.greengrass.DiskSpooler"
        try FileManager.default.createDirectory(atPath: spoolDirectory, withIntermediateDirectories: true)
        try String(repeating: "not a database ", count: 1000).write(toFile: spoolDirectory + "/spooler.db", atomically: true, encoding: .utf8)
        let config = try writeUpstreamConfig(
            in: directory, thingName: "corrupt-spool-device", port: try FreePort.tcp(),
            extraMQTT: ["minimumReconnectDelaySeconds: 0.2", "maximumReconnectDelaySeconds: 1", "spooler:", "  storageType: Disk"])
        let nucleus = NucleusProcess(root: root)
        try nucleus.start(configFile: config)
        defer { nucleus.stop() }
        try await deployPublisher(nucleus, in: directory, topic: "spool/corrupt", count: 10)
        #expect(await eventually(timeout: .seconds(60)) { nucleus.log("com.example.Numbered").contains("LOAD DONE") })
        #expect(acknowledged(nucleus).count == 10)
        let log = nucleus.log("greengrass")
        #expect(log.contains("Message spool file is unreadable; moved aside"), "\(log)")
        let aside = try FileManager.default.contentsOfDirectory(atPath: spoolDirectory).filter { $0.hasPrefix("spooler.db.corrupt-") }
        #expect(aside.count == 1)
        #expect(log.contains(aside.first.map { spoolDirectory + "/" + $0 } ?? "?"), "the log names where the file went")
        #expect(try spooledNumbers(spoolDirectory + "/spooler.db").sorted() == Array(0..<10))
    }
}

/// The numbers (payloads) in a spool file, in spool order.
func spooledNumbers(_ path: String) throws -> [Int] {
    try pythonOutput(
        "import sqlite3,sys; [print(r[0].decode()) for r in sqlite3.connect(sys.argv[1]).execute('SELECT payload FROM spooler ORDER BY message_id')]",
        path
    ).split(separator: "\n").compactMap { Int($0) }
}

/// Messages in a spool file, from its header row.
func spooledCount(_ path: String) throws -> Int {
    let text = try pythonOutput("import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT message_count FROM spooler_totals').fetchone()[0])", path)
    guard let count = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) else { throw SpoolReadFailure(path: path) }
    return count
}

struct SpoolReadFailure: Error {
    var path: String
}

/// Runs a Python snippet (the venv's python3, with its sqlite3 module) and returns its standard output.
@discardableResult
func pythonOutput(_ script: String, _ arguments: String...) throws -> String {
    try programOutput("/usr/bin/env", ["python3", "-c", script] + arguments)
}

@discardableResult
func programOutput(_ executable: String, _ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else { throw SpoolReadFailure(path: arguments.last ?? executable) }
    return String(decoding: data, as: UTF8.self)
}

func receivedNumbers(_ path: String) -> [Int] {
    ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").split(separator: "\n").compactMap { Int($0) }
}

func residentKilobytes(_ pid: Int32) -> Int {
    let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
    let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
    return line.flatMap { Int($0.split(separator: " ").dropFirst().first ?? "") } ?? 0
}
