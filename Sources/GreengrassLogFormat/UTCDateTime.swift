/// A UTC calendar instant with millisecond resolution, computed from epoch milliseconds with integer
/// arithmetic only.
///
/// Why not Foundation: every log line needs a timestamp, and the proleptic-Gregorian conversion below is a handful
/// of integer divisions (H. Hinnant's `civil_from_days`), exact for every representable day, with no locale, time
/// zone database or allocation involved.
public struct UTCDateTime: Hashable, Sendable {
    public var year: Int
    /// 1...12
    public var month: Int
    /// 1...31
    public var day: Int
    /// 0...23
    public var hour: Int
    /// 0...59
    public var minute: Int
    /// 0...59
    public var second: Int
    /// 0...999
    public var millisecond: Int

    /// Creates a date-time from its fields. No validation: use ``init(validatingYear:month:day:hour:minute:second:millisecond:)``
    /// for untrusted input.
    public init(year: Int, month: Int, day: Int, hour: Int = 0, minute: Int = 0, second: Int = 0, millisecond: Int = 0) {
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
        self.second = second
        self.millisecond = millisecond
    }

    /// Creates a date-time from fields, or `nil` when any field is out of range (e.g. February 30th, hour 24).
    public init?(validatingYear year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int, millisecond: Int) {
        guard (1...12).contains(month), day >= 1, day <= Self.daysInMonth(year: year, month: month),
            (0...23).contains(hour), (0...59).contains(minute), (0...59).contains(second), (0...999).contains(millisecond)
        else { return nil }
        self.init(year: year, month: month, day: day, hour: hour, minute: minute, second: second, millisecond: millisecond)
    }

    /// The UTC calendar fields of `epochMilliseconds` (milliseconds since 1970-01-01T00:00:00Z; negative is before).
    public init(epochMilliseconds: Int64) {
        let (days, msOfDay) = Self.floorDivMod(epochMilliseconds, 86_400_000)
        let civil = Self.civil(fromDays: days)
        self.year = civil.year
        self.month = civil.month
        self.day = civil.day
        let ms = Int(msOfDay)
        self.hour = ms / 3_600_000
        self.minute = ms / 60_000 % 60
        self.second = ms / 1000 % 60
        self.millisecond = ms % 1000
    }

    /// Milliseconds since the Unix epoch for these fields.
    public var epochMilliseconds: Int64 {
        let days = Self.days(fromYear: year, month: month, day: day)
        let msOfDay = Int64(((hour * 60 + minute) * 60 + second) * 1000 + millisecond)
        return days * 86_400_000 + msOfDay
    }

    /// Number of days in `month` of `year` (proleptic Gregorian).
    public static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return isLeapYear(year) ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Gregorian leap-year rule.
    public static func isLeapYear(_ year: Int) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    // MARK: Calendar arithmetic (Howard Hinnant, "chrono-Compatible Low-Level Date Algorithms")

    static func floorDivMod(_ value: Int64, _ divisor: Int64) -> (quotient: Int64, remainder: Int64) {
        var quotient = value / divisor
        var remainder = value % divisor
        if remainder < 0 {
            quotient -= 1
            remainder += divisor
        }
        return (quotient, remainder)
    }

    static func civil(fromDays daysSinceEpoch: Int64) -> (year: Int, month: Int, day: Int) {
        let z = daysSinceEpoch + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shiftedMonth = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * shiftedMonth + 2) / 5 + 1
        let month = shiftedMonth < 10 ? shiftedMonth + 3 : shiftedMonth - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (Int(year), Int(month), Int(day))
    }

    static func days(fromYear year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let shiftedMonth = Int64(month > 2 ? month - 3 : month + 9)
        let dayOfYear = (153 * shiftedMonth + 2) / 5 + Int64(day) - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }
}

/// Java `DateTimeFormatter.ISO_INSTANT` rendering and parsing for millisecond instants.
public enum ISOInstant {
    /// Renders `epochMilliseconds` like Java's `ISO_INSTANT`: `2022-08-05T14:07:53.230Z`, or `2022-08-05T14:07:53Z`
    /// when the millisecond part is zero (ISO_INSTANT prints the fraction only when it is non-zero).
    public static func format(epochMilliseconds: Int64) -> String {
        var out = ""
        out.reserveCapacity(24)
        append(epochMilliseconds: epochMilliseconds, to: &out)
        return out
    }

