import Foundation
import Logging
import MQTTClient
import MQTTCore
import NIOCore

/// Compares our client with paho-mqtt and mosquitto_pub/mosquitto_sub through one Mosquitto on loopback:
/// throughput (QoS 0/1, 64 B and 4 KiB), publish-to-receive latency, CPU per message (clients and broker),
/// and memory over a long run. Usage: `swift run -c release mqtt-bench [--scale 1.0] [--million]`.
struct Measurement {
    var client: String
    var qos: Int
    var size: Int
    var count: Int
    var seconds: Double
    var clientCPU: Double
    var brokerCPU: Double
    var p50: Double?
    var p99: Double?

    var rate: Double { Double(count) / seconds }
    var clientMicrosPerMessage: Double { clientCPU / Double(count) * 1e6 }
    var brokerMicrosPerMessage: Double { brokerCPU / Double(count) * 1e6 }
}

func percentile(_ sorted: [UInt64], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    return Double(sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))]) / 1e6
}

func payload(size: Int) -> ByteBuffer {
    var buffer = ByteBuffer()
    buffer.writeInteger(monotonicNanoseconds())
    if size > 8 { buffer.writeRepeatingByte(UInt8(ascii: "x"), count: size - 8) }
    return buffer
}

func startClient(_ id: String, port: Int, capacity: Int) async throws -> (MQTTClient, Task<Void, any Error>) {
    var logger = Logger(label: id)
    logger.logLevel = .error
    let configuration = MQTTClientConfiguration(
        host: "127.0.0.1", port: port, clientIdentifier: id, cleanStart: true, sessionExpiryInterval: 0,
        session: MQTTSessionConfiguration(inflightWindow: 100, spoolMaximumCount: 100_000, spoolMaximumBytes: 512 << 20),
        receiveMaximum: 65_535, maximumPacketSize: 1 << 20, inboundBufferCapacity: capacity)
    let client = MQTTClient(configuration: configuration, logger: logger)
    let runner = Task { try await client.run() }
    for await event in client.events {
        if case .connected = event { break }
    }
    return (client, runner)
}

/// Our client: one subscriber and one publisher in this process; `concurrency` tasks keep the pipeline full.
func runOurs(broker: Broker, qos: QoS, count: Int, size: Int, rate: Double = 0) async throws -> Measurement {
    let (subscriber, subRunner) = try await startClient("ours-sub", port: broker.port, capacity: count + 10)
    _ = try await subscriber.subscribe([("bench/ours", qos)])
    let (publisher, pubRunner) = try await startClient("ours-pub", port: broker.port, capacity: 10)
    let cpu0 = cpuSeconds(RUSAGE_SELF.rawValue)
    let broker0 = broker.cpu
    let start = monotonicNanoseconds()
    let concurrency = rate > 0 ? 1 : 32
    let publishing = Task {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    for _ in stride(from: worker, to: count, by: concurrency) {
                        try await publisher.publish(topic: "bench/ours", payload: payload(size: size), qos: qos)
                        if rate > 0 { try await Task.sleep(for: .seconds(1 / rate)) }
                    }
                }
            }
            try await group.waitForAll()
        }
    }
    var latencies: [UInt64] = []
    latencies.reserveCapacity(count)
    var last = start
    for await message in subscriber.messages {
        last = monotonicNanoseconds()
        latencies.append(last - (message.payload.getInteger(at: message.payload.readerIndex, as: UInt64.self) ?? last))
        if latencies.count == count { break }
    }
    try await publishing.value
    let cpu = cpuSeconds(RUSAGE_SELF.rawValue) - cpu0
    let brokerCPU = broker.cpu - broker0
    subscriber.shutdown()
    publisher.shutdown()
    try await subRunner.value
    try await pubRunner.value
    latencies.sort()
    return Measurement(
        client: "MQTTClient (Swift)", qos: Int(qos.rawValue), size: size, count: latencies.count, seconds: Double(last - start) / 1e9,
        clientCPU: cpu, brokerCPU: brokerCPU, p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99))
}

