import EventStream
import Foundation
import GreengrassTestSupport
import NIOCore
import Testing

@Suite("Conformance vectors (real SDK frames)")
struct ConformanceVectorTests {
    @Test("every vector in Tests/Fixtures/eventstream loads")
    func everyVectorLoads() {
        #expect(ConformanceVector.loaded.failures == [])
    }

    @Test("a missing vector is an error naming its path, not a crash")
    func missingVectorNamesItsPath() {
        #expect {
            _ = try ConformanceVector.load("99_no_such_vector")
        } throws: { error in
            "\(error)".contains(RepositoryFiles.root + "/Tests/Fixtures/eventstream/99_no_such_vector.hex") && "\(error)".contains("missing")
        }
    }

    @Test("hex fixtures: digits and whitespace only, an even count")
    func hexParsing() {
        #expect(RepositoryFiles.hexBytes("00ff 7A\n") == [0x00, 0xFF, 0x7A])
        #expect(RepositoryFiles.hexBytes("") == [])
        #expect(RepositoryFiles.hexBytes("abc") == nil)
        #expect(RepositoryFiles.hexBytes("zz") == nil)
        #expect(RepositoryFiles.hexBytes("0x12") == nil)
        #expect(RepositoryFiles.hexBytes("+1") == nil)
    }

    @Test("the vector set is complete")
    func vectorSetIsComplete() {
        #expect(ConformanceVector.clientToServer.count == 16)
        #expect(ConformanceVector.serverToClient.count == 18)
        #expect(ConformanceVector.negative.count == 6)
        #expect(ConformanceVector.mainScenarioClientFrames.map { String($0.name.prefix(2)) } ==
            ["01", "05", "07", "09", "12", "13", "15", "19", "21", "23", "25", "27", "29"])
    }

    @Test("c2s: decoded field by field, re-encoded byte-identical", arguments: ConformanceVector.clientToServer)
    func clientFrameDecodes(vector: ConformanceVector) throws {
        var buffer = ByteBuffer(bytes: vector.bytes)
        let message = try #require(try EventStreamDecoder.decodeMessage(from: &buffer))
        #expect(buffer.readableBytes == 0)

        let prelude = vector.json["prelude"] as! [String: Any]
        #expect(vector.bytes.count == vector.json["length"] as? Int)
        #expect(Int(readUInt32(vector.bytes, at: 0)) == prelude["total_length"] as? Int)
        #expect(Int(readUInt32(vector.bytes, at: 4)) == prelude["headers_length"] as? Int)
        #expect(readUInt32(vector.bytes, at: 8) == parseHexUInt32(prelude["prelude_crc"] as! String))
        #expect(readUInt32(vector.bytes, at: vector.bytes.count - 4) == parseHexUInt32(vector.json["message_crc"] as! String))

        #expect(message.headers == vector.expectedHeaders)
        #expect(message.headers.map { Int($0.value.typeID) } ==
            (vector.json["headers"] as! [[String: Any]]).map { $0["type_id"] as! Int })
        #expect(Array(buffer: message.payload) == vector.expectedPayload)
        #expect(message.payload.readableBytes == vector.json["payload_length"] as? Int)

        let rpcJSON = vector.json["rpc"] as! [String: Any]
        let rpc = try RPCMessage(message)
        #expect(Int(rpc.type.rawValue) == rpcJSON["message_type"] as? Int)
        #expect(Int(rpc.flags.rawValue) == rpcJSON["message_flags"] as? Int)
        #expect(Int(rpc.streamID) == rpcJSON["stream_id"] as? Int)
        #expect(rpc.operation == rpcJSON["operation"] as? String)
        #expect(rpc.contentType == rpcJSON["content_type"] as? String)
        #expect(rpc.serviceModelType == rpcJSON["service_model_type"] as? String)
        #expect(rpc.version == rpcJSON["version"] as? String)

        #expect(Array(buffer: try EventStreamEncoder.encode(message)) == vector.bytes)
        // The RPC view re-emits headers in the C runtime's order, which is the order the SDK client used.
        #expect(Array(buffer: try EventStreamEncoder.encode(rpc.eventStreamMessage)) == vector.bytes)
    }

    @Test("s2c: encoded from the JSON byte-identical", arguments: ConformanceVector.serverToClient)
    func serverFrameEncodes(vector: ConformanceVector) throws {
        let message = EventStreamMessage(headers: vector.expectedHeaders, payload: ByteBuffer(bytes: vector.expectedPayload))
        #expect(Array(buffer: try EventStreamEncoder.encode(message)) == vector.bytes)
    }

    @Test("s2c: the RPC helpers build the same bytes the real client accepted")
    func rpcHelpersMatchVectors() throws {
        func bytes(_ rpc: RPCMessage) throws -> [UInt8] { Array(buffer: try EventStreamEncoder.encode(rpc.eventStreamMessage)) }
        #expect(try bytes(RPCMessage(type: .connectAck, flags: .connectionAccepted)) == ConformanceVector.load("02_s2c_connect_ack_accepted").bytes)
        #expect(try bytes(RPCMessage(type: .connectAck)) == ConformanceVector.load("32_s2c_connect_ack_rejected").bytes)
        #expect(try bytes(RPCMessage(type: .pingResponse)) == ConformanceVector.load("06_s2c_ping_response").bytes)
        #expect(try bytes(.terminateStream(4)) == ConformanceVector.load("18_s2c_server_terminate_stream").bytes)
        #expect(try bytes(.modeled(.applicationMessage, streamID: 1, flags: .terminateStream,
                                   shape: "aws.greengrass#PublishToIoTCoreResponse", json: ByteBuffer(string: "{}")))
            == ConformanceVector.load("08_s2c_publish_to_iot_core_response").bytes)
        let event = try ConformanceVector.load("11_s2c_iot_core_message_event")
        #expect(try bytes(.modeled(.applicationMessage, streamID: 2, flags: [], shape: "aws.greengrass#IoTCoreMessage",
                                   json: ByteBuffer(bytes: event.expectedPayload))) == event.bytes)
    }

    @Test("the main-scenario client stream decodes identically in 1-byte, random and whole chunks")
    func streamingDecoder() throws {
        let frames = ConformanceVector.mainScenarioClientFrames
        let stream = frames.flatMap(\.bytes)
        let expected = frames.map { vector in
            EventStreamMessage(headers: vector.expectedHeaders, payload: ByteBuffer(bytes: vector.expectedPayload))
        }
        #expect(try decodeInChunks(stream, chunkSizes: repeatElement(1, count: stream.count)) == expected)
        #expect(try decodeInChunks(stream, chunkSizes: [stream.count]) == expected)
        for seed in UInt64(1)...20 {
            var random = SplitMix64(state: seed)
            let sizes = (0..<stream.count).map { _ in Int.random(in: 1...300, using: &random) }
            #expect(try decodeInChunks(stream, chunkSizes: sizes) == expected, "seed \(seed)")
        }
    }

    @Test("negative vectors give their expected error and no frame", arguments: ConformanceVector.negative.filter { $0.name != "neg06_rpc_missing_stream_id" && $0.name != "neg03_truncated" })
    func negativeVectorFails(vector: ConformanceVector) {
        var buffer = ByteBuffer(bytes: vector.bytes)
        #expect {
            _ = try EventStreamDecoder.decodeMessage(from: &buffer)
        } throws: { error in
            (error as? EventStreamDecodingError)?.kind == vector.json["expected_error"] as? String
        }
    }

    @Test("neg01: the prelude CRC fails after only 12 bytes")
    func preludeCRCFailsEarly() throws {
        let vector = try ConformanceVector.load("neg01_bad_prelude_crc")
        var buffer = ByteBuffer(bytes: vector.bytes[0..<11])
        #expect(try EventStreamDecoder.decodeMessage(from: &buffer) == nil)
        buffer.writeInteger(vector.bytes[11])
        #expect(throws: EventStreamDecodingError.preludeChecksumMismatch(
            expected: readUInt32(vector.bytes, at: 8), computed: CRC32.checksum(vector.bytes[0..<8]))) {
            _ = try EventStreamDecoder.decodeMessage(from: &buffer)
        }
    }

    @Test("neg03: a truncated frame waits for more data, and is an error at EOF")
    func truncatedFrame() throws {
        let vector = try ConformanceVector.load("neg03_truncated")
        #expect(vector.json["expected_error"] as? String == "truncated")
        var decoder = EventStreamDecoder()
        var buffer = ByteBuffer(bytes: vector.bytes)
        #expect(try decoder.decode(buffer: &buffer) == nil)
        #expect(buffer.readableBytes == vector.bytes.count)
        #expect(throws: EventStreamDecodingError.truncated(bufferedBytes: vector.bytes.count)) {
            _ = try decoder.decodeLast(buffer: &buffer, seenEOF: true)
        }
    }

    @Test("neg06: framing decodes, the RPC layer answers a ProtocolError shaped like vector 34 and closes")
    func missingStreamID() throws {
        let vector = try ConformanceVector.load("neg06_rpc_missing_stream_id")
        var buffer = ByteBuffer(bytes: vector.bytes)
        let message = try #require(try EventStreamDecoder.decodeMessage(from: &buffer))
        #expect(throws: RPCMessageError.missingControlHeader(name: ":stream-id")) { _ = try RPCMessage(message) }

        var machine = RPCServerConnectionStateMachine()
        guard case .sendAndClose(let reply) = machine.receivedMessage(message) else {
            Issue.record("expected a ProtocolError and close")
            return
        }
        var model = ByteBuffer(bytes: try ConformanceVector.load("34_c2s_protocol_error").bytes)
        let expected = try RPCMessage(try #require(try EventStreamDecoder.decodeMessage(from: &model)))
        #expect(reply.type == expected.type)
        #expect(reply.flags == expected.flags)
        #expect(reply.streamID == expected.streamID)
        #expect(reply.contentType == expected.contentType)
        let body = try JSONSerialization.jsonObject(with: Data(reply.payload.readableBytesView)) as? [String: String]
        let expectedBody = try JSONSerialization.jsonObject(with: Data(expected.payload.readableBytesView)) as? [String: String]
        #expect(body == expectedBody)
        #expect(machine.isClosed)
    }
}

func readUInt32(_ bytes: [UInt8], at offset: Int) -> UInt32 {
    bytes[offset..<(offset + 4)].reduce(0) { $0 << 8 | UInt32($1) }
}
