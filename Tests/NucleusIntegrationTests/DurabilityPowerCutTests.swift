import Foundation
import GreengrassTestSupport
import Testing

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Issue 7 power cut, on a live nucleus: while it runs a queue of deployments, it is frozen (SIGSTOP) at random
/// moments and its store files are copied — exactly what a power cut at that instant would leave on disk — then
/// it goes on (SIGCONT). Each copy is opened by an independent reader (Python's sqlite3) and must pass
/// `integrity_check` and show a committed state: the deployed set is one whole set, and the one the deployment
/// records say should be running.
@Suite("Durability: power cut of a live nucleus", .serialized)
struct DurabilityPowerCutTests {
    struct Summary: Decodable {
        struct Deployment: Decodable {
            var id: String
            var status: String
            var target: [String: String]
            var snapshot: [String: String]?
        }

        var integrity: String
        var components: [String: String]
        var deployments: [Deployment]
    }

    @Test func storeCopiedAtRandomInstantsDuringDeploymentsIsAlwaysCommitted() async throws {
        let seed = durabilitySeed()
        var random = SplitMix64(state: seed)
        try await withDurableNucleus(prefix: "ggdp", install: "sleep 0.1", deploySetA: false) { nucleus, components, directory in
            let pid = try #require(nucleus.pid)

            // Eight deployments, queued at once, alternating between the two sets.
            var ids: [String] = []
            var current: DurableComponents.ComponentSet = [:]
            for index in 0..<8 {
                let target = index % 2 == 0 ? DurableComponents.setA : DurableComponents.setB
                ids.append(try await nucleus.submitDeployment(components.arguments(from: current, to: target)))
                current = target
            }

            let store = nucleus.root + "/config/nucleus.db"
            var copies: [String] = []
            let deadline = ContinuousClock.now + .seconds(90)
            while copies.count < 30, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(Int(random.next() % 150)))
                let copy = directory.file("copy\(copies.count)")
                try FileManager.default.createDirectory(atPath: copy, withIntermediateDirectories: true)
                kill(pid, SIGSTOP)
                for suffix in ["", "-wal", "-shm"] {
                    if let data = FileManager.default.contents(atPath: store + suffix) {
                        try data.write(to: URL(fileURLWithPath: copy + "/nucleus.db" + suffix))
                    }
                }
                kill(pid, SIGCONT)
                copies.append(copy + "/nucleus.db")
                if try await nucleus.deploymentStatus(ids.last!) == "SUCCEEDED" { break }
            }
            let finished = try await eventually(timeout: .seconds(120)) {
                try await nucleus.deploymentStatus(ids.last!) == "SUCCEEDED"
            }
            #expect(finished, "the deployment queue did not finish")
            #expect(copies.count >= 10, "only \(copies.count) copies")

            var seen: [String] = []
            for (number, copy) in copies.enumerated() {
                let context = "seed \(seed), copy \(number)"
                let result = try await ChildProcess.run(
                    RepositoryFiles.python3, [repositoryRoot + "/Tests/NucleusIntegrationTests/Components/Durability/store_summary.py", copy],
                    timeout: .seconds(30))
                try #require(result.exitCode == 0, "\(context): the copy does not open: \(result.stderr)")
                let summary = try JSONDecoder().decode(Summary.self, from: Data(result.stdout.utf8))
                #expect(summary.integrity == "ok", "\(context): integrity_check says \(summary.integrity)")
                // Never a mix of two sets.
                #expect([[:], DurableComponents.setA, DurableComponents.setB].contains(summary.components),
                        "\(context): deployed set \(summary.components)")
                // The set is the one the newest started deployment committed, or (while it is IN_PROGRESS and has not
                // committed yet) the one it started from.
                if let last = summary.deployments.last(where: { $0.status != "QUEUED" }) {
                    let allowed = last.status == "IN_PROGRESS" ? [last.target, last.snapshot ?? [:]] : [last.target]
                    #expect(allowed.contains(summary.components),
                            "\(context): deployment \(last.id) is \(last.status) with target \(last.target), set \(summary.components)")
                    seen.append("\(summary.deployments.filter { $0.status == "SUCCEEDED" }.count)/\(last.status)")
                } else {
                    #expect(summary.components.isEmpty, "\(context): components \(summary.components) before any deployment")
                    seen.append("none")
                }
            }
            print("power cut of a live nucleus (seed \(seed)): \(copies.count) copies, succeeded/last state per copy: \(seen.joined(separator: " "))")
        }
    }
}
