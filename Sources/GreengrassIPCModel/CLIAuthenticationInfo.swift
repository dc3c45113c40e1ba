/// The file the nucleus writes to `<root>/cli_ipc_info/user-<uid>` (mode 0600) so that `greengrass-cli`, run by
/// that user, can authenticate. Field names as the AWS Greengrass CLI component writes them.
public struct CLIAuthenticationInfo: Codable, Sendable, Equatable {
    public var cliAuthToken: String
    public var domainSocketPath: String

    public init(cliAuthToken: String, domainSocketPath: String) {
        self.cliAuthToken = cliAuthToken
        self.domainSocketPath = domainSocketPath
    }

    enum CodingKeys: String, CodingKey {
        case cliAuthToken = "cli_auth_token"
        case domainSocketPath = "domain_socket_path"
    }

    /// Directory under the root holding one file per authorized user or group.
    public static let directoryName = "cli_ipc_info"

    /// Principal name the nucleus gives CLI connections, as the AWS CLI component does.
    public static func principal(uid: UInt32) -> String { "greengrass-cli#user-\(uid)" }
}
