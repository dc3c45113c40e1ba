/// Splits a component's stdout or stderr byte stream into log lines, Greengrass style.
///
/// Lines end at `\n` or `\r` (so CRLF ends one line, the empty remainder is dropped), are trimmed of
/// leading and trailing whitespace and control characters (Java `String.trim`), and empty lines are
/// dropped. Memory is bounded: a line longer than ``maximumLineLength`` bytes is emitted in pieces of
/// that size instead of growing the buffer, so a component writing without newlines cannot make the
/// nucleus grow. Invalid UTF-8 is replaced with U+FFFD, never trusted.
public struct OutputLineSplitter: Sendable {
    /// Longest line kept in memory; longer lines are cut into pieces of this many bytes.
    public let maximumLineLength: Int
    private var buffer: [UInt8] = []

    /// - Parameter maximumLineLength: the cap on a buffered line, at least 1 (default 64 KiB).
    public init(maximumLineLength: Int = 64 * 1024) {
        self.maximumLineLength = max(1, maximumLineLength)
        buffer.reserveCapacity(min(self.maximumLineLength, 4096))
    }

    /// Bytes currently held for an unfinished line.
    public var bufferedByteCount: Int { buffer.count }

    /// Feeds the next chunk of the stream; returns the lines it completes.
    public mutating func feed(_ bytes: some Sequence<UInt8>) -> [String] {
        var lines: [String] = []
        for byte in bytes {
            if byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r") {
                flush(into: &lines)
            } else {
                buffer.append(byte)
                if buffer.count >= maximumLineLength {
                    flush(into: &lines)
                }
            }
        }
        return lines
    }

    /// The stream ended: returns the last line if it had no line terminator.
    public mutating func finish() -> [String] {
        var lines: [String] = []
        flush(into: &lines)
        return lines
    }

    private mutating func flush(into lines: inout [String]) {
        defer { buffer.removeAll(keepingCapacity: true) }
        // Java's String.trim removes every character <= U+0020 at both ends.
        guard let first = buffer.firstIndex(where: { $0 > 0x20 }),
            let last = buffer.lastIndex(where: { $0 > 0x20 })
        else { return }
        lines.append(String(decoding: buffer[first...last], as: UTF8.self))
    }
}
