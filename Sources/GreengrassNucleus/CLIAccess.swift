import GreengrassDeployment
import GreengrassIPCModel
import GreengrassIPCServices
import GreengrassJSON
import Logging

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// What `greengrass-cli`, run by the nucleus's user, needs to reach this nucleus: its token file and its link in
/// `<root>/bin`.
enum CLIAccess {
    /// `<root>/cli_ipc_info/user-<euid>`, mode 0600: what `greengrass-cli` run by this user authenticates with.
    static func writeToken(paths: NucleusPaths, tokens: AuthenticationTokens) throws {
        let uid = geteuid()
        let info = CLIAuthenticationInfo(
            cliAuthToken: tokens.issue(for: CLIAuthenticationInfo.principal(uid: uid)), domainSocketPath: paths.ipcSocket)
        let file = "\(paths.cliAuthDirectory)/user-\(uid)"
        do {
            let data = try JSONValueEncoder().encode(info)
            // Create with 0600 before writing the token, so it is never readable by others, even briefly.
            _ = unlink(file)
            let descriptor = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else { throw NucleusStartupError("open failed: errno \(errno)") }
            defer { close(descriptor) }
            let written = data.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard written == data.count else { throw NucleusStartupError("short write") }
        } catch {
            throw NucleusStartupError("Cannot write the CLI token file \(file): \(error)")
        }
    }

    /// `<root>/bin/greengrass-cli` → the CLI installed beside this nucleus binary.
    static func placeExecutable(paths: NucleusPaths, logger: Logger) {
        guard let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return }
        let directory = String(executable[..<(executable.lastIndex(of: "/") ?? executable.startIndex)])
        let cli = directory + "/greengrass-cli"
        let link = paths.binDirectory + "/greengrass-cli"
        guard FileManager.default.isExecutableFile(atPath: cli), cli != link else { return }
        if (try? FileManager.default.destinationOfSymbolicLink(atPath: link)) == cli { return }
        _ = unlink(link)
        if symlink(cli, link) != 0 {
            logger.warning("Cannot place \(link): errno \(errno)")
        }
    }
}
