import NIOCore

/// How a TLS client names the server it expects, decided from the configured host and optional server name.
///
/// - A host name is sent as SNI and the certificate must carry it as a DNS name (RFC 6125).
/// - An IP address literal is never sent as SNI (RFC 6066 §3 allows host names only; TLS libraries refuse it)
///   and the certificate must carry the address the client connected to as an IP address SAN.
public enum MQTTTLSServerIdentity: Hashable, Sendable {
    case hostName(String)
    case ipAddress(String)

    /// `serverName` overrides `host` when given (e.g. to verify a name other than the one connected to).
    public init(host: String, serverName: String?) {
        let name = serverName ?? host
        self = Self.isIPAddress(name) ? .ipAddress(name) : .hostName(name)
    }

    /// The name to send as SNI and verify as a DNS name; nil for an IP address, which is then verified against the
    /// certificate's IP address SANs using the connected peer's address.
    public var sniHostName: String? {
        switch self {
        case .hostName(let name): name
        case .ipAddress: nil
        }
    }

    /// Whether `text` is an IPv4 or IPv6 address literal (not a name to resolve).
    public static func isIPAddress(_ text: String) -> Bool {
        (try? SocketAddress(ipAddress: text, port: 0)) != nil
    }
}
