#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Calls `body` with a `sockaddr_un` for `path` (which must fit in `sun_path`).
func withUnixAddress<T>(_ path: String, _ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
    var address = sockaddr_un()
    address.sun_family = sa_family_t(AF_UNIX)
    withUnsafeMutableBytes(of: &address.sun_path) { raw in
        path.utf8CString.withUnsafeBytes { raw.copyMemory(from: $0) }
    }
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
    }
}

/// A client that writes and never reads — the misbehaving peer back-pressure must contain. Non-blocking, so
/// the test itself never blocks when the server stops reading too.
final class UnreadSocket: @unchecked Sendable {
    private let fd: Int32

    struct ConnectError: Error { var errno: Int32 }

    private init(fd: Int32) {
        self.fd = fd
    }

    /// Connects without ever blocking the calling thread (the cooperative pool is tiny): the socket is
    /// non-blocking from the start and a full accept backlog (EAGAIN) is retried until `timeout`.
    static func connect(path: String, timeout: Duration = .seconds(10)) async throws -> UnreadSocket {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        let deadline = ContinuousClock.now + timeout
        while true {
            if withUnixAddress(path, { Glibc.connect(fd, $0, $1) }) == 0 { return UnreadSocket(fd: fd) }
            let code = errno
            guard code == EAGAIN || code == EINTR, ContinuousClock.now < deadline else {
                Glibc.close(fd)
                throw ConnectError(errno: code)
            }
            try await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Writes as much of `bytes` as the socket takes without blocking; returns how many bytes it took.
    @discardableResult
    func write(_ bytes: [UInt8]) -> Int {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if written <= 0 { break }
            offset += written
        }
        return offset
    }

    /// Reads exactly `count` bytes (e.g. the ConnectAck, which must arrive before anything else may be sent),
    /// polling the non-blocking socket until `timeout`; returns what arrived.
    func read(count: Int, timeout: Duration = .seconds(10)) async -> [UInt8] {
        var received: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: count)
        let deadline = ContinuousClock.now + timeout
        while received.count < count, ContinuousClock.now < deadline {
            let got = buffer.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress, count - received.count, 0) }
            if got > 0 {
                received += buffer[0..<got]
            } else if got == 0 {
                break
            } else {
                try? await Task.sleep(for: .milliseconds(5))
            }
        }
        return received
    }

    /// Connect with the conformance token and wait for the (71-byte) accepting ConnectAck.
    func handshake() async throws -> Bool {
        write(try Conformance.frame("01_c2s_connect"))
        return await read(count: 71) == (try Conformance.frame("02_s2c_connect_ack_accepted"))
    }

    func close() {
        Glibc.close(fd)
    }
}
