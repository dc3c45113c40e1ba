/// One `-t/--time-window begin,end` of `logs get`: the entries strictly after `begin` and strictly before `end`
/// (epoch ms), like the AWS CLI's `isBefore`/`isAfter` comparison.
///
/// Accepted times (the AWS CLI's list; all read as UTC, the zone our log files are written in):
/// - relative to now: `[+-]N` followed by `d|day`, `h|hr|hour`, `m|min|minute`, `s|sec|second` (each optionally plural),
///   combined in that order, e.g. `-2h`, `+1days-3hr`, `-10min30s`;
/// - `yyyy-MM-ddTHH:mm:ssSSS`, ISO instants (`2024-01-02T03:04:05.678Z`), ISO local date-times
///   (`2024-01-02T03:04[:05[.678]]`);
/// - dates (`2024-01-02`, `20240102`) meaning their midnight;
/// - times of day (`03:04[:05[.678]]`, `03:04:05678`) meaning today.
/// An empty `begin`, or a missing `end` (`begin,` or `begin`), means now.
public struct LogTimeWindow: Hashable, Sendable {
    public var begin: Int64
    public var end: Int64

    public init(begin: Int64, end: Int64) {
        self.begin = begin
        self.end = end
    }

    public func contains(_ timestamp: Int64) -> Bool { begin < timestamp && timestamp < end }

    /// Parses one `-t` value; `now` is epoch ms.
    public init(parsing window: String, now: Int64) throws(LogQueryError) {
        let fields = window.javaSplit(",")
        guard !window.isEmpty, window != ",", fields.count <= 2 else {
            throw .invalidTimeWindow(window, reason: "expected 'begin,end'")
        }
        func time(_ text: Substring) throws(LogQueryError) -> Int64 {
            guard let value = Self.parseTime(text, now: now) else {
                throw .invalidTimeWindow(window, reason: "cannot parse '\(text)'")
            }
            return value
        }
        let begin = fields[0].isEmpty ? now : try time(fields[0])
        let end = fields.count == 1 ? now : try time(fields[1])
        self.init(begin: begin, end: end)
    }

    /// One time of a window, or nil.
    static func parseTime(_ text: Substring, now: Int64) -> Int64? {
        if let offset = parseRelativeOffset(text) { return now + offset }
        if let instant = ISOInstant.parse(text) { return instant }
        var reader = DigitReader(Array(text.utf8))
        if let date = readDate(&reader, separated: true) {
            if reader.atEnd { return date }
            guard reader.consume(UInt8(ascii: "T")), let time = readTimeOfDay(&reader), reader.atEnd else { return nil }
            return date + time
        }
        reader = DigitReader(Array(text.utf8))
        if let date = readDate(&reader, separated: false), reader.atEnd { return date }
        reader = DigitReader(Array(text.utf8))
        if let time = readTimeOfDay(&reader), reader.atEnd {
            return UTCDateTime.floorDivMod(now, 86_400_000).quotient * 86_400_000 + time
        }
        return nil
    }

    /// `yyyy-MM-dd` (separated) or `yyyyMMdd` as epoch ms of its midnight.
    private static func readDate(_ reader: inout DigitReader, separated: Bool) -> Int64? {
        let dash = UInt8(ascii: "-")
        guard let year = reader.number(minDigits: 4, maxDigits: 4), !separated || reader.consume(dash),
            let month = reader.number(minDigits: 2, maxDigits: 2), !separated || reader.consume(dash),
            let day = reader.number(minDigits: 2, maxDigits: 2),
            let date = UTCDateTime(validatingYear: year, month: month, day: day, hour: 0, minute: 0, second: 0, millisecond: 0)
        else { return nil }
        return date.epochMilliseconds
    }

    /// `HH:mm[:ss[.fraction]]` or `HH:mm:ssSSS` as ms since midnight.
    private static func readTimeOfDay(_ reader: inout DigitReader) -> Int64? {
        let colon = UInt8(ascii: ":")
        guard let hour = reader.number(minDigits: 2, maxDigits: 2), hour < 24, reader.consume(colon),
            let minute = reader.number(minDigits: 2, maxDigits: 2), minute < 60
        else { return nil }
        var second = 0
        var millisecond = 0
        if reader.consume(colon) {
            guard let seconds = reader.number(minDigits: 2, maxDigits: 2), seconds < 60 else { return nil }
            second = seconds
            if reader.consume(UInt8(ascii: ".")) {
                let start = reader.position
                guard var fraction = reader.number(minDigits: 1, maxDigits: 9) else { return nil }
                let digits = reader.position - start
                for _ in min(digits, 3)..<3 { fraction *= 10 }
                for _ in min(digits, 3)..<digits { fraction /= 10 }
                millisecond = fraction
            } else if let glued = reader.number(minDigits: 3, maxDigits: 3) {
                millisecond = glued
            }
        }
        return Int64(((hour * 60 + minute) * 60 + second) * 1000 + millisecond)
    }

    /// `+1days-3hr` → milliseconds, or nil when `text` is not such an offset.
    static func parseRelativeOffset(_ text: Substring) -> Int64? {
        let units: [(names: [String], milliseconds: Int64)] = [
            (["day", "d"], 86_400_000), (["hour", "hr", "h"], 3_600_000),
            (["minute", "min", "m"], 60_000), (["second", "sec", "s"], 1000),
        ]
        let bytes = Array(text.utf8)
        var position = 0
        var total: Int64 = 0
        var matchedAny = false
        for unit in units {
            var cursor = position
            var sign: Int64 = 1
            if cursor < bytes.count, bytes[cursor] == UInt8(ascii: "+") || bytes[cursor] == UInt8(ascii: "-") {
                sign = bytes[cursor] == UInt8(ascii: "-") ? -1 : 1
                cursor += 1
            }
            var value: Int64 = 0
            var digits = 0
            while cursor < bytes.count, digits < 9, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[cursor]) {
                value = value * 10 + Int64(bytes[cursor] - UInt8(ascii: "0"))
                cursor += 1
                digits += 1
            }
            guard digits > 0,
                let name = unit.names.first(where: { bytes[cursor...].starts(with: $0.utf8) })
            else { continue }
            cursor += name.utf8.count
            if cursor < bytes.count, bytes[cursor] == UInt8(ascii: "s") { cursor += 1 }
            position = cursor
            total += sign * value * unit.milliseconds
            matchedAny = true
        }
        return matchedAny && position == bytes.count ? total : nil
    }
}
