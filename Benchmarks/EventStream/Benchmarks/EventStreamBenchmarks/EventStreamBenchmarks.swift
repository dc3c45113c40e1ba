#if canImport(Glibc)
import Glibc
#endif
import Benchmark
import EventStream
import EventStreamRPCClient
import EventStreamRPCServer
import Logging
import NIOCore

/// A PublishToIoTCore request exactly as the Python SDK frames it (vector 07: 290 bytes, 6 headers).
let publishRequest = RPCMessage.modeled(
    .applicationMessage, streamID: 1, flags: [], shape: "aws.greengrass#PublishToIoTCoreRequest",
    json: ByteBuffer(string: #"{"topicName": "core/topic", "qos": "1", "payload": "eyJtc2ciOiJoZWxsby53b3JsZCJ9"}"#),
    operation: "aws.greengrass#PublishToIoTCore"
).eventStreamMessage
/// A Ping: only the three control headers (vector 05: 71 bytes) — the smallest realistic frame.
let ping = RPCMessage(type: .ping).eventStreamMessage

let codecMetrics: [BenchmarkMetric] = [.wallClock, .throughput, .mallocCountTotal, .instructions]

/// State of the round-trip benchmark: one server and one connected client, reused by every iteration.
final class RoundTrip: @unchecked Sendable {
    var directory = ""
    var server: IPCServer?
    var serverTask: Task<Void, any Error>?
    var client: IPCClient?
}

struct Tokens: IPCAuthenticator {
    func authenticate(authToken: String) async -> String? { authToken == "BENCHTOKEN" ? "bench.Component" : nil }
}

let roundTrip = RoundTrip()

let benchmarks: @Sendable () -> Void = {
    for (name, message) in [("PublishToIoTCore request (290 B)", publishRequest), ("Ping (71 B)", ping)] {
        let encoded = try! EventStreamEncoder.encode(message)
        Benchmark("Encode \(name)", configuration: .init(metrics: codecMetrics, scalingFactor: .kilo)) { benchmark in
            var buffer = ByteBuffer()
            buffer.reserveCapacity(512)
            for _ in benchmark.scaledIterations {
                buffer.clear()
                try EventStreamEncoder.encode(message, into: &buffer)
                blackHole(buffer.readableBytes)
            }
        }
        Benchmark("Decode \(name)", configuration: .init(metrics: codecMetrics, scalingFactor: .kilo)) { benchmark in
            for _ in benchmark.scaledIterations {
                var input = encoded
                blackHole(try EventStreamDecoder.decodeMessage(from: &input))
            }
        }
        Benchmark("Decode+RPC view \(name)", configuration: .init(metrics: codecMetrics, scalingFactor: .kilo)) { benchmark in
            for _ in benchmark.scaledIterations {
                var input = encoded
                blackHole(try RPCMessage(EventStreamDecoder.decodeMessage(from: &input)!))
            }
        }
    }

    Benchmark(
        "IPC round trip: Swift client → Swift server (PublishToTopic)",
        configuration: .init(
            metrics: [.wallClock, .throughput, .cpuTotal, .mallocCountTotal],
            maxDuration: .seconds(5),
            maxIterations: 20_000,
            setup: {
                var router = IPCRouter()
                router.register("aws.greengrass#PublishToTopic") { _ in
                    .response(shape: "aws.greengrass#PublishToTopicResponse", json: Array("{}".utf8))
                }
                roundTrip.directory = "/tmp/esbench-\(getpid())"
                mkdir(roundTrip.directory, 0o700)
                let path = roundTrip.directory + "/ipc.socket"
                let server = try await IPCServer.bind(
                    configuration: .init(socketPath: path), authenticator: Tokens(), handler: router,
                    logger: Logger(label: "bench"))
                roundTrip.server = server
                roundTrip.serverTask = Task { try await server.run() }
                roundTrip.client = try await IPCClient.connect(socketPath: path, authToken: "BENCHTOKEN")
            },
            teardown: {
                await roundTrip.client?.close()
                roundTrip.serverTask?.cancel()
                _ = try? await roundTrip.serverTask?.value
                rmdir(roundTrip.directory)
            }
        )
    ) { benchmark in
        let client = roundTrip.client!
        let payload = Array(#"{"topic":"bench/topic","publishMessage":{"jsonMessage":{"message":{"n":1}}}}"#.utf8)
        for _ in benchmark.scaledIterations {
            blackHole(try await client.call(
                operation: "aws.greengrass#PublishToTopic", requestShape: "aws.greengrass#PublishToTopicRequest",
                payload: payload))
        }
    }
}
