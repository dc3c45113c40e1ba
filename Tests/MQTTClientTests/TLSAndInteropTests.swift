import Foundation
import GreengrassTestSupport
import Logging
import MQTTCore
import NIOCore
import Testing
@testable import MQTTClient

@Suite("MQTTClient TLS and interoperability", .serialized)
struct TLSAndInteropTests {
    @Test("mutual TLS with client certificates made by openssl; no client certificate is refused", arguments: [MQTTProtocolVersion.v5, .v3_1_1])
    func mutualTLS(version: MQTTProtocolVersion) async throws {
        let pki = try TemporaryDirectory(prefix: "pki")
        let certificates = try TestCertificates.generate(in: pki.path)
        let broker = try Mosquitto(.init(tls: .init(certificates: certificates)))
        var config = configuration(broker, id: "tls-\(version.rawValue)", version: version)
        config.tls = .init(
            certificatePath: certificates.clientCertificate, privateKeyPath: certificates.clientKey, caPath: certificates.caCertificate,
            serverName: "localhost")
        try await withClient(config) { client, received in
            _ = try await client.subscribe([("secure/#", .exactlyOnce)])
            try await client.publish("secure/a", "over tls", qos: .exactlyOnce)
            try await received.waitForMessages(1)
            #expect(received.payloads == ["over tls"])
        }

        var anonymous = config
        anonymous.clientIdentifier = "tls-anonymous"
        anonymous.tls?.certificatePath = nil
        anonymous.tls?.privateKeyPath = nil
        try await withClient(anonymous, waitForConnection: false) { _, recorder in
            try await eventually("a failed TLS connection") { !recorder.errors.isEmpty }
            #expect(recorder.connectedCount == 0)
        }

        // A broker whose certificate chains to a CA we do not trust is refused.
        let otherPKI = try TemporaryDirectory(prefix: "pki")
        let otherCertificates = try TestCertificates.generate(in: otherPKI.path)
        var untrusted = config
        untrusted.clientIdentifier = "tls-untrusted"
        untrusted.tls?.caPath = otherCertificates.caCertificate
        try await withClient(untrusted, waitForConnection: false) { _, recorder in
            try await eventually("a failed certificate verification") { !recorder.errors.isEmpty }
            #expect(recorder.connectedCount == 0)
        }
    }

    /// One TLS connection attempt to a broker whose certificate carries exactly `subjectAltNames`.
    static func tlsConnects(subjectAltNames: String, host: String, serverName: String?) async throws -> Bool {
        let pki = try TemporaryDirectory(prefix: "pki")
        let certificates = try TestCertificates.generate(in: pki.path, serverSubjectAltNames: subjectAltNames)
        let broker = try Mosquitto(.init(tls: .init(certificates: certificates)))
        var config = configuration(broker, id: "tls-identity")
        config.host = host
        config.tls = .init(
            certificatePath: certificates.clientCertificate, privateKeyPath: certificates.clientKey, caPath: certificates.caCertificate,
            serverName: serverName)
        return try await withClient(config, waitForConnection: false) { client, recorder in
            try await eventually("a connection or a failed attempt (\(recorder.events))") {
                recorder.connectedCount > 0 || !recorder.connectFailures.isEmpty
            }
            if let failure = recorder.connectFailures.first {
                #expect(!"\(failure)".contains("cannotUseIPAddressInSNI"), "an IP address must never be sent as SNI")
            }
            return recorder.connectedCount > 0
        }
    }

    @Test(
        "TLS to an IP address: no SNI, verified against the certificate's IP SAN (also when the server name is that IP)",
        arguments: [nil, "127.0.0.1"] as [String?])
    func tlsToIPAddress(serverName: String?) async throws {
        #expect(try await Self.tlsConnects(subjectAltNames: "IP:127.0.0.1", host: "127.0.0.1", serverName: serverName))
        // Verification is real: a certificate naming only a host name does not match the address.
        #expect(try await !Self.tlsConnects(subjectAltNames: "DNS:localhost", host: "127.0.0.1", serverName: serverName))
    }

