#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A log file or directory `logs` cannot use, named in the message.
struct LogInputError: Error, CustomStringConvertible {
    var description: String
}

/// Thin POSIX helpers for the `logs` commands (no Foundation: the CLI reads files with plain system calls).
enum LogFileSystem {
    struct Identity: Equatable {
        var device: UInt64
        var inode: UInt64
        var size: Int64
        var isDirectory: Bool
        var isRegularFile: Bool
    }

    static func identity(of path: String) -> Identity? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return Identity(info)
    }

    static func lastError() -> String { String(cString: strerror(errno)) }

    static func isReadable(_ path: String) -> Bool { access(path, R_OK) == 0 }

    static func wallClockMilliseconds() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }

    /// The names in `directory` (without `.` and `..`), or an error naming the directory.
    static func fileNames(in directory: String) throws(LogInputError) -> [String] {
        guard let handle = opendir(directory) else {
            throw LogInputError(description: "Log dir provided invalid: \(directory): \(lastError())")
        }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafePointer(to: &entry.pointee.d_name) {
                String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self))
            }
            if name != ".", name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// Joins a directory and a file name the way `java.io.File(dir, name).getPath()` prints it.
    static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }
}

extension LogFileSystem.Identity {
    init(_ info: stat) {
        let type = info.st_mode & S_IFMT
        self.init(
            device: UInt64(info.st_dev), inode: UInt64(info.st_ino), size: Int64(info.st_size),
            isDirectory: type == S_IFDIR, isRegularFile: type == S_IFREG)
    }
}

/// Reads one file line by line through a fixed 64 KiB buffer, so a file of any size costs constant memory.
/// A line longer than ``maxLineBytes`` is not kept: it is reported as ``Line/oversized(_:)`` with its length.
final class LogLineReader {
    enum Line: Equatable {
        case text(String)
        case oversized(Int)
    }

    static let defaultMaxLineBytes = 1 << 20
    let path: String
    let maxLineBytes: Int
    private(set) var identity: LogFileSystem.Identity
    /// Bytes consumed from the file so far.
    private(set) var offset: Int64 = 0
    private var descriptor: Int32
    private var buffer: [UInt8]
    private var bufferStart = 0
    private var bufferEnd = 0
    private var partial: [UInt8] = []
    private var oversizedBytes: Int?

    init(path: String, maxLineBytes: Int = LogLineReader.defaultMaxLineBytes) throws(LogInputError) {
        self.path = path
        self.maxLineBytes = maxLineBytes
        descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw LogInputError(description: "Cannot read log file \(path): \(LogFileSystem.lastError())") }
        var info = stat()
        guard fstat(descriptor, &info) == 0 else {
            let reason = LogFileSystem.lastError()
            close(descriptor)
            throw LogInputError(description: "Cannot read log file \(path): \(reason)")
        }
        identity = LogFileSystem.Identity(info)
        guard !identity.isDirectory else {
            close(descriptor)
            throw LogInputError(description: "Cannot read log file \(path): it is a directory")
        }
        buffer = [UInt8](repeating: 0, count: 64 * 1024)
    }

    deinit { if descriptor >= 0 { close(descriptor) } }

    /// The next line, or nil at the end of the data written so far. A last line without a line break is returned
    /// only when `flushPartialLine` (the file is complete); otherwise it waits for the rest of it.
    func nextLine(flushPartialLine: Bool) throws(LogInputError) -> Line? {
        while true {
            if let newline = buffer[bufferStart..<bufferEnd].firstIndex(of: UInt8(ascii: "\n")) {
                let line = take(upTo: newline)
                bufferStart = newline + 1
                offset += 1
                return line
            }
            keep(buffer[bufferStart..<bufferEnd])
            bufferStart = 0
            bufferEnd = 0
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 {
                if errno == EINTR { continue }
                throw LogInputError(description: "Cannot read log file \(path): \(LogFileSystem.lastError())")
            }
            if count == 0 {
                guard flushPartialLine, !partial.isEmpty || oversizedBytes != nil else { return nil }
                return take(upTo: bufferStart)
            }
            bufferEnd = count
        }
    }

    /// Re-reads the file from the start (it was truncated in place).
    func rewind() {
        lseek(descriptor, 0, SEEK_SET)
        offset = 0
        bufferStart = 0
        bufferEnd = 0
        partial.removeAll()
        oversizedBytes = nil
    }

    private func keep(_ bytes: ArraySlice<UInt8>) {
        offset += Int64(bytes.count)
        if let skipped = oversizedBytes {
            oversizedBytes = skipped + bytes.count
        } else if partial.count + bytes.count > maxLineBytes {
            oversizedBytes = partial.count + bytes.count
            partial.removeAll()
        } else {
            partial.append(contentsOf: bytes)
        }
    }

    private func take(upTo end: Int) -> Line {
        keep(buffer[bufferStart..<end])
        defer {
            partial.removeAll(keepingCapacity: partial.count <= 64 * 1024)
            oversizedBytes = nil
        }
        if let skipped = oversizedBytes { return .oversized(skipped) }
        var bytes = partial[...]
        if bytes.last == UInt8(ascii: "\r") { bytes = bytes.dropLast() }
        return .text(String(decoding: bytes, as: UTF8.self))
    }
}

/// Collects output and writes it to a file descriptor in large chunks (one `write` per line would dominate the
/// cost of printing a 100 MB log).
final class BufferedDescriptorWriter {
    private let descriptor: Int32
    private var pending: [UInt8] = []

    init(descriptor: Int32) { self.descriptor = descriptor }

    func writeLine(_ text: String) {
        pending.append(contentsOf: text.utf8)
        pending.append(UInt8(ascii: "\n"))
        if pending.count >= 64 * 1024 { flush() }
    }

    func flush() {
        var written = 0
        while written < pending.count {
            let count = pending[written...].withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            if count < 0, errno == EINTR { continue }
            guard count > 0 else { break }
            written += count
        }
        pending.removeAll(keepingCapacity: true)
    }
}
