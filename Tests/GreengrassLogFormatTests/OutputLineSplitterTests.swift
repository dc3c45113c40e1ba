import GreengrassLogFormat
import Testing

@Suite("OutputLineSplitter: component output to log lines")
struct OutputLineSplitterTests {
    static func split(_ chunks: [String], maxLineBytes: Int = 1024) -> [String] {
        var splitter = OutputLineSplitter(maxLineBytes: maxLineBytes)
        var lines: [String] = []
        for chunk in chunks { lines += splitter.feed(Array(chunk.utf8)) }
        return lines + splitter.finish()
    }

    @Test(
        "line ends, trimming, empty lines",
        arguments: [
            (["a\nb\n"], ["a", "b"]),
            (["a\r\nb\r\n"], ["a", "b"]),
            (["a\rb\r"], ["a", "b"]),
            (["a\r", "\nb"], ["a", "b"]),
            (["  padded \t\n"], ["padded"]),
            (["\n\n\r\n  \n"], []),
            (["no newline at exit"], ["no newline at exit"]),
            (["split ", "across ", "chunks\nnext"], ["split across chunks", "next"]),
            ([""], []),
            (["inner  spaces kept\n"], ["inner  spaces kept"]),
            (["ünïcødé ✓\n"], ["ünïcødé ✓"]),
        ])
    func splits(chunks: [String], expected: [String]) {
        #expect(Self.split(chunks) == expected)
    }

    @Test("every chunking of the same stream gives the same lines")
    func chunkingInvariant() {
        let stream = "first line\r\nsecond\n\n  third  \rfourth ✓ ünï\nlast"
        let bytes = Array(stream.utf8)
        let expected = ["first line", "second", "third", "fourth ✓ ünï", "last"]
        for cut1 in 0...bytes.count {
            for cut2 in cut1...bytes.count where cut2 % 3 == 0 || cut2 == bytes.count {
                var splitter = OutputLineSplitter()
                var lines = splitter.feed(Array(bytes[..<cut1]))
                lines += splitter.feed(Array(bytes[cut1..<cut2]))
                lines += splitter.feed(Array(bytes[cut2...]))
                lines += splitter.finish()
                #expect(lines == expected, "cuts \(cut1), \(cut2)")
            }
        }
    }

    @Test("a line that never ends is cut at maxLineBytes and memory stays bounded")
    func overlongLine() {
        var splitter = OutputLineSplitter(maxLineBytes: 100)
        var lines: [String] = []
        for _ in 0..<1000 {
            lines += splitter.feed(Array(repeating: UInt8(ascii: "x"), count: 37))
            #expect(splitter.bufferedByteCount < 100)
        }
        lines += splitter.finish()
        #expect(lines.allSatisfy { $0.utf8.count <= 100 })
        #expect(lines.reduce(0) { $0 + $1.utf8.count } == 37_000)
    }

    @Test("cuts never split a UTF-8 character")
    func utf8SafeCuts() {
        for width in 16...40 {
            var splitter = OutputLineSplitter(maxLineBytes: width)
            let text = String(repeating: "a€😀é", count: 50)
            let lines = splitter.feed(Array(text.utf8)) + splitter.finish()
            #expect(lines.joined() == text, "width \(width)")
            #expect(lines.allSatisfy { !$0.contains("\u{FFFD}") })
        }
    }

    @Test("invalid UTF-8 becomes U+FFFD instead of failing")
    func invalidUTF8() {
        var splitter = OutputLineSplitter()
        let lines = splitter.feed([0x61, 0xFF, 0xFE, 0x62, 0x0A])
        #expect(lines == ["a\u{FFFD}\u{FFFD}b"])
    }
}
