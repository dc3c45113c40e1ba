import GreengrassLogFormat
import Synchronization

#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Musl)
@preconcurrency import Musl
#endif

/// Counts write failures across all sinks of one ``GreengrassLogFiles`` (a full disk must not crash the nucleus,
/// but it must be visible).
final class LogErrorRecorder: Sendable {
    private let count = Atomic<Int>(0)
    private let last = Mutex<String?>(nil)

    var errorCount: Int { count.load(ordering: .relaxed) }
    var lastError: String? { last.withLock { $0 } }

    /// Records `message`; the first failure of a sink is also written to standard error (later ones are only
    /// counted, so a full disk cannot turn into a stderr flood).
    func record(_ message: String, announce: Bool) {
        count.add(1, ordering: .relaxed)
        last.withLock { $0 = message }
        if announce {
            var text = "greengrass-logging: \(message)\n"
            text.withUTF8 { bytes in _ = LogSink.writeFully(fd: 2, bytes) }
        }
    }
}

/// One output file (or standard output) with its rotation state; every line is written whole, under the lock,
/// with `write(2)` and no user-space buffer, so nothing is queued and nothing is lost on a crash.
final class LogSink: Sendable {
    enum Destination: Hashable, Sendable {
        /// `<directory>/<baseName>.log`, rotated.
        case file(directory: String, baseName: String)
        /// An inherited descriptor (standard output for CONSOLE), never rotated or closed.
        case descriptor(Int32)
    }

    private struct State {
        var fd: Int32 = -1
        var rotation: LogRotationState?
        var closed = false
        /// Last failed open (epoch ms): retried at most once a second instead of on every line.
        var lastOpenFailure: Int64?
        /// Whether a failure was already announced on stderr since the last success.
        var failureAnnounced = false
    }

    let destination: Destination
    private let policy: LogRotationPolicy
    private let fileMode: UInt32
    private let errors: LogErrorRecorder
    private let state = Mutex(State())

    init(destination: Destination, policy: LogRotationPolicy, fileMode: UInt32, errors: LogErrorRecorder) {
        self.destination = destination
        self.policy = policy
        self.fileMode = fileMode
        self.errors = errors
    }

    /// Path of the active file, nil for standard output.
    var activePath: String? {
        guard case .file(let directory, let baseName) = destination else { return nil }
        return directory + "/" + baseName + ".log"
    }

    /// Writes `line` (which must end with a newline) at `now`, rotating first when needed.
    func writeLine(_ line: inout String, now: Int64) {
        line.withUTF8 { bytes in
            state.withLock { state in writeLocked(bytes, now: now, state: &state) }
        }
    }

    private func writeLocked(_ bytes: UnsafeBufferPointer<UInt8>, now: Int64, state: inout State) {
        guard !state.closed else { return }
        guard case .file(let directory, _) = destination, let activePath else {
            if case .descriptor(let fd) = destination, let failure = Self.writeFully(fd: fd, bytes) {
                report("cannot write to file descriptor \(fd): \(failure)", state: &state)
            }
            return
        }
        if state.fd < 0 {
            if let lastFailure = state.lastOpenFailure, now - lastFailure < 1000, now >= lastFailure { return }
            guard openActive(directory: directory, activePath: activePath, now: now, state: &state) else { return }
        }
        if var rotation = state.rotation {
            let actions = rotation.prepareWrite(byteCount: bytes.count, now: now)
            state.rotation = rotation
            for action in actions { perform(action, directory: directory, activePath: activePath, now: now, state: &state) }
            guard state.fd >= 0 else { return }
        }
        let failure = Self.writeFully(fd: state.fd, bytes)
        let written = failure == nil ? bytes.count : 0
        state.rotation?.recordWrite(byteCount: written, now: now)
        if let failure {
            report("cannot write \(activePath): \(failure)", state: &state)
        } else {
            state.failureAnnounced = false
        }
    }

    /// The one place rotation actions touch the file system.
    private func perform(_ action: LogRotationAction, directory: String, activePath: String, now: Int64, state: inout State) {
        switch action {
        case .rollActive(let name):
            let rolledPath = directory + "/" + name.fileName
            // If the rename fails the active file keeps its content (never truncate unrolled lines); it just grows
            // past the limit until a later roll succeeds.
            var renamed = rename(activePath, rolledPath) == 0
            if !renamed, errno != ENOENT {
                report("cannot roll \(activePath) to \(rolledPath): \(Self.errorText(errno))", state: &state)
            } else {
                renamed = true
            }
            if state.fd >= 0 { _ = close(state.fd) }
            state.fd = Self.openFile(activePath, mode: fileMode, truncate: renamed)
            if state.fd < 0 {
                state.lastOpenFailure = now
                report("cannot open \(activePath): \(Self.errorText(errno))", state: &state)
            }
        case .delete(let name):
            let path = directory + "/" + name.fileName
            if unlink(path) != 0, errno != ENOENT {
                report("cannot delete \(path): \(Self.errorText(errno))", state: &state)
            }
        }
    }

