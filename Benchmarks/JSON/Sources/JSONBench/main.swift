import Foundation
import GreengrassIPCModel
import GreengrassJSON

// Three bodies the nucleus reads and writes all the time: a deployment request (nested maps, a free-form
// configuration), a PublishToIoTCore request (base64 blob) and a component-details response.
let deployment = CreateLocalDeploymentRequest(
    groupName: "thinggroup/local", rootComponentVersionsToAdd: ["com.example.Hello": "1.0.0", "com.example.Other": "2.3.4"],
    rootComponentsToRemove: ["com.example.Old"],
    componentToConfiguration: ["com.example.Hello": ConfigurationUpdate(
        merge: ["message": "hello", "interval": 5, "ratio": 0.25, "topics": ["a/b", "c/d"], "nested": ["enabled": true]],
        reset: ["/old"])],
    componentToRunWithInfo: ["com.example.Hello": RunWithInfo(posixUser: "ggc_user:ggc_group", systemResourceLimits: SystemResourceLimits(memory: 10240, cpus: 0.5))],
    recipeDirectoryPath: "/home/me/recipes", artifactsDirectoryPath: "/home/me/artifacts", failureHandlingPolicy: .rollback)
var publish = PublishToIoTCoreRequest(topicName: "devices/thing-1/telemetry", qos: .atLeastOnce, payload: Data(repeating: 0x41, count: 256))
publish.userProperties = [IoTCoreUserProperty(key: "source", value: "sensor")]
let details = GetComponentDetailsResponse(componentDetails: ComponentDetails(
    componentName: "com.example.Hello", version: "1.0.0", state: .running,
    configuration: ["message": "hello", "interval": 5, "accessControl": ["aws.greengrass.ipc.mqttproxy": ["p1": ["operations": ["*"], "resources": ["*"]]]]]))

let iterations = Int(CommandLine.arguments.dropFirst().first ?? "") ?? 10_000

func measure(_ label: String, _ body: () throws -> Int) rethrows {
    let start = ContinuousClock.now
    let bytes = try body()
    let elapsed = ContinuousClock.now - start
    let micros = Double(elapsed.components.seconds) * 1e6 + Double(elapsed.components.attoseconds) / 1e12
    print("  \(label): \(String(format: "%.1f", micros / 1000)) ms (\(String(format: "%.2f", micros / Double(iterations))) µs per decode+encode, \(bytes / iterations) bytes)")
}

/// `iterations` decode + encode round trips of `wire` with one pair of coders; returns the bytes written.
func roundTrips<Shape>(_ wire: [UInt8], decode: ([UInt8]) throws -> Shape, encode: (Shape) throws -> Int) rethrows -> Int {
    var total = 0
    for _ in 0..<iterations { total += try encode(try decode(wire)) }
    return total
}

func run<Shape: Codable & Equatable>(_ name: String, _ value: Shape) throws {
    let wire = Array(try JSONEncoder().encode(value))
    print("\(name), \(iterations) × decode + encode:")
    let foundationDecoder = JSONDecoder()
    let foundationEncoder = JSONEncoder()
    foundationEncoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    try measure("Foundation JSONDecoder/JSONEncoder") {
        try roundTrips(wire, decode: { try foundationDecoder.decode(Shape.self, from: Data($0)) }, encode: { try foundationEncoder.encode($0).count })
    }
    let decoder = JSONValueDecoder()
    let encoder = JSONValueEncoder()
    try measure("GreengrassJSON JSONValueDecoder/JSONValueEncoder") {
        try roundTrips(wire, decode: { try decoder.decode(Shape.self, from: $0) }, encode: { try encoder.encode($0).count })
    }
    let check = try decoder.decode(Shape.self, from: wire)
    precondition(check == value)
}

try run("CreateLocalDeploymentRequest", deployment)
try run("PublishToIoTCoreRequest (256-byte payload)", publish)
try run("GetComponentDetailsResponse", details)
