import Foundation
import GreengrassTestSupport
import Testing

/// Whether this host lets a root nucleus manage cgroups (v1 memory/cpu/freezer writable, or a v2 hierarchy at the
/// root). Elsewhere the cgroup tests are not applicable and return.
func hostHasWritableCgroups() -> Bool {
    guard geteuid() == 0 else { return false }
    if FileManager.default.fileExists(atPath: "/sys/fs/cgroup/cgroup.controllers") { return access("/sys/fs/cgroup", W_OK) == 0 }
    return ["memory", "cpu", "freezer"].allSatisfy { access("/sys/fs/cgroup/\($0)", W_OK) == 0 }
}

/// Artifact digests, resource limits, pause/resume and cgroup orphan cleanup through the real nucleus, CLI and SDK.
@Suite("Resource control and artifact integrity, real processes", .serialized)
struct NucleusResourceControlTests {
    static func digestRecipe(digest: String, algorithm: String?) -> String {
        """
        RecipeFormatVersion: "2020-01-25"
        ComponentName: com.example.Digest
        ComponentVersion: "1.0.0"
        Manifests:
          - Platform:
              os: linux
            Artifacts:
              - URI: s3://bucket/com.example.Digest/hello.sh
                Digest: "\(digest)"
        \(algorithm.map { "        Algorithm: \($0)" } ?? "")
            Lifecycle:
              Run: sh {artifacts:path}/hello.sh
        """
    }

