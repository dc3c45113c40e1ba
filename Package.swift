// swift-tools-version: 6.2
import PackageDescription

// Every target builds in Swift 6 language mode (strict concurrency) with these upcoming features.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .treatAllWarnings(as: .error),
]

let nioCore = Target.Dependency.product(name: "NIOCore", package: "swift-nio")
let nioPosix = Target.Dependency.product(name: "NIOPosix", package: "swift-nio")
let nioEmbedded = Target.Dependency.product(name: "NIOEmbedded", package: "swift-nio")
let nioSSL = Target.Dependency.product(name: "NIOSSL", package: "swift-nio-ssl")
let logging = Target.Dependency.product(name: "Logging", package: "swift-log")
let argumentParser = Target.Dependency.product(name: "ArgumentParser", package: "swift-argument-parser")
let serviceLifecycle = Target.Dependency.product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let subprocess = Target.Dependency.product(name: "Subprocess", package: "swift-subprocess")
let systemPackage = Target.Dependency.product(name: "SystemPackage", package: "swift-system")

// Release executables only (debug builds link as before): the Swift runtime and FoundationEssentials linked
// statically, no symbol table exported for dlopen (nothing dlopens the executables), and lld packing the relative
// relocations of the position-independent executable, so the dynamic loader writes far fewer pages at start-up.
// Every imported function is bound at start-up (`-z now`), not at its first call: a first call long after start-up
// (seen in idle after a page return) sent the loader through the symbol tables of every library, mapping back
// 0.5 MB of loader code and hash tables; binding early also makes the whole GOT read-only after start (full RELRO).
// lld lays out first the functions start-up and idle run (linker/symbol-order.txt, made by
// scripts/generate-symbol-order.sh): the kernel maps code in 64 KiB windows around each page touched, so start-up
// code scattered over the binary kept most of `.text` resident. Names the binary lacks are skipped silently. The
// functions Swift emits without a symbol cannot be listed by name: linker/private-functions.ld gathers them next to
// the idle code. Segments are laid out so that addresses and file offsets agree modulo 64 KiB
// (`-z max-page-size=65536`; the file does not grow): the kernel maps code around a fault in 64 KiB windows of
// addresses, and where the page cache holds the binary in 64 KiB folios (after a copy, as the installer makes) it
// maps whole folios, so with the code 4 KiB off a window straddled two folios and cost 128 kB.
// Each flag's resident-memory saving is measured by scripts/bench-memory.sh (issue 16).
let leanReleaseLinking: [LinkerSetting] = [
    .unsafeFlags(
        [
            "-static-stdlib", "-l_FoundationCShims", "-l_FoundationCollections", "-lswiftSynchronization",  // FoundationEssentials.a needs them
            "-use-ld=lld", "-Xlinker", "--no-export-dynamic", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs",
            "-Xlinker", "-z", "-Xlinker", "now",
            "-Xlinker", "--symbol-ordering-file=\(Context.packageDirectory)/linker/symbol-order.txt",
            "-Xlinker", "--no-warn-symbol-ordering",
            "-Xlinker", "--script=\(Context.packageDirectory)/linker/private-functions.ld",
            "-Xlinker", "-z", "-Xlinker", "max-page-size=65536",
        ],
        .when(configuration: .release)),
]

