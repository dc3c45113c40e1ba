// Benchmark clients for issue 6, driven by bench_ipc.py. Every payload is `{"i":<index>,"t":<CLOCK_REALTIME ns>}`
// so the outside collector (Python, same clock) computes publish → receive latency.
//
//   ipc-bench publish-ipc    TOPIC COUNT QOS WINDOW RATE RESULT   Swift IPC client → nucleus (PublishToIoTCore);
//                                                                   run as a component (SVCUID + socket from env)
//   ipc-bench publish-direct PORT TOPIC COUNT QOS WINDOW RATE RESULT   our MQTTClient → broker (the baseline)
//   ipc-bench subscribe-ipc  TOPIC COUNT READY RESULT             SubscribeToIoTCore; records receive - send per message
//   ipc-bench collect        PORT TOPIC COUNT PID READY RESULT    our MQTTClient subscribed on the broker: receive time of
//                                                                   every message, and CPU ticks of process PID (the nucleus;
//                                                                   0 = none) at the first and the last message
//   ipc-bench hold           PREFIX STREAMS READY                 opens STREAMS SubscribeToIoTCore streams (PREFIX/0 …)
//                                                                   and keeps them open (memory run)
//
// RATE 0 publishes as fast as the window allows; RATE > 0 paces sends at that many messages per second (the send
// schedule is absolute, so a late wake-up is caught up, never accumulated). WINDOW bounds outstanding publishes.
import EventStreamRPCClient
import Foundation
import Logging
import MQTTClient
import MQTTCore
import NIOCore
import Synchronization

@preconcurrency import Glibc

/// When the last message arrived, shared between a receiving loop and its idle watchdog.
final class LastReceive: Sendable {
    private let instant = Mutex<ContinuousClock.Instant?>(nil)
    var value: ContinuousClock.Instant? { instant.withLock { $0 } }
    func mark() { instant.withLock { $0 = .now } }
}

struct BenchFailure: Error, CustomStringConvertible {
    var description: String
}

func realtimeNanoseconds() -> Int64 {
    var spec = timespec()
    clock_gettime(CLOCK_REALTIME, &spec)
    return Int64(spec.tv_sec) * 1_000_000_000 + Int64(spec.tv_nsec)
}

func stampedPayload(_ index: Int) -> [UInt8] {
    Array("{\"i\":\(index),\"t\":\(realtimeNanoseconds())}".utf8)
}

func writeJSON(_ object: [String: Any], to path: String) throws {
    let data = try JSONSerialization.data(withJSONObject: object)
    // Write then rename: the driver polls for the file and must never read half of it.
    try data.write(to: URL(fileURLWithPath: path + ".tmp"))
    guard rename(path + ".tmp", path) == 0 else { throw BenchFailure(description: "cannot rename \(path).tmp") }
}

