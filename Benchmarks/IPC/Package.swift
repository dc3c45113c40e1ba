// swift-tools-version: 6.2
import PackageDescription

// Issue 6 benchmark clients, kept out of the main build: the Swift IPC client publishing/subscribing through the
// nucleus (run as a deployed component) and our MQTTClient doing the same work straight to the broker.
// Driven by bench_ipc.py; build: `cd Benchmarks/IPC && swift build -c release`.
let package = Package(
    name: "ipc-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "greengrass-swift", path: "../.."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        .executableTarget(
            name: "ipc-bench",
            dependencies: [
                .product(name: "MQTTClient", package: "greengrass-swift"),
                .product(name: "EventStreamRPCClient", package: "greengrass-swift"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/IPCBench",
            swiftSettings: [.enableUpcomingFeature("ExistentialAny"), .enableUpcomingFeature("MemberImportVisibility")]
        )
    ]
)
