import EventStream
import Foundation
import GreengrassTestSupport
import NIOCore
import Testing

/// The golden frames vendored in `Tests/Fixtures/eventstream`, loaded for table-driven tests.
struct ConformanceVector: CustomTestStringConvertible, @unchecked Sendable {
    let name: String
    let bytes: [UInt8]
    /// The vector's JSON description, as parsed by JSONSerialization.
    let json: [String: Any]

    var testDescription: String { name }
    var direction: String { json["direction"] as? String ?? "" }
    var scenario: String { json["scenario"] as? String ?? "" }

    static let directory = "eventstream"

    /// The vector `<name>.hex` + `<name>.json`; a missing or malformed file throws an error naming its path.
    static func load(_ name: String) throws -> ConformanceVector {
        let bytes = try RepositoryFiles.hexFixture("\(directory)/\(name).hex")
        let jsonFile = "\(directory)/\(name).json"
        guard let json = try? JSONSerialization.jsonObject(with: try RepositoryFiles.fixture(jsonFile)) as? [String: Any] else {
            throw RepositoryFiles.FixtureError(path: RepositoryFiles.fixturePath(jsonFile), problem: "not a JSON object")
        }
        return ConformanceVector(name: name, bytes: bytes, json: json)
    }

    /// Every vector name in the fixture folder (from `.hex` and `.json` files, so a lost half still shows), sorted.
    static let allNames: [String] = {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: RepositoryFiles.fixturePath(directory))) ?? []
        let stems = files.compactMap { file -> String? in
            guard file.hasSuffix(".hex") || file.hasSuffix(".json") else { return nil }
            return String(file[..<file.lastIndex(of: ".")!])
        }
        return Set(stems).sorted()
    }()

    /// Every vector that loads, and an error for each that does not: table-driven tests take the loaded ones,
    /// and one test reports the rest (a missing fixture fails that test; it never stops the run).
    static let loaded: (vectors: [ConformanceVector], failures: [String]) = {
        var vectors: [ConformanceVector] = []
        var failures: [String] = []
        if allNames.isEmpty {
            failures.append("no vectors in \(RepositoryFiles.fixturePath(directory))")
        }
        for name in allNames {
            do { vectors.append(try load(name)) } catch { failures.append("\(error)") }
        }
        return (vectors, failures)
    }()

    static var all: [ConformanceVector] { loaded.vectors }
    static var clientToServer: [ConformanceVector] { all.filter { $0.direction == "client-to-server" } }
    static var serverToClient: [ConformanceVector] { all.filter { $0.direction == "server-to-client" } }
    static var negative: [ConformanceVector] { all.filter { $0.name.hasPrefix("neg") } }

    /// The client frames of the main scenario in wire order (vectors README, step 3).
    static var mainScenarioClientFrames: [ConformanceVector] {
        clientToServer.filter { $0.scenario == "main" }
    }

    /// The vector's headers, built from the JSON description (not from the bytes).
    var expectedHeaders: [EventStreamHeader] {
        (json["headers"] as? [[String: Any]] ?? []).map(Self.header(from:))
    }

    var expectedPayload: [UInt8] { Array((json["payload_text"] as? String ?? "").utf8) }

    static func header(from entry: [String: Any]) -> EventStreamHeader {
        let name = entry["name"] as! String
        let number = entry["value"] as? NSNumber
        let value: EventStreamHeaderValue = switch entry["type_id"] as! Int {
        case 0: .bool(true)
        case 1: .bool(false)
        case 2: .byte(number!.int8Value)
        case 3: .int16(number!.int16Value)
        case 4: .int32(number!.int32Value)
        case 5: .int64(number!.int64Value)
        case 6: .byteBuffer(RepositoryFiles.hexBytes(entry["value_hex"] as! String) ?? [])  // bad hex: no bytes, so the comparison fails
        case 7: .string(entry["value"] as! String)
        case 8: .timestamp(number!.int64Value)
        default: .uuid(EventStreamUUID(string: entry["value"] as! String)!)
        }
        return EventStreamHeader(name: name, value: value)
    }
}

func parseHexUInt32(_ text: String) -> UInt32 {
    UInt32(text.dropFirst(2), radix: 16)!
}

/// Feeds `bytes` to a streaming decoder in the given chunk sizes and collects every frame.
func decodeInChunks(_ bytes: [UInt8], chunkSizes: some Sequence<Int>) throws -> [EventStreamMessage] {
    var decoder = EventStreamDecoder()
    var buffer = ByteBuffer()
    var frames: [EventStreamMessage] = []
    var offset = 0
    var sizes = chunkSizes.makeIterator()
    while offset < bytes.count {
        let size = min(max(1, sizes.next() ?? bytes.count), bytes.count - offset)
        buffer.writeBytes(bytes[offset..<(offset + size)])
        offset += size
        while let frame = try decoder.decode(buffer: &buffer) {
            frames.append(frame)
        }
        buffer.discardReadBytes()
    }
    if let last = try decoder.decodeLast(buffer: &buffer, seenEOF: true) { frames.append(last) }
    return frames
}
