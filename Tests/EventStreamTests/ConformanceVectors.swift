import EventStream
import Foundation
import NIOCore
import Testing

/// The golden frames in `../shared/conformance/eventstream`, loaded for table-driven tests.
struct ConformanceVector: CustomTestStringConvertible, @unchecked Sendable {
    let name: String
    let bytes: [UInt8]
    /// The vector's JSON description, as parsed by JSONSerialization.
    let json: [String: Any]

    var testDescription: String { name }
    var direction: String { json["direction"] as? String ?? "" }
    var scenario: String { json["scenario"] as? String ?? "" }

    static let directory: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("shared/conformance/eventstream")

    static func load(_ name: String) -> ConformanceVector {
        let hexText = try! String(contentsOf: directory.appendingPathComponent(name + ".hex"), encoding: .utf8)
        let jsonData = try! Data(contentsOf: directory.appendingPathComponent(name + ".json"))
        let json = try! JSONSerialization.jsonObject(with: jsonData) as! [String: Any]
        return ConformanceVector(name: name, bytes: hexBytes(hexText), json: json)
    }

    /// Every vector name listed in the directory, sorted (so `01…` comes first).
    static let allNames: [String] = {
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
        return files.filter { $0.hasSuffix(".hex") }.map { String($0.dropLast(4)) }.sorted()
    }()

    static let all: [ConformanceVector] = allNames.map(load)
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
        case 6: .byteBuffer(hexBytes(entry["value_hex"] as! String))
        case 7: .string(entry["value"] as! String)
        case 8: .timestamp(number!.int64Value)
        default: .uuid(EventStreamUUID(string: entry["value"] as! String)!)
        }
        return EventStreamHeader(name: name, value: value)
    }
}

func hexBytes(_ text: String) -> [UInt8] {
    let digits = Array(text.utf8.filter { !($0 == 10 || $0 == 13 || $0 == 32) })
    return stride(from: 0, to: digits.count - 1, by: 2).map { index in
        UInt8(String(decoding: digits[index...index + 1], as: UTF8.self), radix: 16)!
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
