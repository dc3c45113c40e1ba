// swift-tools-version: 6.2
import PackageDescription

// A separate package so the main build stays light: `cd Benchmarks/MQTT && swift run -c release mqtt-bench`.
let package = Package(
    name: "mqtt-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: "../.."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
    ],
    targets: [
        .executableTarget(
            name: "mqtt-bench",
            dependencies: [
                .product(name: "MQTTClient", package: "main"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/MQTTBench",
            swiftSettings: [.enableUpcomingFeature("ExistentialAny"), .enableUpcomingFeature("MemberImportVisibility")]
        )
    ]
)
