import EventStream
import EventStreamRPCServer
import Foundation
import GreengrassIPCModel
import GreengrassTestSupport
import NIOCore
import Testing

extension EventStreamRPCSuites {
/// Vectors README step 5: the SDK's own frames replayed over a real socket, each answer checked against the
/// matching server vector semantically (type, flags, stream id, service-model-type, JSON body).
@Suite("Scenario replay over a socket", .serialized)
struct ScenarioReplayTests {
    /// Client frame → the server vectors expected in answer (empty: no answer).
    static let steps: [(String, [String])] = [
        ("05_c2s_ping", ["06_s2c_ping_response"]),
        ("07_c2s_publish_to_iot_core_request", ["08_s2c_publish_to_iot_core_response"]),
        ("09_c2s_subscribe_to_iot_core_request", ["10_s2c_subscribe_to_iot_core_response", "11_s2c_iot_core_message_event"]),
        ("12_c2s_subscribe_to_iot_core_client_terminate_stream", []),
        ("13_c2s_publish_to_topic_request", ["14_s2c_publish_to_topic_response"]),
        ("15_c2s_subscribe_to_topic_request", ["16_s2c_subscribe_to_topic_response",
                                               "17_s2c_subscription_response_message_event",
                                               "18_s2c_server_terminate_stream"]),
        ("19_c2s_get_configuration_request", ["20_s2c_get_configuration_response"]),
        ("21_c2s_update_configuration_request", ["22_s2c_update_configuration_response"]),
        ("23_c2s_update_state_request", ["24_s2c_update_state_response"]),
        ("25_c2s_publish_to_iot_core_forbidden_request", ["26_s2c_unauthorized_error"]),
    ]

    static func json(_ buffer: ByteBuffer) -> NSDictionary? {
        try? JSONSerialization.jsonObject(with: Data(buffer.readableBytesView)) as? NSDictionary
    }

    static func expectSame(_ actual: RPCMessage?, as vectorName: String) throws {
        let expected = try Conformance.rpc(vectorName)
        let actual = try #require(actual, "no answer where \(vectorName) was expected")
        #expect(actual.type == expected.type, "\(vectorName)")
        #expect(actual.flags == expected.flags, "\(vectorName)")
        #expect(actual.streamID == expected.streamID, "\(vectorName)")
        #expect(actual.serviceModelType == expected.serviceModelType, "\(vectorName)")
        #expect(actual.contentType == expected.contentType, "\(vectorName)")
        if expected.payload.readableBytes == 0 {
            #expect(actual.payload.readableBytes == 0, "\(vectorName)")
        } else {
            #expect(json(actual.payload) == json(expected.payload), "\(vectorName)")
        }
    }

    @Test("main scenario: every answer matches its vector; the handler learns of the client's close")
    func mainScenario() async throws {
        let terminations = TerminationLog()
        let server = try await RunningServer(handler: conformanceRouter(terminations: terminations))
        let connection = try await RawConnection(socketPath: server.socketPath)
        try await connection.send(Conformance.frame("01_c2s_connect"))
        try Self.expectSame(await connection.next(), as: "02_s2c_connect_ack_accepted")
        for (request, answers) in Self.steps {
            try await connection.send(Conformance.frame(request))
            for answer in answers {
                try Self.expectSame(await connection.next(), as: answer)
            }
            if request.hasPrefix("12_") {
                let ended = await terminations.next()
                #expect(ended?.0 == "aws.greengrass#SubscribeToIoTCore" && ended?.1 == .clientClosed)
            }
            if request.hasPrefix("15_") {
                let ended = await terminations.next()
                #expect(ended?.0 == "aws.greengrass#SubscribeToTopic" && ended?.1 == .serverClosed)
            }
        }
        // RestartComponent is not registered: a modeled ServiceError naming it, and the connection stays up.
        try await connection.send(Conformance.frame("27_c2s_restart_component_request"))
        let unsupported = await connection.next()
        #expect(unsupported?.type == .applicationError && unsupported?.flags == .terminateStream && unsupported?.streamID == 9)
        #expect(unsupported?.serviceModelType == "aws.greengrass#ServiceError")
        #expect(unsupported.flatMap { Self.json($0.payload)?["message"] as? String }
            == "Operation aws.greengrass#RestartComponent is not supported by Greengrass")
        try await connection.send(Conformance.frame("29_c2s_stop_component_request"))
        let stopped = await connection.next()
        #expect(stopped?.serviceModelType == "aws.greengrass#StopComponentResponse" && stopped?.streamID == 10)
        await connection.close()
        try await server.stop()
    }

    @Test("a wrong token gets a rejecting ConnectAck (vector 32), then the server closes after its grace period")
    func rejectedToken() async throws {
        let server = try await RunningServer { $0.rejectionGracePeriod = .milliseconds(100) }
        let connection = try await RawConnection(socketPath: server.socketPath)
        try await connection.send(Conformance.frame("31_c2s_connect_wrong_token"))
        try Self.expectSame(await connection.next(), as: "32_s2c_connect_ack_rejected")
        #expect(await connection.serverCloses())
        try await server.stop()
    }

    @Test(
        "protocol violations: ProtocolError on stream 0, then that connection only is closed",
        arguments: [
            "07_c2s_publish_to_iot_core_request",  // a request before Connect
            "neg06_rpc_missing_stream_id",
            "neg01_bad_prelude_crc",
            "neg02_bad_message_crc",
            "neg04_unknown_header_type",
            "neg05_headers_length_overflow",
        ]
    )
    func violation(frame: String) async throws {
        let server = try await RunningServer()
        let bystander = try await RawConnection(socketPath: server.socketPath)
        #expect(try await bystander.handshake())

        let connection = try await RawConnection(socketPath: server.socketPath)
        if frame.hasPrefix("neg0") && frame != "neg06_rpc_missing_stream_id" {
            #expect(try await connection.handshake())
        }
        try await connection.send(Conformance.frame(frame))
        let answer = await connection.next()
        #expect(answer?.type == .protocolError && answer?.streamID == 0 && answer?.contentType == "application/json")
        #expect(answer.flatMap { Self.json($0.payload)?["message"] as? String }?.isEmpty == false)
        #expect(await connection.serverCloses())

        // The other connection is unaffected, and the server still accepts.
        try await bystander.send(Conformance.frame("05_c2s_ping"))
        #expect(await bystander.next()?.type == .pingResponse)
        let fresh = try await RawConnection(socketPath: server.socketPath)
        #expect(try await fresh.handshake())
        await fresh.close()
        await bystander.close()
        try await server.stop()
    }

    @Test("a truncated frame is waited for; the server closes when the client gives up")
    func truncatedFrame() async throws {
        let server = try await RunningServer()
        let connection = try await RawConnection(socketPath: server.socketPath)
        #expect(try await connection.handshake())
        try await connection.send(Conformance.frame("neg03_truncated"))
        try await connection.send(Conformance.frame("05_c2s_ping").prefix(5).map { $0 })
        // Nothing can be answered: the server is still waiting for the rest of the 290-byte frame.
        #expect(await connection.next(timeout: .milliseconds(300)) == nil)
        await connection.close()
        #expect(await eventually(timeout: .seconds(10), every: .milliseconds(10)) { server.server.connectionCount == 0 })
        try await server.stop()
    }
}
}

