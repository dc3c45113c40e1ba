import Foundation
import GreengrassTestSupport

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// A datagram socket playing systemd's notification socket: the test binds it and reads what the notifier sent.
final class NotifySocket: @unchecked Sendable {
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// One received datagram and when it arrived.
    struct Datagram {
        var text: String
        var arrival: ContinuousClock.Instant
    }

    let path: String
    private let fd: Int32
    private let directory: TemporaryDirectory

    /// Binds a socket file in a fresh temporary directory, or the abstract name `@…` when given.
    init(abstractName: String? = nil) throws {
        directory = try TemporaryDirectory(prefix: "sdn")
        path = abstractName ?? directory.file("notify")
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        var bytes = Array(path.utf8)
        if abstractName != nil { bytes[0] = 0 }
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        // Abstract names are length-delimited; file paths end with the NUL the zeroed struct provides.
        let length = MemoryLayout<sa_family_t>.size + bytes.count + (abstractName == nil ? 1 : 0)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(length)) }
        }
        guard result == 0 else {
            close(fd)
            throw Failure(description: "bind \(path): errno \(errno)")
        }
    }

    deinit { close(fd) }

    /// The environment a notifier should read to talk to this socket.
    func environment(watchdogMicroseconds: UInt64? = nil) -> [String: String] {
        var environment = ["NOTIFY_SOCKET": path]
        if let watchdogMicroseconds { environment["WATCHDOG_USEC"] = String(watchdogMicroseconds) }
        return environment
    }

    /// The next datagram, or nil when none arrives within `timeout`.
    ///
    /// Polls without blocking and yields between polls: a blocking read would hold one of the few cooperative
    /// threads the notifier's own tasks need to run.
    func receive(timeout: Duration = .seconds(5)) async -> Datagram? {
        let deadline = ContinuousClock.now + timeout
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = recv(fd, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if count > 0 { return Datagram(text: String(decoding: buffer[..<count], as: UTF8.self), arrival: .now) }
            guard ContinuousClock.now < deadline else { return nil }
            try? await Task.sleep(for: .milliseconds(2))
        }
    }

    /// Every datagram arriving within `timeout` (reads until it passes).
    func drain(for timeout: Duration) async -> [Datagram] {
        let deadline = ContinuousClock.now + timeout
        var received: [Datagram] = []
        while let datagram = await receive(timeout: deadline - ContinuousClock.now) { received.append(datagram) }
        return received
    }
}
