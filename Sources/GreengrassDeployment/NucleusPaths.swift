/// The Greengrass root layout (reference §3), so that paths from AWS docs (`/greengrass/v2/logs/<Name>.log`,
/// `/greengrass/v2/packages/artifacts/<Name>/<Version>/`) point at the same files here.
public struct NucleusPaths: Sendable, Equatable {
    public let root: String

    public init(root: String) {
        // Normalise away a trailing slash so every derived path has exactly one separator.
        var root = root
        while root.count > 1 && root.hasSuffix("/") { root.removeLast() }
        self.root = root
    }

    public var configDirectory: String { root + "/config" }
    public var storeDatabase: String { configDirectory + "/nucleus.db" }
    public var effectiveConfig: String { configDirectory + "/effectiveConfig.yaml" }
    public var logsDirectory: String { root + "/logs" }
    public var packagesDirectory: String { root + "/packages" }
    public var recipesDirectory: String { packagesDirectory + "/recipes" }
    public var artifactsDirectory: String { packagesDirectory + "/artifacts" }
    public var unarchivedArtifactsDirectory: String { packagesDirectory + "/artifacts-unarchived" }
    public var workDirectory: String { root + "/work" }
    public var deploymentsDirectory: String { root + "/deployments" }
    public var binDirectory: String { root + "/bin" }
    public var cliAuthDirectory: String { root + "/cli_ipc_info" }
    public var ipcSocket: String { root + "/ipc.socket" }

    public func artifacts(component: String, version: String) -> String {
        "\(artifactsDirectory)/\(component)/\(version)"
    }

    public func unarchivedArtifacts(component: String, version: String) -> String {
        "\(unarchivedArtifactsDirectory)/\(component)/\(version)"
    }

    public func work(component: String) -> String { "\(workDirectory)/\(component)" }

    /// Recipes are stored under a readable name; component names are restricted to `[a-zA-Z0-9-_.]`, so the name
    /// is safe as a file name.
    public func recipe(component: String, version: String, fileExtension: String) -> String {
        "\(recipesDirectory)/\(component)-\(version).recipe.\(fileExtension)"
    }

    /// Directories the nucleus creates at start, with the modes Greengrass uses (tightened where it is world-readable).
    public var directoriesToCreate: [(path: String, mode: UInt16)] {
        [
            (root, 0o755), (configDirectory, 0o700), (logsDirectory, 0o700), (packagesDirectory, 0o755),
            (recipesDirectory, 0o700), (artifactsDirectory, 0o755), (unarchivedArtifactsDirectory, 0o755),
            (workDirectory, 0o755), (deploymentsDirectory, 0o700), (binDirectory, 0o755), (cliAuthDirectory, 0o700),
        ]
    }
}
