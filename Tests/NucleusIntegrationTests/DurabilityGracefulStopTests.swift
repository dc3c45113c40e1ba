import Foundation
import GreengrassTestSupport
import Testing

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Issue 7 graceful stop: SIGTERM runs every component's Shutdown, dependents before their dependencies, kills a
/// component that ignores SIGTERM once the stop grace period is over, and the nucleus exits 0, logging it.
@Suite("Durability: graceful stop on SIGTERM", .serialized)
struct DurabilityGracefulStopTests {
    /// The time between SIGTERM and SIGKILL (`componentStopGracePeriodSeconds`) and the bound on the whole stop
    /// (`gracefulShutdownTimeoutSeconds`), both set in the nucleus configuration for this test.
    static let stopGracePeriod = Duration.seconds(2)
    static let shutdownBound = Duration.seconds(20)
    static let configuration = """
        services:
          aws.greengrass.Nucleus:
            configuration:
              componentStopGracePeriodSeconds: 2
              gracefulShutdownTimeoutSeconds: 20

        """

    @Test func sigtermRunsShutdownInReverseDependencyOrderAndKillsAComponentIgnoringIt() async throws {
        try await withDurableNucleus(
            prefix: "ggdg", install: "true", shutdown: "echo NAME >> {work:path}/../shutdown-order.txt", deploySetA: false,
            nucleusConfiguration: Self.configuration
        ) { nucleus, components, _ in
            let stubbornMarker = "GG_DURABILITY_STUBBORN=\(UInt64.random(in: 0...UInt64.max))"
            try components.input.recipe("stubborn.yaml", """
                RecipeFormatVersion: "2020-01-25"
                ComponentName: com.example.DurStubborn
                ComponentVersion: "1.0.0"
                Manifests:
                  - Lifecycle:
                      Setenv:
                        \(stubbornMarker.replacingOccurrences(of: "=", with: ": "))
                      Run: "trap '' TERM; echo stubborn-started; exec sleep 600"
                      Shutdown: "echo DurStubborn >> {work:path}/../shutdown-order.txt"
                """)
            defer {
                for process in ProcessIdentity.withEnvironment(stubbornMarker) { kill(process.pid, SIGKILL) }
            }
            var wanted = DurableComponents.setA
            wanted["com.example.DurStubborn"] = "1.0.0"
            let (_, status) = try await nucleus.deploy(components.arguments(from: [:], to: wanted))
            try #require(status.contains(": SUCCEEDED"), "\(status)")
            try #require(try await nucleus.shows(wanted))
            let stubborn = ProcessIdentity.withEnvironment(stubbornMarker)
            try #require(!stubborn.isEmpty)
            let everything = components.processes.union(stubborn)

            let started = ContinuousClock.now
            let exitCode = nucleus.stop(timeout: .seconds(60))
            let took = ContinuousClock.now - started
            #expect(exitCode == 0, "the nucleus must exit 0 on SIGTERM: \(nucleus.consoleOutput())")
            // SIGTERM is ignored, so the stop waits the grace period, then SIGKILLs; then everything else is quick.
            #expect(took >= Self.stopGracePeriod - .milliseconds(500), "stopped after \(took): the grace period was not given")
            #expect(took < Self.stopGracePeriod + .seconds(10), "stopped after \(took)")
            #expect(took < Self.shutdownBound, "the configured bound on the whole stop was exceeded: \(took)")
            print("graceful stop with a SIGTERM-ignoring component: exit \(exitCode.map(String.init) ?? "none") after \(milliseconds(took))")
            let alive = everything.filter(\.isAlive)
            #expect(alive.isEmpty, "component processes left after the nucleus exited: \(alive)")

            let order = ((try? String(contentsOfFile: nucleus.root + "/work/shutdown-order.txt", encoding: .utf8)) ?? "")
                .split(separator: "\n").map(String.init)
            #expect(order.sorted() == ["DurApp", "DurBase", "DurSolo", "DurStubborn"], "every Shutdown runs once: \(order)")
            let app = order.firstIndex(of: "DurApp") ?? .max
            let base = order.firstIndex(of: "DurBase") ?? -1
            #expect(app < base, "DurApp depends on DurBase: its Shutdown must run first: \(order)")

            let log = nucleus.log("greengrass")
            #expect(log.contains("Nucleus stopped"), "\(log.suffix(3000))")
            let stubbornLines = log.split(separator: "\n").filter { $0.contains("com.example.DurStubborn") }
            #expect(stubbornLines.contains { $0.contains("SIGKILL") }, "the kill of the SIGTERM-ignoring component is logged: \(stubbornLines.joined(separator: "\n"))")
        }
    }
}
