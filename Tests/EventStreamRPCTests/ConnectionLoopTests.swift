import EventStreamRPCClient
import EventStreamRPCServer
import NIOCore
import NIOPosix
import Testing

extension EventStreamRPCSuites {
/// Handlers that declare themselves non-blocking run on the connection's event loop; the others on the
/// concurrency pool. Either way every pipelined call gets its own answer.
@Suite("IPC handlers on the connection loop", .serialized)
struct ConnectionLoopTests {
    @Test("the router answers each operation's flag; unknown operations count as non-blocking")
    func routerFlags() {
        var router = IPCRouter()
        router.register("test#Fast", runsOnConnectionLoop: true) { _ in .response(shape: "test#R", json: []) }
        router.register("test#Slow") { _ in .response(shape: "test#R", json: []) }
        #expect(router.runsOnConnectionLoop("test#Fast"))
        #expect(!router.runsOnConnectionLoop("test#Slow"))
        #expect(router.runsOnConnectionLoop("test#Unknown"))
        #expect(!IPCClosureHandler { _ in .response(shape: "test#R", json: []) }.runsOnConnectionLoop("any"))
    }

    @Test("a non-blocking handler runs on an event loop thread, a default one does not; 300 pipelined calls all answered")
    func whereHandlersRun() async throws {
        var router = IPCRouter()
        // The reply says where the handler ran; `currentEventLoop` is nil off NIO's threads.
        @Sendable func whereAmI(_ call: IPCCall) async -> IPCReply {
            let onLoop = MultiThreadedEventLoopGroup.currentEventLoop != nil
            await Task.yield()  // resuming after a suspension must land on the same kind of thread
            let stillOnLoop = MultiThreadedEventLoopGroup.currentEventLoop != nil
            return .response(shape: "test#Where", json: Array("\(onLoop),\(stillOnLoop),\(String(decoding: call.payload, as: UTF8.self))".utf8))
        }
        router.register("test#Fast", runsOnConnectionLoop: true, whereAmI)
        router.register("test#Slow", whereAmI)
        let server = try await RunningServer(handler: router)
        let client = try await IPCClient.connect(socketPath: server.socketPath, authToken: Conformance.token)
        for (operation, expected) in [("test#Fast", "true,true"), ("test#Slow", "false,false")] {
            let answers = try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for index in 0..<150 {
                    group.addTask {
                        let reply = try await client.call(operation: operation, requestShape: "test#Req", payload: Array("\(index)".utf8))
                        return (index, String(decoding: reply.payload, as: UTF8.self))
                    }
                }
                var answers: [Int: String] = [:]
                for try await (index, answer) in group { answers[index] = answer }
                return answers
            }
            #expect(answers.count == 150)
            for (index, answer) in answers {
                #expect(answer == "\(expected),\(index)", "\(operation) call \(index)")
            }
        }
        await client.close()
        try await server.stop()
    }
}
}
