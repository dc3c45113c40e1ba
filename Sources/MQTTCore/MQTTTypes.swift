import NIOCore

/// MQTT quality of service level.
public enum QoS: UInt8, Sendable, Hashable, Comparable, CaseIterable, CustomStringConvertible {
    /// Fire and forget.
    case atMostOnce = 0
    /// Acknowledged by PUBACK; duplicates possible.
    case atLeastOnce = 1
    /// Four-way handshake (PUBREC/PUBREL/PUBCOMP); delivered exactly once.
    case exactlyOnce = 2

    public static func < (lhs: QoS, rhs: QoS) -> Bool { lhs.rawValue < rhs.rawValue }

    public var description: String { "QoS \(rawValue)" }
}

/// Protocol level written in CONNECT: 4 for MQTT 3.1.1, 5 for MQTT 5.0.
public enum MQTTProtocolVersion: UInt8, Sendable, Hashable, CustomStringConvertible {
    case v3_1_1 = 4
    case v5 = 5

    public var description: String { self == .v5 ? "MQTT 5.0" : "MQTT 3.1.1" }
}

/// The 4-bit control packet type of the fixed header.
public enum MQTTPacketType: UInt8, Sendable, Hashable, CaseIterable {
    case connect = 1, connack, publish, puback, pubrec, pubrel, pubcomp
    case subscribe, suback, unsubscribe, unsuback, pingreq, pingresp, disconnect, auth
}

/// The spec limits on MQTT's variable byte integer and binary fields.
public enum MQTTLimits {
    /// Largest value a 4-byte variable byte integer can carry (268,435,455).
    public static let maximumVariableByteInteger = 268_435_455
    /// Largest packet the protocol can express: fixed header (5 bytes) plus the largest remaining length.
    public static let maximumPacketSize = maximumVariableByteInteger + 5
}
