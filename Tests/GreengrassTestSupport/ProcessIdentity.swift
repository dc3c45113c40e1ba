import Foundation

/// One process as `/proc` shows it: its pid plus its start time, so that a pid the kernel handed to a new process
/// (pid_max can be as low as 32768, and a restart-stress test spawns thousands of processes) is never mistaken
/// for the process the test recorded.
public struct ProcessIdentity: Hashable, Sendable, CustomStringConvertible {
    /// The process id.
    public var pid: Int32
    /// Field 22 of `/proc/<pid>/stat`: when the process started, in clock ticks since boot.
    public var startTime: UInt64

    public init(pid: Int32, startTime: UInt64) {
        self.pid = pid
        self.startTime = startTime
    }

    public var description: String { "pid \(pid) (started at tick \(startTime))" }

    /// The identity of the live (not zombie) process `pid`, or nil when there is none.
    public static func of(_ pid: Int32) -> ProcessIdentity? {
        // The start time is field 22, i.e. the 20th after the command name.
        guard let fields = liveStatFields(pid), fields.count > 19, let start = UInt64(fields[19]) else { return nil }
        return ProcessIdentity(pid: pid, startTime: start)
    }

    /// The live (not zombie) direct children of `pid` (field 4 of their `/proc/<child>/stat`).
    public static func children(of pid: Int32) -> Set<Int32> {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return Set(entries.compactMap(Int32.init).filter { child in
            guard let fields = liveStatFields(child), fields.count > 1 else { return false }
            return Int32(fields[1]) == pid
        })
    }

    /// The fields of `/proc/<pid>/stat` after the command name (state first), or nil for a missing or zombie process.
    private static func liveStatFields(_ pid: Int32) -> [Substring]? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/stat") else { return nil }
        // `pid (comm) state ppid ...`: comm may hold spaces and parentheses, so parse after the last ')'.
        let text = String(decoding: data, as: UTF8.self)
        guard let close = text.lastIndex(of: ")") else { return nil }
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard let state = fields.first, state != "Z", state != "X" else { return nil }
        return fields
    }

    /// Whether this very process (same pid and start time) is still alive.
    public var isAlive: Bool { Self.of(pid) == self }

    /// Live processes whose environment holds the `NAME=value` entry `marker`: a component's processes,
    /// grandchildren included (they inherit the environment), whoever their parent is now.
    public static func withEnvironment(_ marker: String) -> Set<ProcessIdentity> {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        let wanted = Array(marker.utf8)
        var found: Set<ProcessIdentity> = []
        for pid in entries.compactMap(Int32.init) {
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/environ"),
                data.split(separator: 0).contains(where: { $0.elementsEqual(wanted) }),
                let identity = of(pid)
            else { continue }
            found.insert(identity)
        }
        return found
    }
}

/// The memory mappings of process `pid` (`/proc/PID/maps`), read to the end. procfs files report size 0, and a read
/// sized from that can stop before the last mappings, where a library loaded late (`dlopen`) sits.
public func processMappings(_ pid: pid_t) -> String {
    guard let handle = FileHandle(forReadingAtPath: "/proc/\(pid)/maps") else { return "" }
    defer { try? handle.close() }
    return String(decoding: (try? handle.readToEnd()) ?? Data(), as: UTF8.self)
}
