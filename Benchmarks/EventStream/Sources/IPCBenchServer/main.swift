// The Swift IPC server alone in a process, for the Python SDK baseline: prints "READY" once listening and, when
// stdin closes, the CPU time it used (user+system seconds) as "CPU <seconds>", then exits.
#if canImport(Glibc)
@preconcurrency import Glibc
#endif
import EventStreamRPCServer
import Logging

struct Tokens: IPCAuthenticator {
    func authenticate(authToken: String) async -> String? { authToken == "BENCHTOKEN" ? "bench.Component" : nil }
}

func cpuSeconds() -> Double {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    func seconds(_ time: timeval) -> Double { Double(time.tv_sec) + Double(time.tv_usec) / 1_000_000 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

let path = CommandLine.arguments.dropFirst().first ?? "/tmp/esbench.socket"
var router = IPCRouter()
router.register("aws.greengrass#PublishToTopic") { _ in
    .response(shape: "aws.greengrass#PublishToTopicResponse", json: Array("{}".utf8))
}
var logger = Logger(label: "bench")
logger.logLevel = .error
let server = try await IPCServer.bind(configuration: .init(socketPath: path), authenticator: Tokens(), handler: router, logger: logger)
let task = Task { try await server.run() }
let startCPU = cpuSeconds()
print("READY")
fflush(stdout)
while readLine() != nil {}
print("CPU \(cpuSeconds() - startCPU)")
fflush(stdout)
task.cancel()
_ = try? await task.value