func runPaho(broker: Broker, qos: Int, count: Int, size: Int, rate: Double = 0, scripts: String) throws -> Measurement {
    let children0 = cpuSeconds(RUSAGE_CHILDREN.rawValue)
    let subscriber = try Child("/usr/bin/env", ["python3", scripts + "/paho_sub.py", "\(broker.port)", "\(qos)", "\(count)", "5"])
    subscriber.waitForLine("ready")
    let broker0 = broker.cpu
    let publisher = try Child("/usr/bin/env", ["python3", scripts + "/paho_pub.py", "\(broker.port)", "\(qos)", "\(count)", "\(size)", "\(rate)", "5"])
    let sub = try JSONSerialization.jsonObject(with: Data(subscriber.finish().utf8)
        .split(separator: UInt8(ascii: "\n")).last.map { Data($0) } ?? Data()) as? [String: Any] ?? [:]
    let pub = try JSONSerialization.jsonObject(with: Data(publisher.finish().utf8)) as? [String: Any] ?? [:]
    let brokerCPU = broker.cpu - broker0
    let start = (pub["start"] as? Double) ?? 0
    let last = (sub["last"] as? Double) ?? 0
    return Measurement(
        client: "paho-mqtt 2.x (Python)", qos: qos, size: size, count: sub["count"] as? Int ?? 0, seconds: (last - start) / 1e9,
        clientCPU: cpuSeconds(RUSAGE_CHILDREN.rawValue) - children0, brokerCPU: brokerCPU,
        p50: (sub["p50"] as? Double).map { $0 / 1e6 }, p99: (sub["p99"] as? Double).map { $0 / 1e6 })
}

func runMosquittoTools(broker: Broker, qos: Int, count: Int, size: Int) throws -> Measurement {
    let children0 = cpuSeconds(RUSAGE_CHILDREN.rawValue)
    let topic = "bench/cli\(qos)x\(size)"
    let subscriber = try Child("/usr/bin/mosquitto_sub", ["-p", "\(broker.port)", "-V", "mqttv5", "-i", "cli-sub-\(qos)-\(size)", "-t", topic, "-q", "\(qos)", "-C", "\(count)"], stdout: false)
    let deadline = ContinuousClock.now + .seconds(10)
    while !broker.logContains("cli-sub-\(qos)-\(size) \(qos) \(topic)"), ContinuousClock.now < deadline { usleep(5_000) }
    // mosquitto_pub -l sends each stdin line as one message: payload is size-1 bytes plus the newline.
    let line = Data(repeating: UInt8(ascii: "x"), count: max(1, size - 1)) + Data([UInt8(ascii: "\n")])
    var input = Data(capacity: line.count * count)
    for _ in 0..<count { input.append(line) }
    let broker0 = broker.cpu
    let start = monotonicNanoseconds()
    let publisher = try Child("/usr/bin/mosquitto_pub", ["-p", "\(broker.port)", "-V", "mqttv5", "-i", "cli-pub", "-t", topic, "-q", "\(qos)", "-l"], stdout: false)
    publisher.stdinPipe.fileHandleForWriting.write(input)
    try publisher.stdinPipe.fileHandleForWriting.close()
    _ = subscriber.finish()
    let end = monotonicNanoseconds()
    _ = publisher.finish()
    return Measurement(
        client: "mosquitto_pub/sub (C)", qos: qos, size: size, count: count, seconds: Double(end - start) / 1e9,
        clientCPU: cpuSeconds(RUSAGE_CHILDREN.rawValue) - children0, brokerCPU: broker.cpu - broker0, p50: nil, p99: nil)
}

func format(_ value: Double?, _ digits: Int = 1) -> String {
    guard let value else { return "n/a" }
    return String(format: "%.\(digits)f", value)
}

let arguments = CommandLine.arguments
let scale = arguments.firstIndex(of: "--scale").flatMap { Double(arguments[$0 + 1]) } ?? 1.0
let million = arguments.contains("--million")
let scripts = NSTemporaryDirectory() + "mqtt-bench-scripts-\(getpid())"
try FileManager.default.createDirectory(atPath: scripts, withIntermediateDirectories: true)
try PahoScripts.subscriber.write(toFile: scripts + "/paho_sub.py", atomically: true, encoding: .utf8)
try PahoScripts.publisher.write(toFile: scripts + "/paho_pub.py", atomically: true, encoding: .utf8)
let broker = try Broker()
defer { broker.stop() }

