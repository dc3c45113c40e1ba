#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `aws.greengrass#QOS`: the strings "0" and "1" on the wire; integers are accepted too (lenient on input,
/// strict on output, as the reference recommends).
public enum IoTCoreQoS: String, Codable, Sendable {
    case atMostOnce = "0"
    case atLeastOnce = "1"

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let text = try? container.decode(String.self), let value = IoTCoreQoS(rawValue: text) {
            self = value
        } else if let number = try? container.decode(Int.self), let value = IoTCoreQoS(rawValue: String(number)) {
            self = value
        } else {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: "Invalid QoS value: expected \"0\" or \"1\"")
        }
    }
}

/// `aws.greengrass#PayloadFormat`: "0" bytes, "1" UTF-8.
public enum IoTCorePayloadFormat: String, Codable, Sendable {
    case bytes = "0"
    case utf8 = "1"
}

/// `aws.greengrass#UserProperty`.
public struct IoTCoreUserProperty: Codable, Sendable, Equatable {
    public var key: String
    public var value: String
    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }
}

/// `aws.greengrass#PublishToIoTCoreRequest`. Blobs are base64 strings in JSON (Foundation's `Data` coding).
public struct PublishToIoTCoreRequest: Codable, Sendable, Equatable {
    public var topicName: String?
    public var qos: IoTCoreQoS?
    public var payload: Data?
    public var retain: Bool?
    public var userProperties: [IoTCoreUserProperty]?
    public var messageExpiryIntervalSeconds: Int64?
    public var correlationData: Data?
    public var responseTopic: String?
    public var payloadFormat: IoTCorePayloadFormat?
    public var contentType: String?

    public init(topicName: String?, qos: IoTCoreQoS?, payload: Data?) {
        self.topicName = topicName
        self.qos = qos
        self.payload = payload
    }
}

/// `aws.greengrass#SubscribeToIoTCoreRequest`.
public struct SubscribeToIoTCoreRequest: Codable, Sendable, Equatable {
    public var topicName: String?
    public var qos: IoTCoreQoS?

    public init(topicName: String?, qos: IoTCoreQoS?) {
        self.topicName = topicName
        self.qos = qos
    }
}

/// `aws.greengrass#MQTTMessage`, the member of the `IoTCoreMessage` event.
public struct IoTCoreMessageBody: Codable, Sendable, Equatable {
    public var topicName: String
    public var payload: Data
    public var retain: Bool?
    public var userProperties: [IoTCoreUserProperty]?
    public var messageExpiryIntervalSeconds: Int64?
    public var correlationData: Data?
    public var responseTopic: String?
    public var payloadFormat: IoTCorePayloadFormat?
    public var contentType: String?

    public init(topicName: String, payload: Data) {
        self.topicName = topicName
        self.payload = payload
    }
}

/// `aws.greengrass#IoTCoreMessage` stream event: a union with the single member `message`.
public struct IoTCoreMessageEvent: Codable, Sendable, Equatable {
    public var message: IoTCoreMessageBody
    public init(message: IoTCoreMessageBody) { self.message = message }

    public static let shape = "aws.greengrass#IoTCoreMessage"
}

/// Responses of operations whose response shape has no members.
public struct EmptyShape: Codable, Sendable, Equatable {
    public init() {}
}