    /// Appends the ``format(epochMilliseconds:)`` rendering to `out` (the allocation-free hot path).
    public static func append(epochMilliseconds: Int64, to out: inout String) {
        let t = UTCDateTime(epochMilliseconds: epochMilliseconds)
        // ISO_INSTANT uses a sign and at least 4 digits outside 0000...9999.
        if t.year > 9999 {
            out.append("+")
        } else if t.year < 0 {
            out.append("-")
        }
        appendPadded(abs(t.year), width: 4, to: &out)
        out.append("-")
        appendPadded(t.month, width: 2, to: &out)
        out.append("-")
        appendPadded(t.day, width: 2, to: &out)
        out.append("T")
        appendPadded(t.hour, width: 2, to: &out)
        out.append(":")
        appendPadded(t.minute, width: 2, to: &out)
        out.append(":")
        appendPadded(t.second, width: 2, to: &out)
        if t.millisecond != 0 {
            out.append(".")
            appendPadded(t.millisecond, width: 3, to: &out)
        }
        out.append("Z")
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction]Z` (fraction of 1 to 9 digits, truncated to milliseconds; an optional
    /// `+`/`-` year sign) into epoch milliseconds, or `nil` when the text is not such an instant.
    public static func parse<S: StringProtocol>(_ text: S) -> Int64? {
        var reader = DigitReader(Array(text.utf8))
        var sign = 1
        if reader.consume(UInt8(ascii: "+")) {
            sign = 1
        } else if reader.consume(UInt8(ascii: "-")) {
            sign = -1
        }
        guard let yearDigits = reader.number(minDigits: 4, maxDigits: 9),
            reader.consume(UInt8(ascii: "-")), let month = reader.number(minDigits: 2, maxDigits: 2),
            reader.consume(UInt8(ascii: "-")), let day = reader.number(minDigits: 2, maxDigits: 2),
            reader.consume(UInt8(ascii: "T")), let hour = reader.number(minDigits: 2, maxDigits: 2),
            reader.consume(UInt8(ascii: ":")), let minute = reader.number(minDigits: 2, maxDigits: 2),
            reader.consume(UInt8(ascii: ":")), let second = reader.number(minDigits: 2, maxDigits: 2)
        else { return nil }
        var millisecond = 0
        if reader.consume(UInt8(ascii: ".")) {
            let start = reader.position
            guard let fraction = reader.number(minDigits: 1, maxDigits: 9) else { return nil }
            let digits = reader.position - start
            // Scale the fraction to exactly 3 digits (truncating sub-millisecond precision).
            var scaled = fraction
            if digits < 3 {
                for _ in digits..<3 { scaled *= 10 }
            } else {
                for _ in 3..<digits { scaled /= 10 }
            }
            millisecond = scaled
        }
        guard reader.consume(UInt8(ascii: "Z")), reader.atEnd,
            let t = UTCDateTime(
                validatingYear: sign * yearDigits, month: month, day: day,
                hour: hour, minute: minute, second: second, millisecond: millisecond)
        else { return nil }
        return t.epochMilliseconds
    }

    /// Appends `value` (non-negative) in decimal, left-padded with zeros to `width`, without allocating.
    static func appendPadded(_ value: Int, width: Int, to out: inout String) {
        var digitCount = 1
        var power = 10
        while power <= value {
            power *= 10
            digitCount += 1
        }
        if digitCount < width {
            for _ in digitCount..<width { out.append("0") }
        }
        var divisor = power / 10
        var rest = value
        while divisor > 0 {
            out.unicodeScalars.append(Unicode.Scalar(UInt8(ascii: "0") + UInt8(rest / divisor)))
            rest %= divisor
            divisor /= 10
        }
    }
}

/// A cursor over ASCII bytes for the small fixed grammars in this module.
struct DigitReader {
    let bytes: [UInt8]
    var position = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var atEnd: Bool { position == bytes.count }

    mutating func consume(_ byte: UInt8) -> Bool {
        guard position < bytes.count, bytes[position] == byte else { return false }
        position += 1
        return true
    }

    /// Reads between `minDigits` and `maxDigits` decimal digits (greedy), or returns nil without a sane number.
    mutating func number(minDigits: Int, maxDigits: Int) -> Int? {
        var value = 0
        var count = 0
        while count < maxDigits, position < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[position]) {
            value = value * 10 + Int(bytes[position] - UInt8(ascii: "0"))
            position += 1
            count += 1
        }
        return count >= minDigits ? value : nil
    }
}
