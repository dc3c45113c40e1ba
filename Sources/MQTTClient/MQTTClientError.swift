import MQTTCore

/// An error reported by ``MQTTClient``: a code, the broker's reason code when there is one, and a message.
public struct MQTTClientError: Error, Hashable, Sendable, CustomStringConvertible {
    /// The kind of failure. New codes may be added without breaking callers.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        let name: String
        /// CONNACK refused the connection (see ``MQTTClientError/reasonCode``: bad credentials, not authorized, ...).
        public static let connectionRefused = Code(name: "connectionRefused")
        /// The broker sent DISCONNECT (e.g. session taken over by another client with the same id).
        public static let serverDisconnected = Code(name: "serverDisconnected")
        /// TCP or TLS connection could not be established.
        public static let connectFailed = Code(name: "connectFailed")
        /// No CONNACK in time.
        public static let connAckTimeout = Code(name: "connAckTimeout")
        /// No PINGRESP in time.
        public static let keepAliveTimeout = Code(name: "keepAliveTimeout")
        /// The broker violated the protocol (or sent something we cannot decode).
        public static let protocolError = Code(name: "protocolError")
        /// The connection closed unexpectedly.
        public static let connectionClosed = Code(name: "connectionClosed")
        /// The operation needs a live connection.
        public static let notConnected = Code(name: "notConnected")
        /// The client is shutting down.
        public static let shutdown = Code(name: "shutdown")
        /// The broker rejected a PUBLISH (PUBACK/PUBREC failure reason code).
        public static let publishRejected = Code(name: "publishRejected")
        /// The message was dropped before reaching the broker (spool full, offline QoS 0, too large, ...).
        public static let publishDropped = Code(name: "publishDropped")
        /// The topic name is not valid for PUBLISH.
        public static let invalidTopic = Code(name: "invalidTopic")
        /// No free packet identifier.
        public static let tooManyPendingRequests = Code(name: "tooManyPendingRequests")
        /// The TLS settings could not be loaded.
        public static let invalidTLSConfiguration = Code(name: "invalidTLSConfiguration")
        public var description: String { name }
    }

    public let code: Code
    /// The broker's reason code, when the failure came from the broker.
    public let reasonCode: MQTTReasonCode?
    /// What went wrong, in words.
    public let message: String

    public init(_ code: Code, reasonCode: MQTTReasonCode? = nil, _ message: String) {
        self.code = code
        self.reasonCode = reasonCode
        self.message = message
    }

    public var description: String {
        "MQTT \(code): \(message)" + (reasonCode.map { " [reason \($0)]" } ?? "")
    }

    init(_ reason: MQTTConnectionCloseReason) {
        switch reason {
        case .connectionRefused(let code, _): self.init(.connectionRefused, reasonCode: code, reason.description)
        case .serverDisconnected(let code, _): self.init(.serverDisconnected, reasonCode: code, reason.description)
        case .connectTimeout: self.init(.connectFailed, reason.description)
        case .connAckTimeout: self.init(.connAckTimeout, reason.description)
        case .keepAliveTimeout: self.init(.keepAliveTimeout, reason.description)
        case .protocolError(let error): self.init(.protocolError, reasonCode: error.code.reasonCode, error.description)
        }
    }

    init(dropped reason: MQTTDropReason) {
        self.init(.publishDropped, reason.description)
    }
}
