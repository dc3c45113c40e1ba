#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Musl)
@preconcurrency import Musl
#endif

/// The fields of `/proc/<pid>/stat` the supervisor needs.
struct ProcStat: Sendable, Hashable {
    var pid: Int32
    /// One-letter state: `R`, `S`, `D`, `T`, `Z` (zombie), …
    var state: UInt8
    var parent: Int32
    var processGroup: Int32
    var session: Int32

    /// A zombie has exited; it only waits to be reaped and cannot be signalled away.
    var isAlive: Bool { state != UInt8(ascii: "Z") && state != UInt8(ascii: "X") }

    /// Parses `pid (comm) S ppid pgrp session …`. The command name may contain spaces and parentheses,
    /// so fields are counted from the last `)`. Returns `nil` for anything malformed.
    static func parse(_ bytes: some Collection<UInt8>) -> ProcStat? {
        let bytes = Array(bytes.prefix(4096))
        guard let open = bytes.firstIndex(of: UInt8(ascii: "(")),
            let close = bytes.lastIndex(of: UInt8(ascii: ")")), open < close
        else { return nil }
        let head = bytes[..<open].split(separator: UInt8(ascii: " "))
        let tail = bytes[(close + 1)...].split(separator: UInt8(ascii: " "), maxSplits: 5)
        guard head.count == 1, let pid = Int32(ascii: head[0]), tail.count >= 4, tail[0].count == 1,
            let parent = Int32(ascii: tail[1]), let group = Int32(ascii: tail[2]), let session = Int32(ascii: tail[3])
        else { return nil }
        return ProcStat(pid: pid, state: tail[0].first!, parent: parent, processGroup: group, session: session)
    }
}

extension Int32 {
    fileprivate init?(ascii: ArraySlice<UInt8>) {
        guard !ascii.isEmpty, ascii.count <= 11 else { return nil }
        self.init(String(decoding: ascii, as: UTF8.self))
    }
}

/// Process discovery and group teardown through `/proc` and `kill(2)`.
///
/// Every component phase runs in its own session (`setsid`), whose id is the leader's pid. A session
/// outlives its leader: grandchildren keep it (and its process group) until they exit, even if they
/// move to another process group. Signalling `-sid` reaches the group; the `/proc` scan reaches members
/// that changed group but not session. Only a process that calls `setsid` itself escapes.
enum ProcessTable {
    /// Live (non-zombie) processes whose session or process group is one of `sessions`.
    static func members(of sessions: Set<Int32>) -> [ProcStat] {
        guard !sessions.isEmpty else { return [] }
        return liveProcesses().filter { sessions.contains($0.session) || sessions.contains($0.processGroup) }
    }

    /// Every live (non-zombie) process in `/proc`.
    static func liveProcesses() -> [ProcStat] {
        guard let directory = opendir("/proc") else { return [] }
        defer { closedir(directory) }
        var result: [ProcStat] = []
        while let entry = readdir(directory) {
            let pid = withUnsafeBytes(of: entry.pointee.d_name) { raw -> Int32? in
                let name = raw.prefix { $0 != 0 }
                guard !name.isEmpty, name.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else {
                    return nil
                }
                return Int32(String(decoding: name, as: UTF8.self))
            }
            guard let pid, let stat = readStat(pid), stat.isAlive else { continue }
            result.append(stat)
        }
        return result
    }

    /// Whether the environment of `pid` holds the entry `NAME=value` (bounded read: at most 1 MiB).
    static func environment(of pid: Int32, contains entry: [UInt8]) -> Bool {
        let fd = open("/proc/\(pid)/environ", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while bytes.count < 1 << 20 {
            let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            guard count > 0 else { break }
            bytes += chunk[..<count]
        }
        return bytes.split(separator: 0).contains { $0.elementsEqual(entry) }
    }

    static func readStat(_ pid: Int32) -> ProcStat? {
        let fd = open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1024)
        let count = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        return ProcStat.parse(buffer[..<count])
    }

