import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// CLOCK_MONOTONIC in nanoseconds: the same clock Python's `time.monotonic_ns()` reads, so
/// timestamps embedded in payloads compare across processes.
func monotonicNanoseconds() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
}

/// CPU seconds (user + system) of this process, or of its reaped children.
func cpuSeconds(_ who: Int32) -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(who), &usage)
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// CPU seconds consumed so far by another process, from /proc/<pid>/stat (utime + stime).
func cpuSeconds(pid: Int32) -> Double {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
    else { return 0 }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    // After the command name: state is field 3, utime field 14, stime field 15 (1-based in proc(5)).
    guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

/// Resident set size of this process in MiB.
func residentMiB() -> Double {
    guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = statm.split(separator: " ")
    guard fields.count > 1, let pages = Double(fields[1]) else { return 0 }
    return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576
}

/// A child process with piped stdin/stdout, polled rather than `waitUntilExit()`ed.
final class Child: @unchecked Sendable {
    let process = Process()
    let stdinPipe = Pipe()
    let stdoutPipe = Pipe()
    let captured: Bool

    init(_ executable: String, _ arguments: [String], stdout captured: Bool = true) throws {
        self.captured = captured
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = stdinPipe
        process.standardOutput = captured ? stdoutPipe : FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    /// Reads stdout until a line equal to `line` (bounded by EOF).
    func waitForLine(_ line: String) {
        var buffer = Data()
        while true {
            let chunk = stdoutPipe.fileHandleForReading.availableData
            if chunk.isEmpty { return }
            buffer.append(chunk)
            if String(decoding: buffer, as: UTF8.self).split(separator: "\n").contains(where: { $0 == line }) { return }
        }
    }

    /// Waits (polling, bounded) for exit and returns everything left on stdout.
    func finish(timeout: Duration = .seconds(600)) -> String {
        // An uncaptured pipe's write end is still open here, so reading it would never see EOF.
        let data = captured ? stdoutPipe.fileHandleForReading.readDataToEndOfFile() : Data()
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline { usleep(1_000) }
        if process.isRunning { process.terminate() }
        return String(decoding: data, as: UTF8.self)
    }
}

/// One Mosquitto for the whole run, on a free loopback port.
final class Broker {
    let port: Int
    let directory: String
    let child: Child

    init() throws {
        directory = NSTemporaryDirectory() + "mqtt-bench-\(getpid())"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        port = Int.random(in: 20_000..<40_000)
        var lines = [
            "listener \(port) 127.0.0.1", "allow_anonymous true", "log_dest file \(directory)/broker.log", "log_type subscribe", "log_type notice",
            "max_queued_messages 0", "max_inflight_messages 100", "set_tcp_nodelay true",
        ]
        if getuid() == 0 { lines.append("user root") }
        try lines.joined(separator: "\n").appending("\n").write(toFile: directory + "/mosquitto.conf", atomically: true, encoding: .utf8)
        child = try Child("/usr/sbin/mosquitto", ["-c", directory + "/mosquitto.conf"], stdout: false)
        let deadline = ContinuousClock.now + .seconds(10)
        while !logContains("running"), ContinuousClock.now < deadline { usleep(10_000) }
        usleep(100_000)
    }

    var log: String { (try? String(contentsOfFile: directory + "/broker.log", encoding: .utf8)) ?? "" }
    func logContains(_ text: String) -> Bool { log.contains(text) }
    var cpu: Double { cpuSeconds(pid: child.process.processIdentifier) }

    func stop() {
        kill(child.process.processIdentifier, SIGKILL)
        try? FileManager.default.removeItem(atPath: directory)
    }
}
