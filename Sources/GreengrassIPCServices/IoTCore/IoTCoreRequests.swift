import EventStreamRPCServer
import GreengrassIPCModel
import GreengrassJSON
import MQTTCore
import NIOCore

/// A `PublishToIoTCore` request decoded once from its JSON body: the payload is already in the buffer the MQTT
/// client sends (base64 decoded straight into it), the MQTT 5 members already properties.
struct PublishToIoTCoreInput {
    var topic: String?
    var qos: QoS?
    var payload: ByteBuffer?
    var retain: Bool
    var properties: MQTTProperties
    /// `messageExpiryIntervalSeconds` as sent, range-checked by the operation (Greengrass's order of checks).
    var messageExpiryIntervalSeconds: Int?

    init(json body: [UInt8]) throws(IPCModeledError) {
        let fields = try RequestFields(body, shape: "PublishToIoTCoreRequest")
        topic = try fields.string("topicName")
        qos = try fields.qos("qos")
        payload = try fields.blob("payload")
        retain = try fields.bool("retain") ?? false
        messageExpiryIntervalSeconds = try fields.int("messageExpiryIntervalSeconds")
        // Only members that are there are set: setting any property (even to nil) gives the properties a box of
        // their own, and most requests have none of these members.
        properties = MQTTProperties()
        let userProperties = try fields.userProperties("userProperties")
        if !userProperties.isEmpty { properties.userProperties = userProperties }
        if let correlationData = try fields.blob("correlationData") { properties.correlationData = Array(buffer: correlationData) }
        if let responseTopic = try fields.string("responseTopic") { properties.responseTopic = responseTopic }
        if let payloadFormat = try fields.payloadFormat("payloadFormat") { properties.payloadFormatIndicator = payloadFormat }
        if let contentType = try fields.string("contentType") { properties.contentType = contentType }
    }
}

/// A `SubscribeToIoTCore` request.
struct SubscribeToIoTCoreInput {
    var topic: String?
    var qos: QoS?

    init(json body: [UInt8]) throws(IPCModeledError) {
        let fields = try RequestFields(body, shape: "SubscribeToIoTCoreRequest")
        topic = try fields.string("topicName")
        qos = try fields.qos("qos")
    }
}

/// The members of a request object, read with GreengrassJSON's parser; a member of the wrong type is the
/// caller's fault (`InvalidArgumentsError` naming the member), a missing or null one is nil.
private struct RequestFields {
    /// The members in document order: a request has a handful, and the decoders ask for every member they know
    /// (ten for PublishToIoTCore, most of them absent), so comparing names beats building and hashing a dictionary.
    let members: [OrderedJSONValue.Member]
    let shape: String

    init(_ body: [UInt8], shape: String) throws(IPCModeledError) {
        self.shape = shape
        guard !body.isEmpty else {
            members = []
            return
        }
        let value: OrderedJSONValue
        do {
            value = try OrderedJSONValue(parsing: body)
        } catch {
            throw .invalidArguments("Request body is not a valid \(shape): \(error)")
        }
        guard case .object(let members) = value else {
            throw .invalidArguments("Request body is not a valid \(shape): expected an object, found \(value.unordered.kindName)")
        }
        self.members = members
    }

    /// The member's value; a repeated name's last value, as in a parsed ``JSONValue`` object.
    private func present(_ name: String) -> OrderedJSONValue? {
        guard let value = members.last(where: { $0.key == name })?.value, value != .null else { return nil }
        return value
    }

    private func mismatch(_ name: String, _ expected: String, _ value: OrderedJSONValue) -> IPCModeledError {
        .invalidArguments("Request body is not a valid \(shape): \(name) must be \(expected), found \(value.unordered.kindName)")
    }

    func string(_ name: String) throws(IPCModeledError) -> String? {
        guard let value = present(name) else { return nil }
        guard case .string(let text) = value else { throw mismatch(name, "a string", value) }
        return text
    }

    func bool(_ name: String) throws(IPCModeledError) -> Bool? {
        guard let value = present(name) else { return nil }
        guard case .bool(let flag) = value else { throw mismatch(name, "a boolean", value) }
        return flag
    }

    func int(_ name: String) throws(IPCModeledError) -> Int? {
        guard let value = present(name) else { return nil }
        guard case .int(let number) = value else { throw mismatch(name, "an integer", value) }
        return number
    }

    /// `aws.greengrass#QOS`: "0" or "1"; integers accepted too (lenient on input).
    func qos(_ name: String) throws(IPCModeledError) -> QoS? {
        guard let value = present(name) else { return nil }
        switch value {
        case .string("0"), .int(0): return .atMostOnce
        case .string("1"), .int(1): return .atLeastOnce
        default: throw .invalidArguments("Invalid QoS value: expected \"0\" or \"1\"")
        }
    }

    /// `aws.greengrass#PayloadFormat` ("0" bytes, "1" UTF-8) as the MQTT 5 payload format indicator.
    func payloadFormat(_ name: String) throws(IPCModeledError) -> UInt8? {
        guard let value = present(name) else { return nil }
        switch value {
        case .string("0"): return 0
        case .string("1"): return 1
        default: throw .invalidArguments("Request body is not a valid \(shape): \(name) must be \"0\" or \"1\"")
        }
    }

    /// A `blob` member: base64 text decoded straight into a buffer sized for it.
    func blob(_ name: String) throws(IPCModeledError) -> ByteBuffer? {
        guard let value = present(name) else { return nil }
        guard case .string(let text) = value else { throw mismatch(name, "a base64 string", value) }
        guard let buffer = Base64.decodedBuffer(text) else {
            throw .invalidArguments("Request body is not a valid \(shape): \(name) is not valid base64")
        }
        return buffer
    }

    func userProperties(_ name: String) throws(IPCModeledError) -> [MQTTUserProperty] {
        guard let value = present(name) else { return [] }
        guard let entries = value.unordered.arrayValue else { throw mismatch(name, "an array", value) }
        var properties: [MQTTUserProperty] = []
        for entry in entries {
            guard let key = entry["key"]?.stringValue, let text = entry["value"]?.stringValue else {
                throw .invalidArguments("Request body is not a valid \(shape): each of \(name) needs a string key and value")
            }
            properties.append(MQTTUserProperty(key, text))
        }
        return properties
    }
}
