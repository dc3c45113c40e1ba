#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Musl)
@preconcurrency import Musl
#endif

/// A resolved `runWith.posixUser`: who a phase runs as.
public struct PosixIdentity: Sendable, Hashable {
    public var userID: UInt32
    public var groupID: UInt32
    public var supplementaryGroups: [UInt32]
    public var userName: String?
    public var homeDirectory: String?

    /// Parses `user` or `user:group` (names or numeric ids) and looks them up in the user database.
    ///
    /// - Throws: ``SupervisorError`` naming the user or group that does not exist or is malformed.
    public static func resolve(_ text: String) throws(SupervisorError) -> PosixIdentity {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
        guard parts.count <= 2, let userPart = parts.first, !userPart.isEmpty, parts.count == 1 || !parts[1].isEmpty else {
            throw SupervisorError(.invalidPosixUser, "posixUser \"\(text)\" is not \"user\" or \"user:group\"")
        }
        var identity: PosixIdentity
        if let entry = lookupUser(userPart) {
            identity = entry
        } else if let uid = UInt32(userPart) {
            // A numeric user without a passwd entry runs with its own id as group, like sudo -u '#uid'.
            identity = PosixIdentity(userID: uid, groupID: uid, supplementaryGroups: [], userName: nil, homeDirectory: nil)
        } else {
            throw SupervisorError(.invalidPosixUser, "posixUser \"\(text)\": no such user \"\(userPart)\"")
        }
        if parts.count == 2 {
            guard let gid = lookupGroup(parts[1]) else {
                throw SupervisorError(.invalidPosixUser, "posixUser \"\(text)\": no such group \"\(parts[1])\"")
            }
            identity.groupID = gid
        }
        if let name = identity.userName {
            identity.supplementaryGroups = groupList(name, primary: identity.groupID)
        }
        return identity
    }

    private static func lookupUser(_ name: String) -> PosixIdentity? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var buffer = [CChar](repeating: 0, count: 16 * 1024)
        let status: Int32 =
            if let uid = UInt32(name) {
                getpwuid_r(uid, &entry, &buffer, buffer.count, &result)
            } else {
                getpwnam_r(name, &entry, &buffer, buffer.count, &result)
            }
        guard status == 0, result != nil else { return nil }
        return PosixIdentity(
            userID: entry.pw_uid, groupID: entry.pw_gid, supplementaryGroups: [],
            userName: String(cString: entry.pw_name), homeDirectory: String(cString: entry.pw_dir))
    }

    private static func lookupGroup(_ name: String) -> UInt32? {
        if let gid = UInt32(name) { return gid }
        var entry = group()
        var result: UnsafeMutablePointer<group>?
        var buffer = [CChar](repeating: 0, count: 16 * 1024)
        guard getgrnam_r(name, &entry, &buffer, buffer.count, &result) == 0, result != nil else { return nil }
        return entry.gr_gid
    }

    private static func groupList(_ user: String, primary: UInt32) -> [UInt32] {
        var count: Int32 = 64
        for _ in 0..<4 {
            var groups = [gid_t](repeating: 0, count: Int(count))
            var found = count
            if getgrouplist(user, primary, &groups, &found) >= 0 {
                return Array(groups.prefix(Int(found)))
            }
            count = max(found, count * 2)
        }
        return [primary]
    }
}

/// A supervisor failure, with a message naming what was wrong.
public struct SupervisorError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The kind of failure.
    public struct Code: Sendable, Hashable, CustomStringConvertible {
        let name: String
        public var description: String { name }
        /// `posixUser` is malformed or names an unknown user or group.
        public static let invalidPosixUser = Code(name: "invalidPosixUser")
        /// The work directory could not be created or handed to the component user.
        public static let workDirectory = Code(name: "workDirectory")
        /// Creating pipes or spawning the shell failed.
        public static let launch = Code(name: "launch")
        /// ``Supervisor/run()`` was entered twice.
        public static let alreadyRunning = Code(name: "alreadyRunning")
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