    @Test("TLS to a host name: SNI and host-name verification against the certificate's DNS SAN")
    func tlsToHostName() async throws {
        #expect(try await Self.tlsConnects(subjectAltNames: "DNS:localhost", host: "localhost", serverName: "localhost"))
        #expect(try await Self.tlsConnects(subjectAltNames: "DNS:localhost", host: "localhost", serverName: nil))
        // Verification is real: a certificate for another host name is refused.
        #expect(try await !Self.tlsConnects(subjectAltNames: "DNS:other.example", host: "localhost", serverName: "localhost"))
    }

    @Test("missing TLS files give a typed error, then bounded retries")
    func badTLSFiles() async throws {
        let broker = try Mosquitto()
        var config = configuration(broker, id: "tls-missing")
        config.tls = .init(certificatePath: "/nonexistent/cert.pem", privateKeyPath: "/nonexistent/key.pem")
        try await withClient(config, waitForConnection: false) { _, recorder in
            try await eventually("a TLS configuration error") { !recorder.errors.isEmpty }
            #expect(recorder.errors[0].code == .invalidTLSConfiguration)
        }
    }

    static let pahoScript = #"""
    import json, sys, time
    import paho.mqtt.client as mqtt

    mode, port, version = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    protocol = mqtt.MQTTv5 if version == "5" else mqtt.MQTTv311
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="paho-" + mode + version, protocol=protocol)
    received = []
    subscribed = []

    def on_message(c, userdata, message):
        received.append({"topic": message.topic, "payload": message.payload.decode(), "qos": message.qos})

    def on_subscribe(c, userdata, mid, reason_codes, properties):
        subscribed.append(mid)

    client.on_message = on_message
    client.on_subscribe = on_subscribe
    client.connect("127.0.0.1", port, keepalive=30)
    client.loop_start()
    deadline = time.time() + 20
    if mode == "publish":
        for qos in (0, 1, 2):
            info = client.publish("interop/fromPaho", "paho-qos%d" % qos, qos=qos)
            info.wait_for_publish(timeout=10)
    else:
        client.subscribe("interop/toPaho", qos=2)
        while not subscribed and time.time() < deadline:
            time.sleep(0.01)
        client.publish("interop/ready", "ready", qos=1).wait_for_publish(timeout=10)
        while len(received) < 3 and time.time() < deadline:
            time.sleep(0.01)
    client.disconnect()
    client.loop_stop()
    print(json.dumps(received))
    """#

    @Test("paho-mqtt publishes to and receives from our client through Mosquitto", arguments: [MQTTProtocolVersion.v5, .v3_1_1])
    func paho(version: MQTTProtocolVersion) async throws {
        let broker = try Mosquitto()
        let scratch = try TemporaryDirectory(prefix: "paho")
        let script = scratch.file("interop.py")
        try Self.pahoScript.write(toFile: script, atomically: true, encoding: .utf8)
        let pahoVersion = version == .v5 ? "5" : "3"
        try await withClient(configuration(broker, id: "swift-\(version.rawValue)", version: version)) { client, received in
            _ = try await client.subscribe([("interop/fromPaho", .exactlyOnce), ("interop/ready", .atLeastOnce)])
            // paho -> us
            let published = try await ChildProcess.run(RepositoryFiles.python3, [script, "publish", "\(broker.port)", pahoVersion], timeout: .seconds(30))
            #expect(published.exitCode == 0, "\(published.stderr)")
            try await received.waitForMessages(3)
            #expect(Set(received.payloads) == ["paho-qos0", "paho-qos1", "paho-qos2"])
            #expect(Set(received.messages.map(\.qos)) == Set(QoS.allCases))

            // us -> paho: paho subscribes, signals readiness, we publish at every QoS.
            async let receiving = ChildProcess.run(RepositoryFiles.python3, [script, "receive", "\(broker.port)", pahoVersion], timeout: .seconds(30))
            try await eventually("paho ready", timeout: .seconds(20)) { received.payloads.contains("ready") }
            for qos in QoS.allCases {
                try await client.publish("interop/toPaho", "swift-qos\(qos.rawValue)", qos: qos)
            }
            let result = try await receiving
            #expect(result.exitCode == 0, "\(result.stderr)")
            let messages = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]] ?? []
            #expect(Set(messages.compactMap { $0["payload"] as? String }) == ["swift-qos0", "swift-qos1", "swift-qos2"])
            #expect(Set(messages.compactMap { $0["qos"] as? Int }) == [0, 1, 2])
        }
    }
}