    @Test func artifactDigestsAreVerifiedAndAMismatchChangesNothing() async throws {
        try await withNucleus { nucleus, directory in
            let folder = try ComponentFolder(in: directory)
            let script = "echo digest-ok\n"
            try folder.artifact("com.example.Digest", "1.0.0", "hello.sh", script)
            let sum = try await ChildProcess.run("sh", ["-c", "sha256sum \(folder.artifacts)/com.example.Digest/1.0.0/hello.sh | cut -d' ' -f1 | xxd -r -p | base64"], timeout: .seconds(30))
            let good = sum.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            try #require(good.count == 44, "\(sum)")
            var flippedBytes = Array(Data(base64Encoded: good)!)
            flippedBytes[5] ^= 0x01
            let flipped = Data(flippedBytes).base64EncodedString()

            try folder.recipe("digest.yaml", Self.digestRecipe(digest: flipped, algorithm: "SHA-256"))
            let (_, bad) = try await nucleus.deploy(["-r", folder.recipes, "-a", folder.artifacts, "-m", "com.example.Digest=1.0.0"])
            #expect(bad.contains(": FAILED"), "\(bad)")
            #expect(bad.contains("Integrity check for artifact s3://bucket/com.example.Digest/hello.sh of com.example.Digest 1.0.0 failed"), "\(bad)")
            #expect(bad.contains("expected SHA-256 digest \(flipped), actual \(good)"), "\(bad)")
            #expect(try await nucleus.state(of: "com.example.Digest") == nil)
            #expect(!FileManager.default.fileExists(atPath: nucleus.root + "/packages/artifacts/com.example.Digest/1.0.0/hello.sh"),
                    "nothing of the failed deployment reaches the store")

            try folder.recipe("digest.yaml", Self.digestRecipe(digest: good, algorithm: "MD5"))
            let (_, md5) = try await nucleus.deploy(["-r", folder.recipes, "-a", folder.artifacts, "-m", "com.example.Digest=1.0.0"])
            #expect(md5.contains(": FAILED") && md5.contains("'MD5'") && md5.contains("not supported"), "\(md5)")

            try folder.recipe("digest.yaml", Self.digestRecipe(digest: good, algorithm: nil))
            let (_, ok) = try await nucleus.deploy(["-r", folder.recipes, "-a", folder.artifacts, "-m", "com.example.Digest=1.0.0"])
            #expect(ok.contains(": SUCCEEDED"), "\(ok)")
            #expect(await eventually { nucleus.log("com.example.Digest").contains("digest-ok") })
        }
    }

    @Test func systemLimitsOOMKillIsReportedAndKillNineLeftoversAreFoundThroughTheCgroups() async throws {
        guard hostHasWritableCgroups() else { return }
        try await withNucleus { nucleus, directory in
            let folder = try ComponentFolder(in: directory)
            try folder.recipe("hog.yaml", ComponentFolder.yaml(
                "com.example.Hog", run: "python3 -c \"b = b'x' * (200 * 1024 * 1024); print('allocated')\""))
            let marker = directory.file("hidden.pid")
            // The hidden grandchild leaves the session and drops the environment: only its cgroup still ties it to us.
            try folder.recipe("hider.yaml", ComponentFolder.yaml(
                "com.example.Hider", run: "env -i setsid sh -c 'echo $$ > \(marker); exec sleep 600' & exec sleep 600"))
            let (_, status) = try await nucleus.deploy([
                "-r", folder.recipes, "-m", "com.example.Hog=1.0.0", "-m", "com.example.Hider=1.0.0",
                "--systemLimits", #"{"com.example.Hog":{"memory":51200}}"#,
            ], timeout: .seconds(60))
            _ = status
            let oomLogged = await eventually(timeout: .seconds(30)) {
                nucleus.log("com.example.Hog").contains("out of memory")
            }
            #expect(oomLogged, "\(nucleus.log("com.example.Hog"))")
            #expect(nucleus.log("greengrass").contains("service-oom-killed"))
            #expect(!nucleus.log("com.example.Hog").contains("stdout. allocated"), "the 200 MB allocation must not succeed")

            #expect(await eventually { FileManager.default.fileExists(atPath: marker) })
            let hidden = try #require(Int32(try String(contentsOfFile: marker, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
            let cgroup = try String(contentsOfFile: "/proc/\(hidden)/cgroup", encoding: .utf8)
            #expect(cgroup.contains("/com.example.Hider"), "\(cgroup)")
            nucleus.kill()
            #expect(kill(hidden, 0) == 0, "the hidden grandchild outlives kill -9 of the nucleus")
            try nucleus.start()
            let gone = await eventually(timeout: .seconds(30)) { kill(hidden, 0) != 0 }
            #expect(gone, "the restarted nucleus did not find the hidden grandchild through its cgroup")
            #expect(nucleus.log("greengrass").contains("Killing processes left in the component's cgroup by the previous nucleus run"))
        }
    }

    /// The cpu quota of the cgroup `pid` is in: `cpu.cfs_quota_us` (v1) or the first field of `cpu.max` (v2).
    static func cpuQuota(ofProcess pid: Int32) -> String? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/cgroup", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            if fields[1].split(separator: ",").contains("cpu") {
                return try? String(contentsOfFile: "/sys/fs/cgroup/cpu\(fields[2])/cpu.cfs_quota_us", encoding: .utf8)
                    .trimmingCharacters(in: .whitespacesAndNewlines)
            }
            if fields[0] == "0", FileManager.default.fileExists(atPath: "/sys/fs/cgroup/cgroup.controllers") {
                return (try? String(contentsOfFile: "/sys/fs/cgroup\(fields[2])/cpu.max", encoding: .utf8))?.split(separator: " ").first.map(String.init)
            }
        }
        return nil
    }

    @Test func systemLimitsChangeWithADeploymentWithoutARestart() async throws {
        guard hostHasWritableCgroups() else { return }
        try await withNucleus { nucleus, directory in
            let folder = try ComponentFolder(in: directory)
            let pidFile = directory.file("busy.pid")
            try folder.recipe("busy.yaml", ComponentFolder.yaml("com.example.Busy", run: "echo $$ > \(pidFile); exec sh -c 'while :; do :; done'"))
            let (_, first) = try await nucleus.deploy(
                ["-r", folder.recipes, "-m", "com.example.Busy=1.0.0", "--systemLimits", #"{"com.example.Busy":{"cpus":0.25}}"#])
            #expect(first.contains(": SUCCEEDED"), "\(first)")
            #expect(await eventually { FileManager.default.fileExists(atPath: pidFile) })
            let pid = try #require(Int32(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
            #expect(Self.cpuQuota(ofProcess: pid) == "25000")

            let (_, second) = try await nucleus.deploy(
                ["-r", folder.recipes, "-m", "com.example.Busy=1.0.0", "--systemLimits", #"{"com.example.Busy":{"cpus":1.0}}"#])
            #expect(second.contains(": SUCCEEDED"), "\(second)")
            #expect(await eventually { Self.cpuQuota(ofProcess: pid) == "100000" }, "quota now \(String(describing: Self.cpuQuota(ofProcess: pid)))")
            #expect(kill(pid, 0) == 0, "the same process keeps running: the new limit applies without a restart")
            #expect(try String(contentsOfFile: pidFile, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) == "\(pid)")
        }
    }

    static let pauser = """
        import sys, time
        from awsiot.greengrasscoreipc.clientv2 import GreengrassCoreIPCClientV2
        client = GreengrassCoreIPCClientV2()
        counter = sys.argv[1]
        def read():
            with open(counter) as f:
                return int(f.read().strip() or 0)
        try:
            time.sleep(1)
            client.pause_component(component_name="com.example.Counter")
            time.sleep(0.3)
            frozen = read(); time.sleep(1); after = read()
            print(f"PAUSED frozen={frozen} after={after}", flush=True)
            client.resume_component(component_name="com.example.Counter")
            time.sleep(1)
            print(f"RESUMED now={read()} frozen={frozen}", flush=True)
        except Exception as error:
            print(f"PAUSE-ERROR {type(error).__name__} {error}", flush=True)
        time.sleep(600)
        """

    /// The number printed as `<key>=<n>` in `log`.
    static func value(_ key: String, in log: String) -> Int? {
        guard let range = log.range(of: key + "=") else { return nil }
        return Int(log[range.upperBound...].prefix { $0.isNumber })
    }

    @Test func sdkPauseAndResumeFromAnotherComponentWithAndWithoutPolicy() async throws {
        guard hostHasWritableCgroups() else { return }
        try await withNucleus { nucleus, directory in
            let folder = try ComponentFolder(in: directory)
            let counter = directory.file("counter")
            try folder.recipe("counter.yaml", ComponentFolder.yaml(
                "com.example.Counter", run: "i=0; while :; do i=$((i+1)); echo $i > \(counter); sleep 0.1; done"))
            for (name, policy) in [("com.example.Pauser", true), ("com.example.Intruder", false)] {
                try folder.artifact(name, "1.0.0", "pauser.py", Self.pauser)
                let accessControl = policy ? """
                    ComponentConfiguration:
                      DefaultConfiguration:
                        accessControl:
                          aws.greengrass.ipc.lifecycle:
                            \(name):lifecycle:1:
                              operations: ["aws.greengrass#PauseComponent", "aws.greengrass#ResumeComponent"]
                              resources: ["com.example.Counter"]
                    """ : ""
                try folder.recipe("\(name).yaml", """
                    RecipeFormatVersion: "2020-01-25"
                    ComponentName: \(name)
                    ComponentVersion: "1.0.0"
                    \(accessControl)
                    Manifests:
                      - Lifecycle:
                          Run: python3 -u {artifacts:path}/pauser.py \(counter)
                    """)
            }
            let (_, status) = try await nucleus.deploy([
                "-r", folder.recipes, "-a", folder.artifacts, "-m", "com.example.Counter=1.0.0", "-m", "com.example.Pauser=1.0.0",
            ])
            #expect(status.contains(": SUCCEEDED"), "\(status)")
            let resumed = await eventually(timeout: .seconds(40)) { nucleus.log("com.example.Pauser").contains("RESUMED") }
            let log = nucleus.log("com.example.Pauser")
            try #require(resumed, "\(log)")
            let frozen = Self.value("frozen", in: log), afterPause = Self.value("after", in: log)
            #expect(frozen != nil && frozen == afterPause && frozen! > 0, "counter moved while paused: \(String(describing: frozen)) → \(String(describing: afterPause))")
            let resumedValue = Self.value("now", in: log)
            #expect(resumedValue != nil && frozen != nil && resumedValue! >= frozen! + 3, "counter did not continue after resume: \(String(describing: resumedValue))")
            #expect(try await nucleus.state(of: "com.example.Counter") == "RUNNING")

            let (_, second) = try await nucleus.deploy(["-r", folder.recipes, "-a", folder.artifacts, "-m", "com.example.Intruder=1.0.0"])
            #expect(second.contains(": SUCCEEDED"), "\(second)")
            let denied = await eventually(timeout: .seconds(40)) { nucleus.log("com.example.Intruder").contains("PAUSE-ERROR") }
            let intruder = nucleus.log("com.example.Intruder")
            #expect(denied && intruder.contains("UnauthorizedError"), "\(intruder)")
        }
    }
}
