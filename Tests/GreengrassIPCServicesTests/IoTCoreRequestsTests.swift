import GreengrassIPCModel
import MQTTCore
import NIOCore
import Testing
@testable import GreengrassIPCServices

@Suite("PublishToIoTCore request decoding")
struct IoTCoreRequestsTests {
    @Test("every member is read, blobs decoded into buffers, MQTT 5 members into properties")
    func everyMember() throws {
        let json = #"""
            {"topicName":"a/b","qos":"1","payload":"aGk=","retain":true,"messageExpiryIntervalSeconds":30,
             "userProperties":[{"key":"k","value":"v"}],"correlationData":"AQI=","responseTopic":"r","payloadFormat":"1",
             "contentType":"text/plain","unknownMember":{"ignored":[1,2]}}
            """#
        let request = try PublishToIoTCoreInput(json: Array(json.utf8))
        #expect(request.topic == "a/b" && request.qos == .atLeastOnce && request.retain)
        #expect(request.payload == ByteBuffer(string: "hi"))
        #expect(request.messageExpiryIntervalSeconds == 30)
        var properties = MQTTProperties()
        properties.userProperties = [MQTTUserProperty("k", "v")]
        properties.correlationData = [1, 2]
        properties.responseTopic = "r"
        properties.payloadFormatIndicator = 1
        properties.contentType = "text/plain"
        #expect(request.properties == properties)
    }

    @Test("a repeated member counts with its last value, as in any parsed JSON object; null is absent")
    func repeatedAndNull() throws {
        let request = try PublishToIoTCoreInput(json: Array(#"{"topicName":"first","qos":0,"topicName":"last","payload":null,"retain":null}"#.utf8))
        #expect(request.topic == "last")
        #expect(request.qos == .atMostOnce)
        #expect(request.payload == nil && !request.retain)
        // Only the last value is checked: a repeated member's earlier value of the wrong type does not count.
        #expect(try PublishToIoTCoreInput(json: Array(#"{"retain":"no","retain":true}"#.utf8)).retain)
        #expect(throws: IPCModeledError.self) { try PublishToIoTCoreInput(json: Array(#"{"retain":true,"retain":"no"}"#.utf8)) }
    }
}
