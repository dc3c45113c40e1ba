import Logging

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Who may reach the IPC socket, and by which path components are told to reach it.
enum IPCSocketAccess {
    /// The path components get in `AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT`: absolute when it fits a
    /// `sockaddr_un`, else relative to a component's work directory (`<root>/work/<component>`).
    static func componentSocketPath(_ socketPath: String) -> String {
        socketPath.utf8.count < 108 ? socketPath : "../../ipc.socket"
    }

    /// Components running as `runWithDefault.posixUser` must reach the 0660 socket: give it their group.
    static func shareWithComponentGroup(_ path: String, posixUser: String?, logger: Logger) {
        guard geteuid() == 0, let posixUser else { return }
        let parts = posixUser.split(separator: ":", maxSplits: 1).map(String.init)
        var gid: gid_t?
        if parts.count == 2 {
            if let number = gid_t(parts[1]) { gid = number } else if let group = getgrnam(parts[1]) { gid = group.pointee.gr_gid }
        } else if let user = getpwnam(parts[0]) {
            gid = user.pointee.pw_gid
        }
        guard let gid else {
            logger.warning("Unknown group for runWithDefault.posixUser \(posixUser); components may not reach the IPC socket")
            return
        }
        _ = chown(path, 0, gid)
    }
}
