import MQTTCore
import NIOCore

/// Everything the client needs to reach and talk to one broker.
///
/// Defaults follow how Greengrass configures its cloud connection: MQTT 5, persistent session
/// (clean start off, one-week session expiry), keep alive 60 s, ping timeout 30 s, receive maximum 100.
public struct MQTTClientConfiguration: Sendable {
    /// TLS settings; mutual TLS when a certificate and key are given.
    public struct TLS: Sendable, Hashable {
        /// PEM client certificate (chain) file.
        public var certificatePath: String?
        /// PEM private key file for the certificate.
        public var privateKeyPath: String?
        /// PEM root CA file to verify the broker; the system trust store when nil.
        public var caPath: String?
        /// Name the server's certificate must carry (defaults to ``MQTTClientConfiguration/host``). A host name is sent as
        /// SNI and verified as a DNS name; an IP address is not sent as SNI and is verified against the certificate's IP
        /// address SANs (``MQTTTLSServerIdentity``).
        public var serverName: String?
        /// ALPN protocols, e.g. `["x-amzn-mqtt-ca"]` for AWS IoT Core on port 443.
        public var alpnProtocols: [String]

        public init(certificatePath: String? = nil, privateKeyPath: String? = nil, caPath: String? = nil, serverName: String? = nil, alpnProtocols: [String] = []) {
            self.certificatePath = certificatePath
            self.privateKeyPath = privateKeyPath
            self.caPath = caPath
            self.serverName = serverName
            self.alpnProtocols = alpnProtocols
        }
    }

    public var host: String
    public var port: Int
    /// Plain TCP when nil.
    public var tls: TLS?
    public var protocolVersion: MQTTProtocolVersion
    public var clientIdentifier: String
    /// Clean Session (3.1.1) / Clean Start (5). Off keeps the broker session across connections.
    public var cleanStart: Bool
    /// MQTT 5 session expiry in seconds sent in CONNECT (nil: the spec default, 0).
    public var sessionExpiryInterval: UInt32?
    public var keepAliveSeconds: UInt16
    /// How long to wait for PINGRESP before the connection is declared dead.
    public var pingTimeout: Duration
    /// How long to wait for the TCP/TLS connection and for CONNACK.
    public var connectTimeout: Duration
    public var username: String?
    public var password: [UInt8]?
    public var will: MQTTWill?
    public var reconnectBackoff: MQTTReconnectBackoff
    /// In-flight window and offline spool bounds.
    public var session: MQTTSessionConfiguration
    /// MQTT 5 receive maximum we advertise (how many QoS 1/2 messages the broker may have in flight to us).
    public var receiveMaximum: UInt16
    /// Largest packet we accept; advertised to MQTT 5 brokers and enforced by the decoder for both versions.
    public var maximumPacketSize: Int
    /// Topic aliases we accept from an MQTT 5 broker.
    public var topicAliasMaximum: UInt16
    /// Whether to use topic aliases towards the broker when it offers them.
    public var useOutboundTopicAliases: Bool
    /// Inbound messages buffered for a slow consumer of ``MQTTClient/messages`` before the oldest are dropped (and counted).
    public var inboundBufferCapacity: Int

    public init(
        host: String, port: Int = 1883, tls: TLS? = nil, protocolVersion: MQTTProtocolVersion = .v5, clientIdentifier: String,
        cleanStart: Bool = false, sessionExpiryInterval: UInt32? = 604_800, keepAliveSeconds: UInt16 = 60,
        pingTimeout: Duration = .seconds(30), connectTimeout: Duration = .seconds(30), username: String? = nil, password: [UInt8]? = nil,
        will: MQTTWill? = nil, reconnectBackoff: MQTTReconnectBackoff = MQTTReconnectBackoff(), session: MQTTSessionConfiguration = MQTTSessionConfiguration(),
        receiveMaximum: UInt16 = 100, maximumPacketSize: Int = 1 << 20, topicAliasMaximum: UInt16 = 0, useOutboundTopicAliases: Bool = true,
        inboundBufferCapacity: Int = 10_000
    ) {
        self.host = host
        self.port = port
        self.tls = tls
        self.protocolVersion = protocolVersion
        self.clientIdentifier = clientIdentifier
        self.cleanStart = cleanStart
        self.sessionExpiryInterval = sessionExpiryInterval
        self.keepAliveSeconds = keepAliveSeconds
        self.pingTimeout = pingTimeout
        self.connectTimeout = connectTimeout
        self.username = username
        self.password = password
        self.will = will
        self.reconnectBackoff = reconnectBackoff
        self.session = session
        self.receiveMaximum = max(1, receiveMaximum)
        self.maximumPacketSize = min(max(maximumPacketSize, 64), MQTTLimits.maximumPacketSize)
        self.topicAliasMaximum = topicAliasMaximum
        self.useOutboundTopicAliases = useOutboundTopicAliases
        self.inboundBufferCapacity = max(1, inboundBufferCapacity)
    }

    /// The CONNECT packet this configuration produces.
    public var connectPacket: MQTTConnectPacket {
        var properties = MQTTProperties()
        if protocolVersion == .v5 {
            properties.sessionExpiryInterval = sessionExpiryInterval
            properties.receiveMaximum = receiveMaximum
            properties.maximumPacketSize = UInt32(maximumPacketSize)
            if topicAliasMaximum > 0 { properties.topicAliasMaximum = topicAliasMaximum }
        }
        return MQTTConnectPacket(
            protocolVersion: protocolVersion, clientIdentifier: clientIdentifier, cleanStart: cleanStart, keepAliveSeconds: keepAliveSeconds,
            username: username, password: password, will: will, properties: properties)
    }
}