    /// Sends `signal` to each session's process group and to every member found in `/proc`.
    static func signal(_ sessions: Set<Int32>, _ signal: Int32) {
        for session in sessions where session > 1 {
            _ = kill(-session, signal)
        }
        for member in members(of: sessions) where member.pid > 1 {
            _ = kill(member.pid, signal)
        }
    }

    /// SIGTERM (and SIGCONT, so stopped processes see it) to every process of `sessions`, then SIGKILL
    /// to whatever is left after `gracePeriod`. Returns once no live process remains, or after a bounded
    /// wait following SIGKILL (a process in uninterruptible sleep cannot be waited for forever).
    /// Returns `true` when SIGKILL was needed (something outlived the grace period).
    @discardableResult
    static func terminate<C: Clock>(
        _ sessions: Set<Int32>, gracePeriod: Duration, clock: C
    ) async -> Bool where C.Duration == Duration {
        guard !sessions.isEmpty else { return false }
        signal(sessions, SIGTERM)
        signal(sessions, SIGCONT)
        if await waitUntilEmpty(sessions, within: gracePeriod, clock: clock) { return false }
        signal(sessions, SIGKILL)
        _ = await waitUntilEmpty(sessions, within: .seconds(5), clock: clock)
        return true
    }

    /// Polls `/proc` until no live member remains or `limit` passes; `true` when empty.
    static func waitUntilEmpty<C: Clock>(
        _ sessions: Set<Int32>, within limit: Duration, clock: C
    ) async -> Bool where C.Duration == Duration {
        let deadline = clock.now.advanced(by: limit)
        while true {
            if members(of: sessions).isEmpty { return true }
            if clock.now >= deadline { return false }
            do {
                try await clock.sleep(for: .milliseconds(20))
            } catch {
                // Cancelled: stop waiting, the caller escalates.
                return members(of: sessions).isEmpty
            }
        }
    }
}

/// Process groups a previous nucleus run recorded and left behind (after `kill -9` or a crash), stopped before
/// anything starts again so that no component runs twice.
public enum LeftoverSessions {
    /// The sessions (process group ids) among `sessions` that still have a live process. A zombie does not count:
    /// it has exited and only waits for its new parent (init, which may reap slowly) to collect it.
    public static func live(among sessions: Set<Int32>) -> Set<Int32> {
        let members = ProcessTable.members(of: sessions)
        return sessions.filter { session in members.contains { $0.session == session || $0.processGroup == session } }
    }

    /// Sessions of live processes whose environment holds `entry` (`NAME=value`). The nucleus gives every component
    /// process its socket path, so this finds what an earlier run of the same root left behind — including a
    /// process it spawned but was killed before it could record.
    /// A session whose leader is alive but lacks the entry (a login shell that ran such a process) is not taken.
    public static func sessions(withEnvironment entry: String) -> Set<Int32> {
        let wanted = Array(entry.utf8)
        let processes = ProcessTable.liveProcesses()
        let pids = Set(processes.map(\.pid))
        let matching = processes.filter { ProcessTable.environment(of: $0.pid, contains: wanted) }
        let matchingPids = Set(matching.map(\.pid))
        return Set(matching.map(\.session).filter { $0 > 1 && (!pids.contains($0) || matchingPids.contains($0)) })
    }

    /// SIGTERM to every process of all `sessions` at once, SIGKILL to whatever is left after `gracePeriod`.
    /// Blocking (it runs during start-up, before any service); returns the sessions that needed SIGKILL.
    @discardableResult
    public static func terminate(_ sessions: Set<Int32>, gracePeriod: Duration) -> Set<Int32> {
        guard !sessions.isEmpty else { return [] }
        ProcessTable.signal(sessions, SIGTERM)
        ProcessTable.signal(sessions, SIGCONT)
        let deadline = ContinuousClock.now.advanced(by: gracePeriod)
        while !ProcessTable.members(of: sessions).isEmpty, ContinuousClock.now < deadline {
            usleep(10_000)
        }
        let stubborn = live(among: sessions)
        if !stubborn.isEmpty { ProcessTable.signal(stubborn, SIGKILL) }
        return stubborn
    }
}