var targets: [Target] = [
    // MARK: Pure cores (no sockets, no processes, no file system)
    .target(name: "EventStream", dependencies: ["GreengrassJSON", nioCore], swiftSettings: swiftSettings),
    .target(name: "MQTTCore", dependencies: [nioCore], swiftSettings: swiftSettings),
    .target(name: "GreengrassJSON", swiftSettings: swiftSettings),
    .target(name: "GreengrassRecipe", dependencies: ["CYAML", "GreengrassJSON", "GreengrassLifecycle"], swiftSettings: swiftSettings),
    .target(name: "GreengrassLifecycle", swiftSettings: swiftSettings),
    .target(name: "GreengrassLogFormat", dependencies: ["GreengrassJSON"], swiftSettings: swiftSettings),
    .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
    .target(name: "SystemdNotify", swiftSettings: swiftSettings),
    // The process's own mappings: hands code pages it no longer runs back to the kernel (issue 16).
    .systemLibrary(name: "CMalloc"),
    .target(name: "ProcessMemory", dependencies: ["CMalloc"], swiftSettings: swiftSettings),
    // libzip and libcrypto are loaded with dlopen when first needed (headers from libzip-dev and libssl-dev): linked,
    // they and their libraries were mapped in every nucleus (1.4 MB resident, issue 16).
    .target(name: "CZip"),
    .target(name: "ZipExtraction", dependencies: ["CZip"], swiftSettings: swiftSettings),
    // No `link` in its module map and no pkg-config: the SQLite target chooses how to link (below).
    .systemLibrary(name: "CSQLite", providers: [.apt(["libsqlite3-dev"])]),
    .target(name: "CCrypto"),

    .target(name: "GreengrassIPCModel", dependencies: ["GreengrassJSON"], swiftSettings: swiftSettings),
    .target(name: "GreengrassAuthorization", dependencies: ["GreengrassJSON", "GreengrassIPCModel"], swiftSettings: swiftSettings),

    // MARK: I/O shells
    .target(name: "EventStreamRPCServer", dependencies: ["EventStream", "GreengrassJSON", "GreengrassIPCModel", nioCore, nioPosix, logging, serviceLifecycle], swiftSettings: swiftSettings),
    .target(name: "EventStreamRPCClient", dependencies: ["EventStream", "GreengrassJSON", nioCore, nioPosix], swiftSettings: swiftSettings),
    .target(name: "MQTTClient", dependencies: ["MQTTCore", nioCore, nioPosix, nioSSL, logging, serviceLifecycle], swiftSettings: swiftSettings),
    .target(
        name: "GreengrassSpool", dependencies: ["SQLite", "MQTTCore", "MQTTClient", nioCore, nioPosix, logging, serviceLifecycle],
        swiftSettings: swiftSettings),
    .target(name: "GreengrassLogging", dependencies: ["GreengrassLogFormat", logging], swiftSettings: swiftSettings),
    .target(
        name: "GreengrassSupervisor",
        dependencies: ["GreengrassLifecycle", "GreengrassLogging", "GreengrassLogFormat", subprocess, systemPackage, logging, nioCore, nioPosix, serviceLifecycle],
        swiftSettings: swiftSettings
    ),

    // Release links the system SQLite statically (libsqlite3-dev ships libsqlite3.a; SQLite is public domain): its
    // start-up code then joins the ordered code region instead of a shared library's scattered pages (issue 16).
    .target(
        name: "SQLite", dependencies: ["CSQLite"], swiftSettings: swiftSettings,
        linkerSettings: [
            .linkedLibrary("sqlite3", .when(configuration: .debug)),
            .unsafeFlags(["-Xlinker", "-l:libsqlite3.a"], .when(configuration: .release)),
        ]),
    .target(name: "GreengrassStore", dependencies: ["GreengrassIPCModel", "GreengrassJSON", "SQLite"], swiftSettings: swiftSettings),
    .target(
        name: "GreengrassCLICommands",
        dependencies: ["EventStreamRPCClient", "GreengrassIPCModel", "GreengrassJSON", "GreengrassLogFormat", argumentParser, nioCore],
        swiftSettings: swiftSettings
    ),

    .target(
        name: "GreengrassIPCServices",
        dependencies: ["EventStreamRPCServer", "GreengrassAuthorization", "GreengrassIPCModel", "GreengrassJSON", "MQTTCore", nioCore, logging],
        swiftSettings: swiftSettings
    ),
    .target(
        name: "GreengrassPubSub",
        dependencies: ["GreengrassAuthorization", "GreengrassIPCServices", "GreengrassIPCModel", "EventStreamRPCServer", "GreengrassJSON", "MQTTCore", logging],
        swiftSettings: swiftSettings
    ),

    .target(name: "GreengrassConfig", dependencies: ["GreengrassJSON", "GreengrassRecipe"], swiftSettings: swiftSettings),
    .target(
        name: "GreengrassDeployment",
        dependencies: [
            "GreengrassRecipe", "GreengrassLifecycle", "GreengrassJSON", "GreengrassIPCModel", "GreengrassStore", "ZipExtraction", "CCrypto",
            logging, nioPosix,
        ],
        swiftSettings: swiftSettings
    ),

    .target(
        name: "GreengrassBridge",
        dependencies: [
            "GreengrassIPCServices", "GreengrassSpool", "MQTTClient", "MQTTCore", serviceLifecycle,
        ],
        swiftSettings: swiftSettings
    ),

    // MARK: Composition root
    .target(
        name: "GreengrassNucleus",
        dependencies: [
            "EventStreamRPCServer", "GreengrassConfig", "GreengrassDeployment", "GreengrassIPCModel", "GreengrassIPCServices",
            "GreengrassJSON", "GreengrassLifecycle", "GreengrassLogging", "GreengrassRecipe", "GreengrassStore",
            "GreengrassSupervisor", "GreengrassLogFormat", "GreengrassAuthorization", "GreengrassBridge", "GreengrassPubSub",
            "MQTTClient", "GreengrassSpool", "SystemdNotify", "ProcessMemory", logging, serviceLifecycle, nioCore, nioPosix,
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
        ],
        swiftSettings: swiftSettings
    ),

    // MARK: Executables (thin @main types; libraries do the work)
    .executableTarget(
        name: "NucleusMain", dependencies: ["GreengrassNucleus", argumentParser], swiftSettings: swiftSettings, linkerSettings: leanReleaseLinking),
    .executableTarget(name: "CLIMain", dependencies: ["GreengrassCLICommands"], swiftSettings: swiftSettings, linkerSettings: leanReleaseLinking),

    // MARK: Test support and tests
    .target(name: "GreengrassTestSupport", dependencies: [], path: "Tests/GreengrassTestSupport", swiftSettings: swiftSettings),
    .testTarget(name: "EventStreamTests", dependencies: ["EventStream", "GreengrassTestSupport", nioCore], swiftSettings: swiftSettings),
    .testTarget(
        name: "EventStreamRPCTests",
        dependencies: ["EventStreamRPCServer", "EventStreamRPCClient", "EventStream", "GreengrassIPCModel", "GreengrassTestSupport", nioCore, nioPosix, nioEmbedded, logging, serviceLifecycle],
        swiftSettings: swiftSettings
    ),
    .testTarget(name: "MQTTCoreTests", dependencies: ["MQTTCore", "GreengrassTestSupport", nioCore], swiftSettings: swiftSettings),
    .testTarget(
        name: "MQTTClientTests",
        dependencies: ["MQTTClient", "MQTTCore", "GreengrassTestSupport", nioCore, nioPosix, nioEmbedded, logging],
        swiftSettings: swiftSettings
    ),
    .testTarget(name: "GreengrassJSONTests", dependencies: ["GreengrassJSON", "GreengrassTestSupport"], swiftSettings: swiftSettings),
    .testTarget(name: "GreengrassRecipeTests", dependencies: ["GreengrassRecipe", "GreengrassJSON", "GreengrassLifecycle", "GreengrassTestSupport"], swiftSettings: swiftSettings),
    .testTarget(name: "GreengrassLifecycleTests", dependencies: ["GreengrassLifecycle"], swiftSettings: swiftSettings),
    .testTarget(name: "GreengrassLoggingTests", dependencies: ["GreengrassLogging", "GreengrassLogFormat", logging], swiftSettings: swiftSettings),
    .testTarget(name: "GreengrassLogFormatTests", dependencies: ["GreengrassLogFormat"], swiftSettings: swiftSettings),
    .testTarget(
        name: "GreengrassSupervisorTests",
        dependencies: ["GreengrassSupervisor", "GreengrassLifecycle", "GreengrassLogging", "GreengrassTestSupport", logging, serviceLifecycle],
        swiftSettings: swiftSettings
    ),
]

