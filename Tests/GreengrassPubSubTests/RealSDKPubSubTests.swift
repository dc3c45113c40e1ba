import Foundation
import GreengrassPubSub
import GreengrassTestSupport
import Testing

/// Two components written with the unmodified AWS IoT Device SDK for Python (`pip install awsiotsdk`,
/// `GreengrassCoreIPCClientV2`) talking through the Swift pub/sub service.
@Suite(.serialized) struct RealSDKPubSubTests {
    static let script = """
        import json, sys, threading
        import awsiot.greengrasscoreipc
        from awsiot.greengrasscoreipc.clientv2 import GreengrassCoreIPCClientV2
        from awsiot.greengrasscoreipc import model

        socket = sys.argv[1]
        def client(component):
            return GreengrassCoreIPCClientV2(client=awsiot.greengrasscoreipc.connect(ipc_socket=socket, authtoken="token-" + component))

        sensor, display = client("com.example.Sensor"), client("com.example.Display")
        out, events, done = {}, [], threading.Event()
        def on_event(event):
            if event.json_message is not None:
                events.append({"kind": "json", "topic": event.json_message.context.topic, "message": event.json_message.message})
            else:
                events.append({"kind": "binary", "topic": event.binary_message.context.topic,
                               "message": list(event.binary_message.message)})
            if len(events) == 3:
                done.set()
        response, operation = display.subscribe_to_topic(topic="sensors/#", on_stream_event=on_event)
        out["subscribe_response"] = type(response).__name__
        sensor.publish_to_topic(topic="sensors/a", publish_message=model.PublishMessage(
            json_message=model.JsonMessage(message={"celsius": 21, "ok": True})))
        sensor.publish_to_topic(topic="sensors/b", publish_message=model.PublishMessage(
            binary_message=model.BinaryMessage(message=bytes([0, 1, 255]))))
        # The display's own message is not echoed to its wildcard subscription (RECEIVE_MESSAGES_FROM_OTHERS).
        display.publish_to_topic(topic="sensors/a", publish_message=model.PublishMessage(
            json_message=model.JsonMessage(message={"from": "display"})))
        sensor.publish_to_topic(topic="sensors/c", publish_message=model.PublishMessage(
            json_message=model.JsonMessage(message="last")))
        done.wait(20)
        out["events"] = events

        def error_of(call):
            try:
                call()
                return None
            except Exception as error:
                return {"class": type(error).__name__, "message": getattr(error, "message", str(error))}
        out["denied_publish"] = error_of(lambda: sensor.publish_to_topic(topic="secret/x", publish_message=model.PublishMessage(
            json_message=model.JsonMessage(message={}))))
        out["wildcard_publish"] = error_of(lambda: sensor.publish_to_topic(topic="sensors/+", publish_message=model.PublishMessage(
            json_message=model.JsonMessage(message={}))))
        out["denied_subscribe"] = error_of(lambda: display.subscribe_to_topic(topic="secret/#", on_stream_event=on_event))
        operation.close()
        sensor.close()
        display.close()
        print("RESULT:" + json.dumps(out), flush=True)
        """

    @Test func componentsUsingTheRealSDK() async throws {
        try await PubSubServer.with(pubsubConfigurations([
            LocalPubSubServiceTests.sensor: [(["PublishToTopic"], ["sensors/*"])],
            LocalPubSubServiceTests.display: [(["SubscribeToTopic"], ["sensors/*"]), (["PublishToTopic"], ["sensors/a"])],
        ])) { server in
            let script = server.directory.file("components.py")
            try Data(Self.script.utf8).write(to: URL(fileURLWithPath: script))
            let run = try await ChildProcess.run(RepositoryFiles.python3, [script, server.socketPath], timeout: .seconds(90))
            #expect(run.exitCode == 0, "stderr: \(run.stderr)")
            let line = try #require(run.stdout.split(separator: "\n").first { $0.hasPrefix("RESULT:") }, "stderr: \(run.stderr)")
            let result = try #require(try JSONSerialization.jsonObject(with: Data(line.dropFirst(7).utf8)) as? [String: Any])

            #expect(result["subscribe_response"] as? String == "SubscribeToTopicResponse")
            let events = try #require(result["events"] as? [[String: Any]])
            try #require(events.count == 3, "\(events)")
            #expect(events[0]["kind"] as? String == "json")
            #expect(events[0]["topic"] as? String == "sensors/a")
            #expect((events[0]["message"] as? [String: Any])?["celsius"] as? Int == 21)
            #expect(events[1]["kind"] as? String == "binary")
            #expect(events[1]["topic"] as? String == "sensors/b")
            #expect(events[1]["message"] as? [Int] == [0, 1, 255])
            #expect(events[2]["topic"] as? String == "sensors/c")
            #expect(events[2]["message"] as? String == "last")

            let denied = result["denied_publish"] as? [String: String]
            #expect(denied?["class"] == "UnauthorizedError")
            #expect(denied?["message"]
                == "Principal com.example.Sensor is not authorized to perform aws.greengrass.ipc.pubsub:aws.greengrass#PublishToTopic on resource secret/x")
            #expect(result["wildcard_publish"] as? [String: String] == ["class": "InvalidArgumentsError", "message": "Publish topic must not contain a wildcard."])
            let deniedSubscribe = result["denied_subscribe"] as? [String: String]
            #expect(deniedSubscribe?["class"] == "UnauthorizedError")
            #expect(deniedSubscribe?["message"]?.hasSuffix("aws.greengrass#SubscribeToTopic on resource secret/#") == true)
            // The SDK's operation.close() and disconnect removed the subscription.
            #expect(await eventually { server.service.statistics.subscriptions == 0 })
        }
    }
}