/// Sends `count` messages through `send`, at most `window` outstanding, optionally paced at `rate` per second.
func drive(count: Int, window: Int, rate: Double, send: @escaping @Sendable (Int) async throws -> Void) async throws -> Double {
    let clock = ContinuousClock()
    let start = clock.now
    try await withThrowingTaskGroup(of: Void.self) { group in
        var outstanding = 0
        for index in 0..<count {
            if outstanding >= max(1, window) {
                try await group.next()
                outstanding -= 1
            }
            if rate > 0 {
                try await clock.sleep(until: start.advanced(by: .seconds(Double(index) / rate)))
            }
            group.addTask { try await send(index) }
            outstanding += 1
        }
        try await group.waitForAll()
    }
    let elapsed = start.duration(to: clock.now)
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

func componentConnection() async throws -> IPCClient {
    let environment = ProcessInfo.processInfo.environment
    guard let token = environment["SVCUID"], let socket = environment["AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT"] else {
        throw BenchFailure(description: "run me as a Greengrass component: SVCUID and the IPC socket path are not set")
    }
    return try await IPCClient.connect(socketPath: socket, authToken: token, timeout: .seconds(60))
}

func publishThroughNucleus(_ arguments: [String]) async throws {
    guard arguments.count == 6, let count = Int(arguments[1]), let window = Int(arguments[3]), let rate = Double(arguments[4]) else {
        throw BenchFailure(description: "usage: publish-ipc TOPIC COUNT QOS WINDOW RATE RESULT")
    }
    let (topic, qos, result) = (arguments[0], arguments[2], arguments[5])
    let client = try await componentConnection()
    try await Task.sleep(for: .seconds(1))  // let the outside subscriber settle, as the Python component does
    let seconds = try await drive(count: count, window: window, rate: rate) { index in
        let body = Data(stampedPayload(index)).base64EncodedString()
        let request = "{\"topicName\":\"\(topic)\",\"qos\":\"\(qos)\",\"payload\":\"\(body)\"}"
        _ = try await client.call(
            operation: "aws.greengrass#PublishToIoTCore", requestShape: "aws.greengrass#PublishToIoTCoreRequest",
            payload: Array(request.utf8))
    }
    try writeJSON(["count": count, "seconds": seconds], to: result)
    await client.close()
}

func publishDirect(_ arguments: [String]) async throws {
    guard arguments.count == 7, let port = Int(arguments[0]), let count = Int(arguments[2]), let window = Int(arguments[4]),
          let rate = Double(arguments[5])
    else {
        throw BenchFailure(description: "usage: publish-direct PORT TOPIC COUNT QOS WINDOW RATE RESULT")
    }
    let (topic, result) = (arguments[1], arguments[6])
    let qos: QoS = arguments[3] == "1" ? .atLeastOnce : .atMostOnce
    var logger = Logger(label: "ipc-bench")
    logger.logLevel = .critical  // shutdown at the end of a run is expected; errors surface as thrown errors
    let client = MQTTClient(
        configuration: MQTTClientConfiguration(host: "127.0.0.1", port: port, clientIdentifier: "direct-swift-\(topic)", cleanStart: true),
        logger: logger)
    try await withThrowingDiscardingTaskGroup { group in
        group.addTask { try await client.run() }
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while await !client.isConnected() {
            guard ContinuousClock.now < deadline else { throw BenchFailure(description: "no connection to the broker on port \(port)") }
            try await Task.sleep(for: .milliseconds(10))
        }
        try await Task.sleep(for: .seconds(1))  // same settle time as the component publishers
        // QoS 0: await what the nucleus answers a component at (accepted: handed to the connection). QoS 1: await
        // the PUBACK, as paho's wait_for_publish does, so the window bounds unacknowledged messages; awaiting only
        // acceptance would let the publisher overrun the offline spool and drop the oldest messages.
        let completion: MQTTPublishCompletion = qos == .atMostOnce ? .accepted : .acknowledged
        let seconds = try await drive(count: count, window: window, rate: rate) { index in
            try await client.publish(topic: topic, payload: ByteBuffer(bytes: stampedPayload(index)), qos: qos, until: completion)
        }
        // QoS 1 messages accepted but not yet acknowledged would be dropped by shutting down now.
        let drained = ContinuousClock.now.advanced(by: .seconds(120))
        while ContinuousClock.now < drained {
            let statistics = await client.statistics()
            if statistics.inflightMessages == 0 && statistics.spooledMessages == 0 { break }
            try await Task.sleep(for: .milliseconds(5))
        }
        try writeJSON(["count": count, "seconds": seconds], to: result)
        client.shutdown()
    }
}

/// The `t` and `i` members of a stamped payload carried in an IoTCoreMessage event.
func stamp(ofEvent payload: [UInt8]) -> (index: Int, sent: Int64)? {
    guard let event = try? JSONSerialization.jsonObject(with: Data(payload)) as? [String: Any],
          let message = event["message"] as? [String: Any], let encoded = message["payload"] as? String,
          let body = Data(base64Encoded: encoded),
          let stamp = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
          let index = stamp["i"] as? Int, let sent = (stamp["t"] as? NSNumber)?.int64Value
    else { return nil }
    return (index, sent)
}

func subscribeThroughNucleus(_ arguments: [String]) async throws {
    guard arguments.count == 4, let count = Int(arguments[1]) else {
        throw BenchFailure(description: "usage: subscribe-ipc TOPIC COUNT READY RESULT")
    }
    let (topic, ready, result) = (arguments[0], arguments[2], arguments[3])
    let client = try await componentConnection()
    let stream = try await client.openStream(
        operation: "aws.greengrass#SubscribeToIoTCore", requestShape: "aws.greengrass#SubscribeToIoTCoreRequest",
        payload: Array("{\"topicName\":\"\(topic)\",\"qos\":\"0\"}".utf8))
    try writeJSON(["ready": true], to: ready)
    var received: [(Int, Int64, Int64)] = []
    received.reserveCapacity(count)
    // Messages may be lost (QoS 0): stop 5 s after the last one, or after 2 minutes without any.
    let subscribed = ContinuousClock.now
    let lastReceive = LastReceive()
    let watchdog = Task {
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(200))
            if let last = lastReceive.value {
                if last.duration(to: .now) > .seconds(5) { break }
            } else if subscribed.duration(to: .now) > .seconds(120) {
                break
            }
        }
        stream.close()
    }
    for try await event in stream.events {
        let now = realtimeNanoseconds()
        if let (index, sent) = stamp(ofEvent: event.payload) { received.append((index, sent, now)) }
        lastReceive.mark()
        if received.count >= count { break }
    }
    watchdog.cancel()
    try writeJSON(["samples": received.map { [Int64($0.0), $0.1, $0.2] }], to: result)
    stream.close()
    await client.close()
}

