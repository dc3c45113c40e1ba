// swift-tools-version: 6.2
// Benchmarks for the event-stream codec and the IPC server, kept out of the main package so its build stays light.
// Run: bash Benchmarks/EventStream/run.sh (from the repository root).
import PackageDescription

let package = Package(
    name: "EventStreamBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "greengrass-swift", path: "../.."),
        .package(url: "https://github.com/ordo-one/benchmark", exact: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        .executableTarget(
            name: "EventStreamBenchmarks",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "EventStream", package: "greengrass-swift"),
                .product(name: "EventStreamRPCServer", package: "greengrass-swift"),
                .product(name: "EventStreamRPCClient", package: "greengrass-swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Benchmarks/EventStreamBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // The Swift server alone in its own process, so the Python baseline can compare CPU per request.
        .executableTarget(
            name: "IPCBenchServer",
            dependencies: [
                .product(name: "EventStreamRPCServer", package: "greengrass-swift"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
    ]
)
