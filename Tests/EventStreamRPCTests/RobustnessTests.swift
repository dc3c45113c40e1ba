import EventStream
import EventStreamRPCClient
import EventStreamRPCServer
import Foundation
import GreengrassTestSupport
import NIOCore
import Testing

extension EventStreamRPCSuites {
/// Many good clients while others misbehave: the good ones all finish, the server keeps accepting.
@Suite("Robustness under concurrent good and bad connections", .serialized)
struct RobustnessTests {
    enum Outcome: Sendable { case good(Bool), bad, stalled(UnreadSocket) }

    @Test("200 good connections complete while 60 others send garbage, truncated frames or never read")
    func mixedLoad() async throws {
        let server = try await RunningServer()
        let path = server.socketPath
        let started = ContinuousClock.now
        let outcomes = try await withThrowingTaskGroup(of: Outcome.self) { group in
            for index in 0..<200 {
                group.addTask {
                    do {
                        let client = try await IPCClient.connect(socketPath: path, authToken: Conformance.token, timeout: .seconds(30))
                        try await client.ping()
                        let reply = try await client.call(
                            operation: "aws.greengrass#PublishToTopic", requestShape: "aws.greengrass#PublishToTopicRequest",
                            payload: Array(#"{"topic":"local/topic","n":\#(index)}"#.utf8))
                        await client.close()
                        return .good(reply.shape == "aws.greengrass#PublishToTopicResponse")
                    } catch {
                        return .good(false)
                    }
                }
            }
            for index in 0..<60 {
                group.addTask {
                    switch index % 3 {
                    case 0:  // garbage
                        guard let connection = try? await RawConnection(socketPath: path) else { return .bad }
                        var random = SystemRandomNumberGenerator()
                        try? await connection.send((0..<64).map { _ in UInt8.random(in: 0...255, using: &random) })
                        _ = await connection.serverCloses()
                        await connection.close()
                    case 1:  // a truncated frame, then hang up
                        guard let connection = try? await RawConnection(socketPath: path) else { return .bad }
                        _ = try? await connection.handshake()
                        try? await connection.send(Conformance.frame("neg03_truncated"))
                        await connection.close()
                    default:  // a slow reader: 200 requests, then stays connected without reading an answer
                        guard let slow = try? await UnreadSocket.connect(path: path) else { return .bad }
                        _ = try await slow.handshake()
                        slow.write(Array(repeating: try Conformance.frame("05_c2s_ping"), count: 200).flatMap { $0 })
                        return .stalled(slow)
                    }
                    return .bad
                }
            }
            var outcomes: [Outcome] = []
            for try await outcome in group { outcomes.append(outcome) }
            return outcomes
        }
        let good = outcomes.compactMap { if case .good(let ok) = $0 { ok } else { nil } }
        for case .stalled(let slow) in outcomes { slow.close() }
        #expect(good.count == 200)
        #expect(good.allSatisfy { $0 })
        #expect(ContinuousClock.now - started < .seconds(60))

        // Still accepting, and every misbehaving connection was cleaned up.
        let client = try await IPCClient.connect(socketPath: path, authToken: Conformance.token)
        try await client.ping()
        await client.close()
        #expect(await eventually(timeout: .seconds(10), every: .milliseconds(10)) { server.server.connectionCount == 0 })
        try await server.stop()
    }
}
}
