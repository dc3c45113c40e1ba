import GreengrassLogFormat
import Testing

@Suite("ISO_INSTANT timestamps and UTC calendar fields")
struct TimestampTests {
    /// (epoch ms, ISO_INSTANT text) pairs, cross-checked with `date -u -d @<seconds>` and Java's ISO_INSTANT rules.
    static let instants: [(Int64, String)] = [
        (0, "1970-01-01T00:00:00Z"),
        (1, "1970-01-01T00:00:00.001Z"),
        (999, "1970-01-01T00:00:00.999Z"),
        (1000, "1970-01-01T00:00:01Z"),
        (1_659_708_473_230, "2022-08-05T14:07:53.230Z"),
        (1_659_708_473_000, "2022-08-05T14:07:53Z"),
        (1_659_708_473_200, "2022-08-05T14:07:53.200Z"),
        (1_684_924_209_751, "2023-05-24T10:30:09.751Z"),
        (951_782_400_000, "2000-02-29T00:00:00Z"),
        (951_868_799_999, "2000-02-29T23:59:59.999Z"),
        (4_107_542_400_000, "2100-03-01T00:00:00Z"),
        (253_402_300_799_999, "9999-12-31T23:59:59.999Z"),
        (-1, "1969-12-31T23:59:59.999Z"),
        (-86_400_000, "1969-12-31T00:00:00Z"),
        (-62_135_596_800_000, "0001-01-01T00:00:00Z"),
        (1_709_164_800_000, "2024-02-29T00:00:00Z"),
        (1_735_689_599_000, "2024-12-31T23:59:59Z"),
    ]

    @Test("format", arguments: instants)
    func format(ms: Int64, text: String) {
        #expect(ISOInstant.format(epochMilliseconds: ms) == text)
    }

    @Test("parse", arguments: instants)
    func parse(ms: Int64, text: String) {
        #expect(ISOInstant.parse(text) == ms)
    }

    @Test("fractions of any length are truncated to milliseconds")
    func fractionLengths() {
        let base: Int64 = 1_659_708_473_000
        let cases: [(String, Int64)] = [
            ("2022-08-05T14:07:53.2Z", base + 200),
            ("2022-08-05T14:07:53.23Z", base + 230),
            ("2022-08-05T14:07:53.230Z", base + 230),
            ("2022-08-05T14:07:53.230999Z", base + 230),
            ("2022-08-05T14:07:53.000000001Z", base),
            ("2022-08-05T14:07:53.999999999Z", base + 999),
        ]
        for (text, expected) in cases {
            #expect(ISOInstant.parse(text) == expected, "\(text)")
        }
    }

    @Test(
        "malformed instants are rejected",
        arguments: [
            "", "Z", "2022-08-05", "2022-08-05T14:07:53", "2022-08-05T14:07:53.Z", "2022-08-05T14:07:53.1234567890Z",
            "2022-13-05T14:07:53Z", "2022-00-05T14:07:53Z", "2022-02-30T14:07:53Z", "2023-02-29T00:00:00Z",
            "2022-08-05T24:00:00Z", "2022-08-05T14:60:00Z", "2022-08-05T14:07:60Z", "2022-08-05 14:07:53Z",
            "2022-08-05T14:07:53Zjunk", "2022-08-05T14:07:53+01:00", "22-08-05T14:07:53Z", "2022-8-05T14:07:53Z",
            "2022-08-05T14:07:53.23xZ", "\u{0}\u{0}\u{0}", "２０２２-08-05T14:07:53Z",
        ])
    func rejects(text: String) {
        #expect(ISOInstant.parse(text) == nil)
    }

    @Test("every day of 1999...2001 and 2099...2101 round-trips through calendar fields")
    func calendarRoundTrip() {
        var ms = UTCDateTime(year: 1999, month: 1, day: 1).epochMilliseconds
        var expected = UTCDateTime(year: 1999, month: 1, day: 1)
        var checkedDays = 0
        while expected.year < 2002 {
            let fields = UTCDateTime(epochMilliseconds: ms + 45_296_789)  // 12:34:56.789 that day
            #expect(fields == UTCDateTime(year: expected.year, month: expected.month, day: expected.day, hour: 12, minute: 34, second: 56, millisecond: 789))
            #expect(fields.epochMilliseconds == ms + 45_296_789)
            ms += 86_400_000
            checkedDays += 1
            expected.day += 1
            if expected.day > UTCDateTime.daysInMonth(year: expected.year, month: expected.month) {
                expected.day = 1
                expected.month += 1
                if expected.month > 12 {
                    expected.month = 1
                    expected.year += 1
                }
            }
        }
        #expect(checkedDays == 365 + 366 + 365)
    }

    @Test("leap years")
    func leapYears() {
        #expect(UTCDateTime.isLeapYear(2000))
        #expect(UTCDateTime.isLeapYear(2024))
        #expect(!UTCDateTime.isLeapYear(1900))
        #expect(!UTCDateTime.isLeapYear(2100))
        #expect(!UTCDateTime.isLeapYear(2023))
    }

    @Test("format and parse are inverse over a pseudo-random sample")
    func sampledRoundTrip() {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        for _ in 0..<5000 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            let ms = Int64(state >> 21) % 253_402_300_800_000  // 1970...9999
            #expect(ISOInstant.parse(ISOInstant.format(epochMilliseconds: ms)) == ms)
        }
    }
}