targets += [
    .testTarget(name: "NucleusIntegrationTests", dependencies: ["GreengrassTestSupport"], exclude: ["Components"], swiftSettings: swiftSettings),
    .testTarget(name: "ProcessMemoryTests", dependencies: ["ProcessMemory", "GreengrassTestSupport"], swiftSettings: swiftSettings),
    .testTarget(name: "SystemdNotifyTests", dependencies: ["SystemdNotify", "GreengrassTestSupport"], swiftSettings: swiftSettings),
    .testTarget(name: "ZipExtractionTests", dependencies: ["ZipExtraction", "GreengrassTestSupport"], swiftSettings: swiftSettings),
    .testTarget(
        name: "GreengrassBridgeTests",
        dependencies: ["GreengrassBridge", "GreengrassIPCServices", "GreengrassTestSupport", "MQTTClient", "MQTTCore", nioCore, logging],
        swiftSettings: swiftSettings
    ),
    .testTarget(
        name: "GreengrassIPCServicesTests",
        dependencies: [
            "GreengrassIPCServices", "GreengrassIPCModel", "EventStreamRPCServer", "EventStream", "GreengrassJSON", "GreengrassTestSupport", "MQTTCore",
            nioCore, nioEmbedded, logging,
        ],
        swiftSettings: swiftSettings
    ),
    .testTarget(
        name: "GreengrassDeploymentTests",
        dependencies: ["GreengrassDeployment", "GreengrassRecipe", "GreengrassLifecycle", "GreengrassStore", "GreengrassJSON", "GreengrassTestSupport", "GreengrassIPCModel", logging, nioPosix],
        swiftSettings: swiftSettings
    ),
    .testTarget(name: "GreengrassConfigTests", dependencies: ["GreengrassConfig", "GreengrassJSON"], swiftSettings: swiftSettings),
    .testTarget(
        name: "GreengrassSpoolTests", dependencies: ["GreengrassSpool", "SQLite", "MQTTCore", "MQTTClient", "GreengrassTestSupport", nioCore, nioPosix, logging],
        swiftSettings: swiftSettings),
    .testTarget(name: "GreengrassStoreTests", dependencies: ["GreengrassStore", "SQLite", "GreengrassIPCModel", "GreengrassJSON", "GreengrassTestSupport"], swiftSettings: swiftSettings),
    .testTarget(name: "GreengrassCLICommandsTests", dependencies: ["GreengrassCLICommands", "GreengrassIPCModel", "GreengrassJSON", argumentParser], swiftSettings: swiftSettings),
    .testTarget(name: "GreengrassAuthorizationTests", dependencies: ["GreengrassAuthorization", "GreengrassIPCModel", "GreengrassJSON", "MQTTCore", "GreengrassTestSupport"], swiftSettings: swiftSettings),
    .testTarget(
        name: "GreengrassNucleusTests",
        dependencies: ["GreengrassNucleus", "EventStreamRPCClient", "GreengrassDeployment", "GreengrassIPCModel", "SystemdNotify", "GreengrassTestSupport", nioCore, nioPosix, serviceLifecycle],
        swiftSettings: swiftSettings),
    .testTarget(
        name: "GreengrassPubSubTests",
        dependencies: [
            "GreengrassPubSub", "GreengrassAuthorization", "GreengrassIPCServices", "GreengrassIPCModel", "EventStreamRPCServer", "EventStreamRPCClient",
            "GreengrassJSON", "GreengrassTestSupport", "EventStream", "MQTTCore", logging, nioCore, nioPosix,
        ],
        swiftSettings: swiftSettings
    ),
]

