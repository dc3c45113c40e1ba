import EventStream
import EventStreamRPCServer
import GreengrassIPCModel
import GreengrassIPCServices
import NIOEmbedded
import Synchronization
import Testing

@Suite("PutComponentMetric")
struct ComponentMetricTests {
    static func request(_ metrics: [ComponentMetric]?) -> PutComponentMetricRequest { PutComponentMetricRequest(metrics: metrics) }

    @Test(arguments: [
        ("BYTES", ComponentMetricUnit.bytes), ("BYTES_PER_SECOND", .bytesPerSecond), ("COUNT", .count),
        ("COUNT_PER_SECOND", .countPerSecond), ("MEGABYTES", .megabytes), ("SECONDS", .seconds),
        ("Percent", .percent), ("none", .none), ("bytes-per-second", .bytesPerSecond),
    ])
    func unitsMatchAsJava(text: String, unit: ComponentMetricUnit) throws {
        let metrics = try ComponentMetricValidation.validate(Self.request([ComponentMetric(name: "m", unit: text, value: 1)]))
        #expect(metrics == [ValidatedMetric(name: "m", unit: unit, value: 1)])
    }

    @Test(arguments: [
        (nil as [ComponentMetric]?, "Null or Empty list of metrics found in PutComponentMetricRequest"),
        ([], "Null or Empty list of metrics found in PutComponentMetricRequest"),
        ([ComponentMetric(name: "m", unit: "COUNT", value: -1)], "Invalid argument found in PutComponentMetricRequest"),
        ([ComponentMetric(name: "", unit: "COUNT", value: 1)], "Invalid argument found in PutComponentMetricRequest"),
        ([ComponentMetric(name: String(repeating: "n", count: 33), unit: "COUNT", value: 1)], "Invalid argument found in PutComponentMetricRequest"),
        ([ComponentMetric(name: "m", unit: nil, value: 1)], "Invalid argument found in PutComponentMetricRequest"),
        ([ComponentMetric(name: "m", unit: "COUNT", value: nil)], "Invalid argument found in PutComponentMetricRequest"),
        ([ComponentMetric(name: "m", unit: "MILLISECONDS", value: 1)], "Invalid telemetry unit: No matching TelemetryUnit type found"),
    ])
    func invalidRequestsAreInvalidArguments(metrics: [ComponentMetric]?, message: String) {
        #expect(throws: IPCModeledError.invalidArguments(message)) {
            try ComponentMetricValidation.validate(Self.request(metrics))
        }
    }

    @Test func nameOfThirtyTwoBytesIsAccepted() throws {
        let name = String(repeating: "é", count: 16)  // 32 UTF-8 bytes
        #expect(try ComponentMetricValidation.validate(Self.request([ComponentMetric(name: name, unit: "COUNT", value: 0)])).count == 1)
        #expect(throws: IPCModeledError.self) {
            try ComponentMetricValidation.validate(Self.request([ComponentMetric(name: name + "x", unit: "COUNT", value: 0)]))
        }
    }

    @Test func tableKeepsTheLatestValueAndEvictsTheOldestBeyondItsBound() {
        var table = ComponentMetricTable(maximumMetrics: 2)
        table.put(component: "aws.A", ValidatedMetric(name: "m1", unit: .count, value: 1), timestampMs: 1)
        table.put(component: "aws.A", ValidatedMetric(name: "m2", unit: .count, value: 2), timestampMs: 2)
        table.put(component: "aws.A", ValidatedMetric(name: "m1", unit: .count, value: 10), timestampMs: 3)
        #expect(table.latest(component: "aws.A", metric: "m1")?.value == 10)
        table.put(component: "aws.B", ValidatedMetric(name: "m3", unit: .seconds, value: 3), timestampMs: 4)
        #expect(table.entries.count == 2)
        #expect(table.latest(component: "aws.A", metric: "m2") == nil)  // least recently put
        #expect(table.latest(component: "aws.A", metric: "m1")?.value == 10)
        #expect(table.latest(component: "aws.B", metric: "m3")?.unit == .seconds)
    }

    struct Authorizer: IPCAuthorizer {
        let allowed: Set<String>
        func isAuthorized(principal: String, service: String, operation: String, resource: String) async -> Bool {
            service == "aws.greengrass.ipc.componentmetric" && operation == "aws.greengrass#PutComponentMetric"
                && allowed.contains("\(principal):\(resource)")
        }
    }

    func put(_ operations: ComponentMetricOperations, as principal: String, _ json: String) async -> IPCReply {
        var router = IPCRouter()
        operations.register(on: &router)
        let operation = "aws.greengrass#PutComponentMetric"
        let stream = IPCStream.detached(operation: operation, eventLoop: EmbeddedEventLoop(), sink: { _ in })
        return await router.handle(IPCCall(principal: principal, operation: operation, payload: Array(json.utf8), stream: stream))
    }

    @Test func streamManagerNeedsNoMetricPolicy() async {
        let operations = ComponentMetricOperations(authorizer: Authorizer(allowed: []), now: { 1 })
        let reply = await put(operations, as: "aws.greengrass.StreamManager", #"{"metrics":[{"name":"BytesAppended","unit":"BYTES","value":10}]}"#)
        #expect(reply == .response(shape: "aws.greengrass#PutComponentMetricResponse", json: Array("{}".utf8)))
        let other = await put(operations, as: "aws.greengrass.Other", #"{"metrics":[{"name":"BytesAppended","unit":"BYTES","value":10}]}"#)
        #expect(other != reply)
    }

    @Test func handlerAuthorizesKeepsAndReports() async {
        let accepted = Mutex<[String]>([])
        let operations = ComponentMetricOperations(authorizer: Authorizer(allowed: ["aws.test.Metrics:cpu"]), now: { 42 }) { component, metric in
            accepted.withLock { $0.append("\(component):\(metric.name)=\(metric.value)") }
        }
        let ok = await put(operations, as: "aws.test.Metrics", #"{"metrics":[{"name":"cpu","unit":"COUNT","value":3.5}]}"#)
        #expect(ok == .response(shape: "aws.greengrass#PutComponentMetricResponse", json: Array("{}".utf8)))
        #expect(operations.metrics.latest(component: "aws.test.Metrics", metric: "cpu")?.value == 3.5)
        #expect(accepted.withLock { $0 } == ["aws.test.Metrics:cpu=3.5"])

        let otherMetric = await put(operations, as: "aws.test.Metrics", #"{"metrics":[{"name":"mem","unit":"BYTES","value":1}]}"#)
        #expect(otherMetric == .error(.unauthorized(
            "Principal aws.test.Metrics is not authorized to perform aws.greengrass.ipc.componentmetric:aws.greengrass#PutComponentMetric with metric name mem")))

        let notAws = await put(operations, as: "com.example.Metrics", #"{"metrics":[{"name":"cpu","unit":"COUNT","value":1}]}"#)
        #expect(notAws == .error(.unauthorized(
            "Principal com.example.Metrics is not authorized to perform aws.greengrass.ipc.componentmetric:aws.greengrass#PutComponentMetric ")))

        let negative = await put(operations, as: "aws.test.Metrics", #"{"metrics":[{"name":"cpu","unit":"COUNT","value":-1}]}"#)
        #expect(negative == .error(.invalidArguments("Invalid argument found in PutComponentMetricRequest")))
        #expect(operations.metrics.entries.count == 1)
        #expect(accepted.withLock { $0.count } == 1)
    }
}