print("| client | QoS | payload | messages | msg/s | client CPU µs/msg | broker CPU µs/msg | p50 ms | p99 ms |")
print("|---|---|---|---|---|---|---|---|---|")
func progress(_ text: String) { FileHandle.standardError.write(Data((text + "\n").utf8)) }
/// Rows go to stdout and, unbuffered, to stderr, so a run cut short still shows what it measured.
func report(_ m: Measurement) {
    progress("| \(m.client) | \(m.qos) | \(m.size) B | \(m.count) | \(format(m.rate, 0)) | \(format(m.clientMicrosPerMessage)) | \(format(m.brokerMicrosPerMessage)) | \(format(m.p50, 2)) | \(format(m.p99, 2)) |")
    print("| \(m.client) | \(m.qos) | \(m.size) B | \(m.count) | \(format(m.rate, 0)) | \(format(m.clientMicrosPerMessage)) | \(format(m.brokerMicrosPerMessage)) | \(format(m.p50, 2)) | \(format(m.p99, 2)) |")
}
for size in arguments.contains("--only-million") ? [] : [64, 4096] {
    for qos in [QoS.atMostOnce, .atLeastOnce] {
        let count = Int(Double(qos == .atMostOnce ? (size == 64 ? 100_000 : 20_000) : (size == 64 ? 20_000 : 10_000)) * scale)
        progress("ours qos \(qos.rawValue) size \(size) count \(count)")
        report(try await runOurs(broker: broker, qos: qos, count: count, size: size))
        report(try runPaho(broker: broker, qos: Int(qos.rawValue), count: count, size: size, scripts: scripts))
        report(try runMosquittoTools(broker: broker, qos: Int(qos.rawValue), count: count, size: size))
    }
}
if !arguments.contains("--only-million") {
print("\nLatency at a paced 1,000 msg/s (QoS 1, 64 B):\n")
print("| client | QoS | payload | messages | msg/s | client CPU µs/msg | broker CPU µs/msg | p50 ms | p99 ms |")
print("|---|---|---|---|---|---|---|---|---|")
report(try await runOurs(broker: broker, qos: .atLeastOnce, count: 2000, size: 64, rate: 1000))
report(try runPaho(broker: broker, qos: 1, count: 2000, size: 64, rate: 1000, scripts: scripts))
}

if million {
    print("\nMemory over 1,000,000 QoS 0 messages (64 B), our publisher and subscriber in one process:\n")
    let (subscriber, subRunner) = try await startClient("mem-sub", port: broker.port, capacity: 10_000)
    _ = try await subscriber.subscribe([("bench/mem", .atMostOnce)])
    let (publisher, pubRunner) = try await startClient("mem-pub", port: broker.port, capacity: 10)
    let total = 1_000_000
    let publishing = Task {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<32 {
                group.addTask {
                    for _ in stride(from: worker, to: total, by: 32) {
                        try await publisher.publish(topic: "bench/mem", payload: payload(size: 64), qos: .atMostOnce)
                    }
                }
            }
            try await group.waitForAll()
        }
    }
    let counting = Task {
        var received = 0
        var samples: [String] = []
        for await _ in subscriber.messages {
            received += 1
            if received % 100_000 == 0 {
                samples.append("\(received / 1000)k: \(format(residentMiB())) MiB")
                progress(samples.last!)
            }
            if received == total { break }
        }
        return samples
    }
    try await publishing.value
    // QoS 0 can be dropped (by the bounded inbound buffer, counted); stop once everything is accounted for.
    let deadline = ContinuousClock.now + .seconds(30)
    while ContinuousClock.now < deadline {
        let stats = await subscriber.statistics()
        if stats.inboundReceived >= total { break }
        try await Task.sleep(for: .milliseconds(100))
    }
    counting.cancel()
    let samples = await counting.value
    print("RSS " + samples.joined(separator: ", "))
    progress("RSS " + samples.joined(separator: ", "))
    let stats = await subscriber.statistics()
    print("inbound dropped by back-pressure: \(stats.inboundDropped)")
    subscriber.shutdown()
    publisher.shutdown()
    try await subRunner.value
    try await pubRunner.value
}
try? FileManager.default.removeItem(atPath: scripts)
