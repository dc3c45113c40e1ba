#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Finds the Greengrass root the way the issue and the AWS CLI do: `--root`, else `GGC_ROOT_PATH`, else the root
/// this binary is installed in (`<root>/bin/greengrass-cli`), else `/greengrass/v2`.
enum RootLocator {
    static let defaultRoot = "/greengrass/v2"

    static func locate(
        explicit: String?,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        executablePath: String? = currentExecutablePath(),
        fileExists: (String) -> Bool = { FileManager.default.fileExists(atPath: $0) }
    ) -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        if let fromEnvironment = environment["GGC_ROOT_PATH"], !fromEnvironment.isEmpty { return fromEnvironment }
        if let executablePath {
            let components = executablePath.split(separator: "/", omittingEmptySubsequences: false)
            // <root>/bin/greengrass-cli: the root is recognised by the ipc.socket or cli_ipc_info beside bin/.
            if components.count >= 3, components[components.count - 2] == "bin" {
                let root = components.dropLast(2).joined(separator: "/")
                if !root.isEmpty, fileExists(root + "/cli_ipc_info") || fileExists(root + "/ipc.socket") {
                    return root
                }
            }
        }
        return defaultRoot
    }

    static func currentExecutablePath() -> String? {
        // /proc/self/exe resolves symlinks; bin/greengrass-cli may itself be a symlink into the build folder, so
        // prefer argv[0] when it is absolute.
        let argument0 = CommandLine.arguments.first ?? ""
        if argument0.hasPrefix("/") { return argument0 }
        return try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")
    }
}