// Focus mode for parallel development: `GG_FOCUS=MQTTCoreTests,MQTTClientTests swift test --scratch-path .build-mqtt`
// keeps only the named test targets and the local targets they need, so one module's work in progress
// never blocks another's test run. Unset (CI, README), the whole package builds and every test runs.
if let focus = Context.environment["GG_FOCUS"], !focus.isEmpty {
    var wanted = Set(focus.split(separator: ",").map(String.init))
    let byName = Dictionary(uniqueKeysWithValues: targets.map { ($0.name, $0) })
    // Integration tests drive the real executables.
    if wanted.contains("NucleusIntegrationTests") { wanted.formUnion(["NucleusMain", "CLIMain"]) }
    var queue = Array(wanted)
    while let name = queue.popLast() {
        for dependency in byName[name]?.dependencies ?? [] {
            if case .byNameItem(let depName, _) = dependency, byName[depName] != nil, !wanted.contains(depName) {
                wanted.insert(depName)
                queue.append(depName)
            }
        }
    }
    targets = targets.filter { wanted.contains($0.name) }
}

let package = Package(
    name: "greengrass-swift",
    platforms: [.macOS(.v15)],
    products: targets.contains { $0.name == "NucleusMain" }
        ? [
            .executable(name: "greengrass-nucleus", targets: ["NucleusMain"]),
            .executable(name: "greengrass-cli", targets: ["CLIMain"]),
            .library(name: "MQTTClient", targets: ["MQTTClient", "MQTTCore"]),
        ] : [],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.2"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.8.1"),
    ],
    targets: targets
)

// Library products for the separate benchmark packages under Benchmarks/, which depend on this package by path.
for library in ["EventStream", "EventStreamRPCServer", "EventStreamRPCClient", "GreengrassJSON", "GreengrassIPCModel"] where targets.contains(where: { $0.name == library }) {
    package.products.append(.library(name: library, targets: [library]))
}
