import GreengrassConfig
import MQTTClient
import MQTTCore

/// The nucleus's single upstream MQTT connection, configured as Greengrass configures its IoT Core connection
/// (reference §7): client id = thing name, persistent session, TLS with the device certificate when one is
/// configured (plain TCP otherwise, for a local broker), keepalive, spool and reconnect settings from
/// `services.aws.greengrass.Nucleus.configuration.mqtt`.
enum UpstreamConnection {
    /// nil when no `iotDataEndpoint` is configured: the device runs offline.
    static func configuration(_ settings: NucleusSettings) -> MQTTClientConfiguration? {
        guard let endpoint = settings.iotDataEndpoint, !endpoint.isEmpty else { return nil }
        let mqtt = settings.mqtt
        var tls: MQTTClientConfiguration.TLS?
        if let certificate = settings.certificateFilePath, !certificate.isEmpty {
            tls = MQTTClientConfiguration.TLS(
                certificatePath: certificate, privateKeyPath: settings.privateKeyPath, caPath: settings.rootCaPath,
                serverName: endpoint, alpnProtocols: mqtt.port == 443 ? ["x-amzn-mqtt-ca"] : [])
        }
        return MQTTClientConfiguration(
            host: endpoint,
            port: mqtt.port,
            tls: tls,
            protocolVersion: mqtt.version == "mqtt3" ? .v3_1_1 : .v5,
            clientIdentifier: settings.thingName,
            cleanStart: false,
            sessionExpiryInterval: UInt32(clamping: mqtt.sessionExpirySeconds),
            keepAliveSeconds: UInt16(clamping: mqtt.keepAliveTimeoutMs / 1000),
            pingTimeout: .milliseconds(mqtt.pingTimeoutMs),
            connectTimeout: .milliseconds(max(mqtt.socketTimeoutMs, 1000) * 10),
            reconnectBackoff: MQTTReconnectBackoff(
                minimum: .milliseconds(Int64(mqtt.minimumReconnectDelaySeconds * 1000)),
                maximum: .milliseconds(Int64(mqtt.maximumReconnectDelaySeconds * 1000))),
            session: MQTTSessionConfiguration(
                inflightWindow: mqtt.maxInFlightPublishes, spoolMaximumBytes: mqtt.spoolerMaxSizeInBytes,
                keepQoS0WhenOffline: mqtt.spoolerKeepQos0WhenOffline),
            receiveMaximum: UInt16(clamping: mqtt.receiveMaximum),
            maximumPacketSize: max(mqtt.maxMessageSizeInBytes + 1024, 64 * 1024))
    }
}
