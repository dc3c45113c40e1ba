import EventStreamRPCClient
import Foundation
import NIOCore
import Testing

/// The text a user sees when the nucleus is not there (the CLI prints it after "Cannot reach the nucleus").
@Suite("Connect failure text")
struct ConnectFailureTextTests {
    @Test("an errno failure reads 'strerror (errno: N)', parentheses balanced", arguments: [
        (ENOENT, "No such file or directory (errno: \(ENOENT))"),
        (ECONNREFUSED, "Connection refused (errno: \(ECONNREFUSED))"),
        (EACCES, "Permission denied (errno: \(EACCES))"),
    ])
    func errnoText(code: CInt, expected: String) {
        let error = IOError(errnoCode: code, reason: "connect(descriptor:addr:size:)")
        #expect(IPCClientError.connectFailureReason(error) == expected)
    }

    @Test("other errors keep their own description")
    func otherErrors() {
        #expect(IPCClientError.connectFailureReason(ChannelError.connectTimeout(.seconds(1))) == "\(ChannelError.connectTimeout(.seconds(1)))")
    }

    @Test("connecting to a socket that does not exist names the path and the errno, nothing stray")
    func missingSocket() async {
        let path = NSTemporaryDirectory() + "no-such-dir-\(UUID().uuidString)/ipc.socket"
        do {
            _ = try await IPCClient.connect(socketPath: path, authToken: "t", timeout: .seconds(5))
            Issue.record("connected to a socket that does not exist")
        } catch {
            #expect(error.description == "cannot connect to IPC socket \(path): No such file or directory (errno: \(ENOENT))")
        }
    }
}
