import MQTTCore
import Testing

@Suite("MQTTTLSServerIdentity: SNI for host names only")
struct MQTTTLSServerIdentityTests {
    @Test("an IP address (v4 or v6, as host or as server name) gets no SNI")
    func ipAddresses() {
        for address in ["127.0.0.1", "10.0.0.254", "::1", "2001:db8::7"] {
            #expect(MQTTTLSServerIdentity(host: address, serverName: nil) == .ipAddress(address))
            #expect(MQTTTLSServerIdentity(host: address, serverName: address).sniHostName == nil)
            #expect(MQTTTLSServerIdentity(host: "broker.example", serverName: address) == .ipAddress(address))
        }
    }

    @Test("a host name keeps SNI and host-name verification; the server name overrides the host")
    func hostNames() {
        #expect(MQTTTLSServerIdentity(host: "localhost", serverName: nil).sniHostName == "localhost")
        let endpoint = "abc123-ats.iot.eu-west-1.amazonaws.com"
        #expect(MQTTTLSServerIdentity(host: endpoint, serverName: endpoint) == .hostName(endpoint))
        #expect(MQTTTLSServerIdentity(host: "127.0.0.1", serverName: "localhost") == .hostName("localhost"))
        for notAnAddress in ["1.2.3", "256.1.1.1", "127.0.0.1.example", "", "::g"] {
            #expect(!MQTTTLSServerIdentity.isIPAddress(notAnAddress), "\(notAnAddress)")
        }
    }
}
