import Foundation
import GreengrassTestSupport
import Testing

extension EventStreamRPCSuites {
/// The unmodified AWS IoT Device SDK for Python (`pip install awsiotsdk`) against the Swift server.
@Suite("Real AWS IoT Device SDK client", .serialized)
struct RealSDKTests {
    /// Runs the shared capture script's client against `socketPath` and returns what the SDK observed.
    static func capture(socketPath: String, token: String, scenario: String = "main") async throws -> [String: Any] {
        let run = try await ChildProcess.run(
            RepositoryFiles.python3,
            [Conformance.captureScript, "--client-only", "--socket", socketPath, "--authtoken", token, "--scenario", scenario],
            timeout: .seconds(120))
        let marker = "CAPTURE_RESULT_JSON:"
        let line = try #require(run.stdout.split(separator: "\n").first { $0.hasPrefix(marker) },
                                "capture.py printed no result; exit \(run.exitCode), stderr: \(run.stderr)")
        return try #require(try JSONSerialization.jsonObject(with: Data(line.dropFirst(marker.count).utf8)) as? [String: Any])
    }

    @Test("capture.py --client-only: connect, responses, stream events, closes and modeled errors")
    func captureScenario() async throws {
        let server = try await RunningServer()
        let result = try await Self.capture(socketPath: server.socketPath, token: Conformance.token)
        let steps = try #require(result["steps"] as? [String: [String: Any]])

        #expect(steps["connect"]?["ok"] as? Bool == true)
        #expect(steps["client_ping"]?["ok"] as? Bool == true)
        #expect(steps["publish_to_iot_core"]?["response_class"] as? String == "PublishToIoTCoreResponse")
        #expect(steps["publish_to_iot_core"]?["stream_closed"] as? Bool == true)

        let iot = try #require(steps["subscribe_to_iot_core"])
        #expect(iot["response_class"] as? String == "SubscribeToIoTCoreResponse")
        let iotEvents = iot["events"] as? [[String: String]]
        #expect(iotEvents == [["event_class": "IoTCoreMessage", "topic_name": "core/topic", "payload": #"{"msg":"hello.world"}"#]])
        #expect(iot["on_stream_closed_called"] as? Bool == true)
        #expect((iot["stream_errors"] as? [Any])?.isEmpty == true)

        #expect(steps["publish_to_topic"]?["response_class"] as? String == "PublishToTopicResponse")
        let topic = try #require(steps["subscribe_to_topic"])
        #expect(topic["response_class"] as? String == "SubscribeToTopicResponse")
        let topicEvents = try #require(topic["events"] as? [[String: Any]])
        #expect(topicEvents.count == 1)
        #expect(topicEvents.first?["message"] as? [String: String] == ["msg": "hello.world"])
        #expect(topicEvents.first?["context_topic"] as? String == "local/topic")
        #expect(topic["on_stream_closed_called"] as? Bool == true)

        #expect(steps["get_configuration"]?["component_name"] as? String == Conformance.component)
        #expect(steps["get_configuration"]?["value"] as? [String: String] == ["topic": "core/topic"])
        #expect(steps["update_configuration"]?["response_class"] as? String == "UpdateConfigurationResponse")
        #expect(steps["update_state"]?["response_class"] as? String == "UpdateStateResponse")

        let denied = try #require(steps["publish_to_iot_core_unauthorized"])
        #expect(denied["raised"] as? Bool == true)
        #expect(denied["exception"] as? String == "awsiot.greengrasscoreipc.model.UnauthorizedError")
        #expect(denied["message"] as? String == "Principal com.example.Conformance is not authorized to perform aws.greengrass.ipc.mqttproxy:aws.greengrass#PublishToIoTCore on resource forbidden/topic")

        // Unregistered operation → modeled ServiceError the SDK maps to its ServiceError class.
        let unsupported = try #require(steps["restart_component_unknown_error_type"])
        #expect(unsupported["exception"] as? String == "awsiot.greengrasscoreipc.model.ServiceError")
        #expect(unsupported["message"] as? String == "Operation aws.greengrass#RestartComponent is not supported by Greengrass")
        // StopComponent is answered normally by this server.
        #expect(steps["stop_component_unmodeled_error"]?["raised"] as? Bool == false)

        #expect(steps["close"]?["ok"] as? Bool == true)
        #expect((result["lifecycle_on_error"] as? [Any])?.isEmpty == true)
        try await server.stop()
    }

    @Test("a rejected token surfaces in the SDK as AccessDeniedError")
    func rejectedToken() async throws {
        let server = try await RunningServer()
        let result = try await Self.capture(socketPath: server.socketPath, token: "WRONGTOKEN000000", scenario: "reject")
        let connect = try #require((result["steps"] as? [String: [String: Any]])?["connect"])
        #expect(connect["ok"] as? Bool == false)
        #expect(connect["exception"] as? String == "awsiot.eventstreamrpc.AccessDeniedError")
        try await server.stop()
    }

    @Test("clientv2, configured from the environment like a real component")
    func clientV2() async throws {
        let server = try await RunningServer()
        let script = server.directory.file("component.py")
        try Data(Self.clientV2Script.utf8).write(to: URL(fileURLWithPath: script))
        var environment = ProcessInfo.processInfo.environment
        environment["SVCUID"] = Conformance.token
        environment["AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT"] = server.socketPath
        let run = try await ChildProcess.run(RepositoryFiles.python3, [script], environment: environment, timeout: .seconds(60))
        #expect(run.exitCode == 0, "stderr: \(run.stderr)")
        let line = try #require(run.stdout.split(separator: "\n").first { $0.hasPrefix("RESULT:") }, "stderr: \(run.stderr)")
        let result = try #require(try JSONSerialization.jsonObject(with: Data(line.dropFirst(7).utf8)) as? [String: Any])
        #expect(result["value"] as? [String: String] == ["topic": "core/topic"])
        #expect(result["published"] as? Bool == true)
        #expect(result["events"] as? [[String: String]] == [["msg": "hello.world"]])
        #expect(result["closed"] as? Bool == true)
        #expect(result["unauthorized"] as? String == "Principal com.example.Conformance is not authorized to perform aws.greengrass.ipc.mqttproxy:aws.greengrass#PublishToIoTCore on resource forbidden/topic")
        try await server.stop()
    }

    static let clientV2Script = """
        import json, threading
        from awsiot.greengrasscoreipc.clientv2 import GreengrassCoreIPCClientV2
        from awsiot.greengrasscoreipc import model

        out = {}
        ipc = GreengrassCoreIPCClientV2()
        out["value"] = ipc.get_configuration(key_path=["mqtt", "topic"]).value
        ipc.publish_to_topic(topic="local/topic",
                             publish_message=model.PublishMessage(json_message=model.JsonMessage(message={"a": 1})))
        out["published"] = True
        events, got, closed = [], threading.Event(), threading.Event()
        def on_event(event):
            events.append(event.json_message.message)
            got.set()
        ipc.subscribe_to_topic(topic="local/topic", on_stream_event=on_event, on_stream_closed=closed.set)
        got.wait(10)
        closed.wait(10)
        out["events"], out["closed"] = events, closed.is_set()
        try:
            ipc.publish_to_iot_core(topic_name="forbidden/topic", qos="0", payload=b"x")
        except model.UnauthorizedError as error:
            out["unauthorized"] = error.message
        ipc.close()
        print("RESULT:" + json.dumps(out), flush=True)
        """
}
}
