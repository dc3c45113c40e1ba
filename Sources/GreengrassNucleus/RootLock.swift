#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Exclusive ownership of a Greengrass root for the life of this process.
///
/// Taken before anything else touches the root: a second nucleus started on the same root would otherwise run its
/// orphan cleanup (stopping the first one's components), contend for the store and replace the socket.
/// A POSIX record lock (`fcntl(F_SETLK)`) rather than `flock`, because `F_GETLK` names the holder's pid for the
/// refusal message. The kernel drops the lock when the holder dies, so a `kill -9` never leaves a stale lock; the
/// descriptor is close-on-exec, so components never inherit it (and a restart in place re-takes it).
final class RootLock: Sendable {
    let path: String
    private let descriptor: Int32

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    deinit { close(descriptor) }

    /// The lock file of `root`.
    static func path(root: String) -> String { root + "/nucleus.lock" }

    /// Takes the lock of `root` (creating the root if needed) or throws a one-line error naming the root and the
    /// pid that holds it.
    static func acquire(root: String) throws -> RootLock {
        do {
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        } catch {
            throw NucleusStartupError("Cannot create the root \(root): \(error)")
        }
        let path = path(root: root)
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o644)
        guard descriptor >= 0 else {
            throw NucleusStartupError("Cannot open the root lock \(path): \(String(cString: strerror(errno)))")
        }
        var request = wholeFileLock(type: F_WRLCK)
        guard fcntl(descriptor, F_SETLK, &request) == 0 else {
            let failure = errno
            var holder = wholeFileLock(type: F_WRLCK)
            let holderPID = fcntl(descriptor, F_GETLK, &holder) == 0 && holder.l_type != Int16(F_UNLCK) ? holder.l_pid : nil
            close(descriptor)
            guard failure == EACCES || failure == EAGAIN else {
                throw NucleusStartupError("Cannot lock the root \(root) (\(path)): \(String(cString: strerror(failure)))")
            }
            throw NucleusStartupError(
                "The root \(root) is in use by another greengrass-nucleus"
                    + (holderPID.map { " (pid \($0))" } ?? "") + "; not starting a second one")
        }
        // The pid in the file is for people and scripts (install.sh --uninstall); the lock itself is the truth.
        let text = Array("\(getpid())\n".utf8)
        _ = ftruncate(descriptor, 0)
        _ = text.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        return RootLock(path: path, descriptor: descriptor)
    }

    private static func wholeFileLock(type: Int32) -> flock {
        var lock = flock()
        lock.l_type = Int16(type)
        lock.l_whence = Int16(SEEK_SET)
        lock.l_start = 0
        lock.l_len = 0  // to the end of the file, whatever its size
        return lock
    }
}
