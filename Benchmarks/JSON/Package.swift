// swift-tools-version: 6.2
import PackageDescription

// Issue 16 sanity check, kept out of the main build: decode + encode of typical IPC bodies, Foundation's coders
// against GreengrassJSON's, in one run. Run: `bash Benchmarks/JSON/run.sh` (from the repository root).
let package = Package(
    name: "json-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [.package(name: "greengrass-swift", path: "../..")],
    targets: [
        .executableTarget(
            name: "json-bench",
            dependencies: [
                .product(name: "GreengrassJSON", package: "greengrass-swift"),
                .product(name: "GreengrassIPCModel", package: "greengrass-swift"),
            ],
            path: "Sources/JSONBench",
            swiftSettings: [.enableUpcomingFeature("ExistentialAny"), .enableUpcomingFeature("MemberImportVisibility")]
        )
    ]
)
