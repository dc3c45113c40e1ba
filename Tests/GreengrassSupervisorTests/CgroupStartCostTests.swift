import Foundation
import GreengrassLifecycle
import GreengrassSupervisor
import GreengrassTestSupport
import Testing

/// BENCHMARKS.md's cgroup placement cost: the median time of a phase (`true`) from spawn to exit, 50 runs each
/// without cgroups, in a cgroup without limits and in one with memory and cpu limits, interleaved in one run.
@Suite("cgroup placement cost", .serialized)
struct CgroupStartCostTests {
    @Test func placementAddsLittleToAStart() async throws {
        guard let cgroups = hostCgroups() else { return }
        defer { removeTestCgroups(cgroups) }
        let plain = try SupervisorFixture()
        let confined = try SupervisorFixture { $0.cgroups = cgroups }
        let spec = makeSpec("com.example.Start", [.install: "true"])
        let limited = withLimits(makeSpec("com.example.Limited", [.install: "true"]), ResourceLimits(memoryKilobytes: 102_400, cpus: 0.5))
        let clock = ContinuousClock()
        var samples: [String: [Double]] = [:]
        for _ in 0..<50 {
            for (label, fixture, run) in [("none", plain, spec), ("cgroup", confined, spec), ("limits", confined, limited)] {
                let start = clock.now
                let outcome = await fixture.supervisor.runOnce(.install, of: run)
                let elapsed = clock.now - start
                #expect(outcome == .exited(0))
                samples[label, default: []].append(Double(elapsed.components.attoseconds) / 1e15 + Double(elapsed.components.seconds) * 1000)
            }
        }
        func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
        let none = median(samples["none"]!), cgroup = median(samples["cgroup"]!), limits = median(samples["limits"]!)
        print("CGROUP-START median of 50: none=\(String(format: "%.2f", none)) ms cgroup=\(String(format: "%.2f", cgroup)) ms limits=\(String(format: "%.2f", limits)) ms")
        #expect(cgroups.processes(of: "com.example.Start").isEmpty)
        cgroups.removeAll()
    }
}
