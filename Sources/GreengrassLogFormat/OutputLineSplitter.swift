/// Splits a component's stdout/stderr byte stream into log lines the way the Java nucleus does, with bounded memory.
///
/// Rules (reference §4.3): lines end at `\n` or `\r` (`\r\n` counts once); each line is trimmed of leading and
/// trailing characters ≤ U+0020 (Java `String.trim`); empty lines are dropped. Added here: a line longer than
/// `maxLineBytes` is emitted in `maxLineBytes` pieces, so a process that never writes a newline cannot grow the
/// nucleus's memory; ``finish()`` emits a last line that had no newline. Invalid UTF-8 is replaced by U+FFFD.
public struct OutputLineSplitter: Sendable {
    /// Upper bound of buffered bytes (and of one emitted line's UTF-8 size before trimming).
    public let maxLineBytes: Int
    private var pending: [UInt8] = []
    private var lastByteWasCR = false

    /// - Parameter maxLineBytes: bytes buffered at most before a line is cut (default 64 KiB; minimum 16).
    public init(maxLineBytes: Int = 64 * 1024) {
        self.maxLineBytes = max(16, maxLineBytes)
        pending.reserveCapacity(min(self.maxLineBytes, 4096))
    }

    /// Bytes currently held back waiting for a line end (always ≤ ``maxLineBytes``).
    public var bufferedByteCount: Int { pending.count }

    /// Feeds a chunk of output; returns the complete, non-empty, trimmed lines it finished.
    public mutating func feed(_ chunk: [UInt8]) -> [String] {
        chunk.withUnsafeBytes { feed($0) }
    }

    /// Feeds a chunk of output; returns the complete, non-empty, trimmed lines it finished.
    public mutating func feed(_ chunk: UnsafeRawBufferPointer) -> [String] {
        var lines: [String] = []
        var segmentStart = 0
        var index = 0
        let count = chunk.count
        while index < count {
            let byte = chunk[index]
            if byte == 0x0A || byte == 0x0D {
                let isSecondHalfOfCRLF = byte == 0x0A && lastByteWasCR && index == segmentStart && pending.isEmpty
                if !isSecondHalfOfCRLF {
                    appendPending(chunk, from: segmentStart, to: index, into: &lines)
                    emitPending(into: &lines)
                }
                lastByteWasCR = byte == 0x0D
                segmentStart = index + 1
            } else {
                lastByteWasCR = false
            }
            index += 1
        }
        appendPending(chunk, from: segmentStart, to: count, into: &lines)
        return lines
    }

    /// Ends the stream: returns the last line if it had no line terminator.
    public mutating func finish() -> [String] {
        var lines: [String] = []
        emitPending(into: &lines)
        lastByteWasCR = false
        return lines
    }

    private mutating func appendPending(_ chunk: UnsafeRawBufferPointer, from start: Int, to end: Int, into lines: inout [String]) {
        var position = start
        while position < end {
            let room = maxLineBytes - pending.count
            let take = min(room, end - position)
            pending.append(contentsOf: chunk[position..<(position + take)])
            position += take
            if pending.count >= maxLineBytes {
                cutOverlongLine(into: &lines)
            }
        }
    }

    /// Emits the buffered bytes of an over-long line, keeping an incomplete UTF-8 sequence at the end for the next
    /// piece so that no character is split.
    private mutating func cutOverlongLine(into lines: inout [String]) {
        var cut = pending.count
        var back = 0
        // Walk back over at most 3 continuation bytes to the lead byte of the last scalar.
        while back < 3, cut - back - 1 > 0, pending[cut - back - 1] & 0xC0 == 0x80 { back += 1 }
        let lead = pending[cut - back - 1]
        let expected = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1
        if expected > back + 1 { cut = cut - back - 1 }
        let carry = Array(pending[cut...])
        pending.removeSubrange(cut...)
        emitPending(into: &lines)
        pending.append(contentsOf: carry)
    }

    private mutating func emitPending(into lines: inout [String]) {
        defer { pending.removeAll(keepingCapacity: pending.capacity <= 4096) }
        guard let first = pending.firstIndex(where: { $0 > 0x20 }), let last = pending.lastIndex(where: { $0 > 0x20 }) else {
            return
        }
        lines.append(String(decoding: pending[first...last], as: UTF8.self))
    }
}
