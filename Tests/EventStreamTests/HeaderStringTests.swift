import Testing
@testable import EventStream

@Suite("Repeated header strings")
struct HeaderStringTests {
    @Test("bytes compare equal exactly when every byte is, at every length and position of a difference")
    func sameBytes() {
        for length in 0...40 {
            let bytes = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            bytes.withUnsafeBytes { original in
                #expect(RecentHeaderStrings.sameBytes(original, original))
                for position in 0..<length {
                    var changed = bytes
                    changed[position] ^= 0x80
                    changed.withUnsafeBytes { #expect(!RecentHeaderStrings.sameBytes(original, $0), "length \(length), position \(position)") }
                }
                let longer = bytes + [0]
                longer.withUnsafeBytes { #expect(!RecentHeaderStrings.sameBytes(original, $0)) }
            }
        }
    }

    @Test("a remembered string is handed out only for its exact bytes")
    func recentStrings() {
        var recent = RecentHeaderStrings()
        let operation = "aws.greengrass#PublishToIoTCore"
        recent.remember(operation, length: operation.utf8.count)
        Array(operation.utf8).withUnsafeBytes { #expect(recent.string(spelledBy: $0) == operation) }
        Array("aws.greengrass#PublishToIoTCorf".utf8).withUnsafeBytes { #expect(recent.string(spelledBy: $0) == nil) }
        Array("aws.greengrass#PublishToIoTCore2".utf8).withUnsafeBytes { #expect(recent.string(spelledBy: $0) == nil) }
        #expect(RecentHeaderStrings.spells("application/json", UnsafeRawBufferPointer(start: nil, count: 0)) == false)
    }
}