func holdSubscriptions(_ arguments: [String]) async throws {
    guard arguments.count == 3, let streams = Int(arguments[1]) else {
        throw BenchFailure(description: "usage: hold PREFIX STREAMS READY")
    }
    let (prefix, ready) = (arguments[0], arguments[2])
    let client = try await componentConnection()
    var open: [IPCClientStream] = []
    for index in 0..<streams {
        open.append(try await client.openStream(
            operation: "aws.greengrass#SubscribeToIoTCore", requestShape: "aws.greengrass#SubscribeToIoTCoreRequest",
            payload: Array("{\"topicName\":\"\(prefix)/\(index)\",\"qos\":\"0\"}".utf8)))
    }
    try writeJSON(["streams": open.count], to: ready)
    // Held until the nucleus stops the component; events (none expected) are not read.
    while true { try await Task.sleep(for: .seconds(3600)) }
}

/// `{"i":<index>,"t":<ns>}` (spaces allowed after the colons) parsed by hand: the collector must keep up with the fastest publisher.
func stamp(ofPayload bytes: ByteBuffer) -> (index: Int, sent: Int64)? {
    func number(after key: String, in view: ByteBufferView) -> Int64? {
        let key = Array(key.utf8)
        guard var position = view.firstRange(of: key)?.upperBound else { return nil }
        while position < view.endIndex, view[position] == 32 { position += 1 }  // Python's json.dumps writes ": "
        let start = position
        var value: Int64 = 0
        while position < view.endIndex, view[position] >= 48, view[position] <= 57 {
            value = value * 10 + Int64(view[position] - 48)
            position += 1
        }
        return position == start ? nil : value
    }
    let view = bytes.readableBytesView
    guard let index = number(after: "\"i\":", in: view), let sent = number(after: "\"t\":", in: view) else { return nil }
    return (Int(index), sent)
}