    /// Opens (creating) the active file and loads rotation state from the directory; enforces the total cap once.
    private func openActive(directory: String, activePath: String, now: Int64, state: inout State) -> Bool {
        guard case .file(_, let baseName) = destination else { return false }
        Self.makeDirectories(directory)
        let fd = Self.openFile(activePath, mode: fileMode, truncate: false)
        guard fd >= 0 else {
            state.lastOpenFailure = now
            report("cannot open \(activePath): \(Self.errorText(errno))", state: &state)
            return false
        }
        state.fd = fd
        state.lastOpenFailure = nil
        if state.rotation == nil {
            var info = stat()
            let hasInfo = fstat(fd, &info) == 0
            let size = hasInfo ? Int64(info.st_size) : 0
            let modified = hasInfo ? Int64(info.st_mtim.tv_sec) * 1000 + Int64(info.st_mtim.tv_nsec) / 1_000_000 : now
            var rotation = LogRotationState(
                baseName: baseName, policy: policy, activeBytes: size, activeModifiedAt: modified,
                directoryEntries: Self.rolledCandidates(in: directory, baseName: baseName))
            let actions = rotation.enforceTotalCap()
            state.rotation = rotation
            for action in actions { perform(action, directory: directory, activePath: activePath, now: now, state: &state) }
        } else {
            state.rotation?.resetActive()
            var info = stat()
            if fstat(fd, &info) == 0, info.st_size > 0 { state.rotation?.recordWrite(byteCount: Int(info.st_size), now: now) }
        }
        return true
    }

    private func report(_ message: String, state: inout State) {
        errors.record(message, announce: !state.failureAnnounced)
        state.failureAnnounced = true
    }

    /// Nothing is buffered in user space; this asks the kernel to persist the file (used at shutdown).
    func flush() {
        state.withLock { state in
            if state.fd >= 0 { _ = fsync(state.fd) }
        }
    }

    /// Closes the file descriptor but keeps the rotation state; the next write reopens the file.
    func releaseFile() {
        state.withLock { state in
            if state.fd >= 0 { _ = close(state.fd) }
            state.fd = -1
        }
    }

    /// Closes the file; later writes are dropped.
    func closeFile() {
        state.withLock { state in
            if state.fd >= 0 { _ = close(state.fd) }
            state.fd = -1
            state.closed = true
        }
    }

    // MARK: POSIX helpers

    static func openFile(_ path: String, mode: UInt32, truncate: Bool) -> Int32 {
        var flags = O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC
        if truncate { flags |= O_TRUNC }
        while true {
            let fd = open(path, flags, mode_t(mode))
            if fd >= 0 || errno != EINTR { return fd }
        }
    }

    /// Writes every byte (retrying short writes and EINTR); returns the error text on failure.
    static func writeFully(fd: Int32, _ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        guard var pointer = bytes.baseAddress else { return nil }
        var remaining = bytes.count
        while remaining > 0 {
            let written = write(fd, pointer, remaining)
            if written < 0 {
                if errno == EINTR { continue }
                return errorText(errno)
            }
            if written == 0 { return "write returned 0" }
            pointer += written
            remaining -= written
        }
        return nil
    }

    static func errorText(_ code: Int32) -> String {
        String(cString: strerror(code)) + " (errno \(code))"
    }

    /// `mkdir -p` with mode 0700 for every directory it creates (existing ones are left alone).
    static func makeDirectories(_ path: String) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            _ = mkdir(prefix, 0o700)
        }
    }

    /// Names and sizes of `<baseName>_*.log` files in `directory`.
    static func rolledCandidates(in directory: String, baseName: String) -> [(name: String, bytes: Int64)] {
        guard let dir = opendir(directory) else { return [] }
        defer { closedir(dir) }
        let prefix = baseName + "_"
        var result: [(name: String, bytes: Int64)] = []
        while let entry = readdir(dir) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) { pointer in
                pointer.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            guard name.hasPrefix(prefix), name.hasSuffix(".log"),
                RolledLogFileName(parsing: name, baseName: baseName) != nil
            else { continue }
            var info = stat()
            guard stat(directory + "/" + name, &info) == 0 else { continue }
            result.append((name, Int64(info.st_size)))
        }
        return result
    }
}