/// utime + stime of `pid` in clock ticks, from /proc/<pid>/stat.
func cpuTicks(_ pid: Int) -> Int? {
    guard pid > 0, let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
          let close = text.lastIndex(of: ")")
    else { return nil }
    let fields = text[text.index(after: close)...].split(separator: " ")
    guard fields.count > 12, let user = Int(fields[11]), let system = Int(fields[12]) else { return nil }
    return user + system
}

func collect(_ arguments: [String]) async throws {
    guard arguments.count == 6, let port = Int(arguments[0]), let count = Int(arguments[2]), let pid = Int(arguments[3]) else {
        throw BenchFailure(description: "usage: collect PORT TOPIC COUNT PID READY RESULT")
    }
    let (topic, ready, result) = (arguments[1], arguments[4], arguments[5])
    var logger = Logger(label: "ipc-bench")
    logger.logLevel = .critical  // shutdown at the end of a run is expected; errors surface as thrown errors
    let client = MQTTClient(
        configuration: MQTTClientConfiguration(
            host: "127.0.0.1", port: port, clientIdentifier: "collector-\(topic)", cleanStart: true, inboundBufferCapacity: 1_000_000),
        logger: logger)
    let lastReceive = LastReceive()
    // Three flat arrays: the collector must not be the slowest part of the fastest run.
    var indices: [Int64] = [], sent: [Int64] = [], received: [Int64] = []
    indices.reserveCapacity(count)
    sent.reserveCapacity(count)
    received.reserveCapacity(count)
    var cpuFirst: Int?
    var cpuLast: Int?
    try await withThrowingDiscardingTaskGroup { group in
        group.addTask { try await client.run() }
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while await !client.isConnected() {
            guard ContinuousClock.now < deadline else { throw BenchFailure(description: "no connection to the broker on port \(port)") }
            try await Task.sleep(for: .milliseconds(10))
        }
        _ = try await client.subscribe([(try TopicFilter(topic), .atLeastOnce)])
        try writeJSON(["ready": true], to: ready)
        // Ends the run when messages stop for 5 s after the first (QoS 0 may lose some) or after 10 minutes.
        group.addTask {
            let started = ContinuousClock.now
            while !Task.isCancelled {
                try? await Task.sleep(for: .milliseconds(200))
                if let last = lastReceive.value, last.duration(to: .now) > .seconds(5) { break }
                if started.duration(to: .now) > .seconds(600) { break }
            }
            client.shutdown()
        }
        for await message in client.messages {
            let now = realtimeNanoseconds()
            if indices.isEmpty { cpuFirst = cpuTicks(pid) }
            if let (index, sentAt) = stamp(ofPayload: message.payload) {
                indices.append(Int64(index))
                sent.append(sentAt)
                received.append(now)
            }
            if indices.count % 64 == 1 { lastReceive.mark() }
            if indices.count >= count {
                cpuLast = cpuTicks(pid)
                break
            }
        }
        if cpuLast == nil { cpuLast = cpuTicks(pid) }
        let samples = indices.indices.map { [indices[$0], sent[$0], received[$0]] }
        try writeJSON(["samples": samples, "cpu_first": cpuFirst ?? -1, "cpu_last": cpuLast ?? -1], to: result)
        client.shutdown()
        group.cancelAll()
    }
}

let arguments = Array(CommandLine.arguments.dropFirst())
do {
    switch arguments.first {
    case "publish-ipc": try await publishThroughNucleus(Array(arguments.dropFirst()))
    case "publish-direct": try await publishDirect(Array(arguments.dropFirst()))
    case "subscribe-ipc": try await subscribeThroughNucleus(Array(arguments.dropFirst()))
    case "collect": try await collect(Array(arguments.dropFirst()))
    case "hold": try await holdSubscriptions(Array(arguments.dropFirst()))
    default: throw BenchFailure(description: "modes: publish-ipc, publish-direct, subscribe-ipc, collect, hold")
    }
} catch {
    FileHandle.standardError.write(Data("ipc-bench: \(error)\n".utf8))
    exit(1)
}
