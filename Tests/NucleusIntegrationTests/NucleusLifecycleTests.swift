import Foundation
import GreengrassTestSupport
import Testing

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Writes recipes (and artifacts) into a folder laid out as `greengrass-cli deployment create` expects.
struct ComponentFolder {
    let recipes: String
    let artifacts: String

    init(in directory: TemporaryDirectory, name: String = "input") throws {
        recipes = directory.file("\(name)/recipes")
        artifacts = directory.file("\(name)/artifacts")
        try FileManager.default.createDirectory(atPath: recipes, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: artifacts, withIntermediateDirectories: true)
    }

    func recipe(_ fileName: String, _ text: String) throws {
        try text.write(toFile: recipes + "/" + fileName, atomically: true, encoding: .utf8)
    }

    func artifact(_ component: String, _ version: String, _ file: String, _ text: String) throws {
        let folder = "\(artifacts)/\(component)/\(version)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try text.write(toFile: folder + "/" + file, atomically: true, encoding: .utf8)
    }

    /// Writes a recipe for `name` whose processes carry a random marker variable in their environment, so a test
    /// finds them (grandchildren included) with `NucleusProcess.processes(withEnvironment:)`; returns the marker.
    func markedRecipe(_ name: String, run: String) throws -> String {
        let marker = "GG_TEST_MARKER=\(UInt64.random(in: 0...UInt64.max))"
        try recipe("\(name).yaml", """
            RecipeFormatVersion: "2020-01-25"
            ComponentName: \(name)
            ComponentVersion: "1.0.0"
            Manifests:
              - Lifecycle:
                  Setenv:
                    \(marker.replacingOccurrences(of: "=", with: ": "))
                  Run: \(run)
            """)
        return marker
    }

    /// A minimal YAML recipe with a Run script (and optional extras inserted under the manifest lifecycle).
    static func yaml(_ name: String, _ version: String = "1.0.0", run: String, extraLifecycle: String = "", dependencies: String = "") -> String {
        """
        RecipeFormatVersion: "2020-01-25"
        ComponentName: \(name)
        ComponentVersion: "\(version)"
        \(dependencies)
        ComponentConfiguration:
          DefaultConfiguration:
            greeting: hello
        Manifests:
          - Platform:
              os: linux
            Lifecycle:
              Run: \(run)
        \(extraLifecycle)
        """
    }
}

/// Starts a nucleus in a fresh temporary root, runs `body`, and stops it.
func withNucleus(_ body: (NucleusProcess, TemporaryDirectory) async throws -> Void) async throws {
    let directory = try TemporaryDirectory(prefix: "ggit")
    let nucleus = NucleusProcess(root: directory.file("root"))
    try nucleus.start()
    do {
        try await body(nucleus, directory)
    } catch {
        nucleus.stop()
        throw error
    }
    nucleus.stop()
}

extension NucleusProcess {
    /// Runs `deployment create` and waits for the deployment to end; returns its id and final status text.
    func deploy(_ arguments: [String], timeout: Duration = .seconds(90)) async throws -> (id: String, status: String) {
        let created = try await cli(["deployment", "create"] + arguments)
        #expect(created.exitCode == 0, "deployment create failed: \(created.stderr)")
        let id = try #require(created.stdout.components(separatedBy: "Deployment Id: ").last?
            .trimmingCharacters(in: .whitespacesAndNewlines))
        var status = ""
        _ = try await eventually(timeout: timeout) {
            status = try await cli(["deployment", "status", "-i", id]).stdout
            return status.contains(": SUCCEEDED") || status.contains(": FAILED")
        }
        return (id, status)
    }

    /// The state `component list` reports for `name`, or nil.
    func state(of name: String) async throws -> String? {
        let list = try await cli(["component", "list"]).stdout
        guard let block = list.components(separatedBy: "Component Name: ").first(where: { $0.hasPrefix(name + "\n") }) else {
            return nil
        }
        return block.components(separatedBy: "State: ").dropFirst().first?.components(separatedBy: "\n").first
    }

    /// Process ids whose environment carries `marker` (to find a component's processes, grandchildren included).
    static func processes(withEnvironment marker: String) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/environ") else { return false }
            return data.split(separator: 0).contains { String(decoding: $0, as: UTF8.self) == marker }
        }
    }
}

@Suite("Nucleus and CLI, real processes", .serialized)
struct NucleusLifecycleTests {
    @Test func componentListShowsTheNucleusAndCLIErrorsWhenNucleusIsDown() async throws {
        try await withNucleus { nucleus, _ in
            let list = try await nucleus.cli(["component", "list"])
            #expect(list.exitCode == 0, "\(list.stderr)")
            #expect(list.stdout.hasPrefix("Components currently running in Greengrass:\n"))
            #expect(list.stdout.contains("Component Name: aws.greengrass.Nucleus\n    Version: "))
            #expect(nucleus.log("greengrass").contains("[INFO]"))
            let mode = try FileManager.default.attributesOfItem(atPath: nucleus.socketPath)[.posixPermissions] as? Int
            #expect(mode.map { $0 & 0o007 } == 0, "socket must not be world-accessible")
            let tokenMode = try FileManager.default.attributesOfItem(atPath: nucleus.root + "/cli_ipc_info/user-\(geteuid())")[.posixPermissions] as? Int
            #expect(tokenMode == 0o600)
        }
        let directory = try TemporaryDirectory(prefix: "ggdown")
        let result = try await ChildProcess.run(
            NucleusProcess.cliExecutable, ["--root", directory.path, "component", "list"], timeout: .seconds(30))
        #expect(result.exitCode != 0)
        #expect(result.stderr.contains(directory.path + "/ipc.socket"))
        #expect(result.stderr.split(separator: "\n").count == 1, "one line, no stack trace: \(result.stderr)")
    }

    @Test func firstStartReadsConfigYamlFromTheRootAndBadConfigIsRefused() async throws {
        let directory = try TemporaryDirectory(prefix: "ggcf")
        let root = directory.file("root")
        try FileManager.default.createDirectory(atPath: root + "/config", withIntermediateDirectories: true)
        try "services:\n  aws.greengrass.Nucleus:\n    configuration:\n      awsRegion: eu-west-1\n"
            .write(toFile: root + "/config/config.yaml", atomically: true, encoding: .utf8)
        let nucleus = NucleusProcess(root: root)
        try nucleus.start()
        let details = try await nucleus.cli(["component", "details", "-n", "aws.greengrass.Nucleus"])
        #expect(details.stdout.contains(#""awsRegion":"eu-west-1""#), "\(details.stdout)")
        #expect(nucleus.stop() == 0)

        let bad = directory.file("bad.yaml")
        try "services:\n  aws.greengrass.Nucleus:\n    configuration:\n      mqtt:\n        port: nope\n"
            .write(toFile: bad, atomically: true, encoding: .utf8)
        let refused = try await ChildProcess.run(
            NucleusProcess.nucleusExecutable, ["--root", root, "--config", bad], timeout: .seconds(30))
        #expect(refused.exitCode != 0)
        #expect(refused.stderr.contains("bad.yaml:5"), "\(refused.stderr)")
        #expect(refused.stderr.contains("mqtt.port"), "\(refused.stderr)")
    }

    @Test func deployRunAndLogComponentThenBadRecipeKeepsItRunning() async throws {
        try await withNucleus { nucleus, directory in
            let input = try ComponentFolder(in: directory)
            try input.recipe("hello.yaml", ComponentFolder.yaml(
                "com.example.Hello",
                run: "sh {artifacts:path}/hello.sh \"{configuration:/greeting}\""))
            try input.artifact("com.example.Hello", "1.0.0", "hello.sh", "echo \"$1 from $AWS_IOT_THING_NAME\"; echo oops >&2; exec sleep 600\n")
            let (_, status) = try await nucleus.deploy([
                "--recipeDir", input.recipes, "--artifactDir", input.artifacts, "--merge", "com.example.Hello=1.0.0",
            ])
            #expect(status.contains(": SUCCEEDED"), "\(status)")
            #expect(try await nucleus.state(of: "com.example.Hello") == "RUNNING")
            let logged = await eventually { nucleus.log("com.example.Hello").contains("stderr. oops.") }
            #expect(logged)
            let log = nucleus.log("com.example.Hello")
            #expect(log.contains("[INFO] (Copier) com.example.Hello: stdout. hello from "), "\(log)")
            #expect(log.contains("scriptName=services.com.example.Hello.lifecycle.Run"))
            #expect(FileManager.default.fileExists(atPath: nucleus.root + "/packages/artifacts/com.example.Hello/1.0.0/hello.sh"))

            // A broken recipe fails the deployment with the file named; what runs keeps running.
            let bad = try ComponentFolder(in: directory, name: "bad")
            try bad.recipe("broken.yaml", "RecipeFormatVersion: \"2020-01-25\"\nComponentName: com.example.Broken\nComponentVersion: \"1.0\"\nManifests: []\n")
            let (id, failed) = try await nucleus.deploy(["--recipeDir", bad.recipes, "--merge", "com.example.Broken=1.0.0"])
            #expect(failed.contains("\(id): FAILED"), "\(failed)")
            #expect(failed.contains("broken.yaml"), "\(failed)")
            #expect(try await nucleus.state(of: "com.example.Hello") == "RUNNING")

            let details = try await nucleus.cli(["component", "details", "-n", "com.example.Hello"])
            #expect(details.stdout.contains("    Configuration: {\"greeting\":\"hello\"}"), "\(details.stdout)")
            let history = try await nucleus.cli(["deployment", "list"])
            #expect(history.stdout.components(separatedBy: "Deployment ID: ").count == 3)
        }
    }

    @Test func crashLoopGoesBrokenAndDependencyOrderIsKept() async throws {
        try await withNucleus { nucleus, directory in
            let input = try ComponentFolder(in: directory)
            try input.recipe("crash.yaml", ComponentFolder.yaml("com.example.Crash", run: "exit 3"))
            let (_, status) = try await nucleus.deploy(["--recipeDir", input.recipes, "--merge", "com.example.Crash=1.0.0"])
            #expect(status.contains(": FAILED"), "\(status)")
            #expect(try await nucleus.state(of: "com.example.Crash") == "BROKEN")

            try input.recipe("base.yaml", ComponentFolder.yaml("com.example.Base", run: "echo base-started >> {work:path}/../order.txt; exec sleep 600"))
            try input.recipe("app.yaml", ComponentFolder.yaml(
                "com.example.App", run: "echo app-started >> {work:path}/../order.txt; exec sleep 600",
                dependencies: "ComponentDependencies:\n  com.example.Base:\n    VersionRequirement: \">=1.0.0 <2.0.0\"\n    DependencyType: HARD"))
            let (_, ordered) = try await nucleus.deploy([
                "--recipeDir", input.recipes, "--merge", "com.example.App=1.0.0", "--remove", "com.example.Crash",
            ])
            #expect(ordered.contains(": SUCCEEDED"), "\(ordered)")
            #expect(try await nucleus.state(of: "com.example.Base") == "RUNNING")
            #expect(try await nucleus.state(of: "com.example.Crash") == nil)
            let order = try String(contentsOfFile: nucleus.root + "/work/order.txt", encoding: .utf8)
            #expect(order == "base-started\napp-started\n")
        }
    }

    @Test func aSecondNucleusOnTheSameRootExitsAndChangesNothing() async throws {
        try await withNucleus { nucleus, directory in
            let input = try ComponentFolder(in: directory)
            let marker = try input.markedRecipe("com.example.Owned", run: "exec sleep 600")
            let (_, status) = try await nucleus.deploy(["--recipeDir", input.recipes, "--merge", "com.example.Owned=1.0.0"])
            #expect(status.contains(": SUCCEEDED"), "\(status)")
            let before = Set(NucleusProcess.processes(withEnvironment: marker))
            #expect(!before.isEmpty)
            let socketInode = try FileManager.default.attributesOfItem(atPath: nucleus.socketPath)[.systemFileNumber] as? Int

            let second = try await ChildProcess.run(
                NucleusProcess.nucleusExecutable, ["--root", nucleus.root], timeout: .seconds(30))
            #expect(second.exitCode != 0)
            let firstPID = try #require(nucleus.pid)
            #expect(second.stderr.contains(nucleus.root) && second.stderr.contains("pid \(firstPID)"), "\(second.stderr)")
            #expect(second.stderr.split(separator: "\n").count == 1, "one line: \(second.stderr)")

            // The first nucleus's component, socket and answers are untouched.
            #expect(Set(NucleusProcess.processes(withEnvironment: marker)) == before)
            #expect(try FileManager.default.attributesOfItem(atPath: nucleus.socketPath)[.systemFileNumber] as? Int == socketInode)
            #expect(try await nucleus.state(of: "com.example.Owned") == "RUNNING")
            #expect(!nucleus.log("greengrass").contains("orphan-cleanup"))
        }
    }

    @Test func aKilledNucleusLeavesNoLockBehind() async throws {
        let directory = try TemporaryDirectory(prefix: "gglk")
        let nucleus = NucleusProcess(root: directory.file("root"))
        try nucleus.start()
        nucleus.kill()
        try nucleus.start()
        #expect(try await nucleus.cli(["component", "list"]).exitCode == 0)
        let lockText = try String(contentsOfFile: nucleus.root + "/nucleus.lock", encoding: .utf8)
        #expect(lockText == "\(try #require(nucleus.pid))\n")
        #expect(nucleus.stop() == 0)
    }

    @Test func componentsComeBackAfterSigtermAndAfterKillNine() async throws {
        let directory = try TemporaryDirectory(prefix: "ggre")
        let nucleus = NucleusProcess(root: directory.file("root"))
        try nucleus.start()
        let input = try ComponentFolder(in: directory)
        let marker = try input.markedRecipe("com.example.Service", run: "\"sleep 600 & sleep 600\"")
        let (_, status) = try await nucleus.deploy(["--recipeDir", input.recipes, "--merge", "com.example.Service=1.0.0"])
        #expect(status.contains(": SUCCEEDED"), "\(status)")
        #expect(NucleusProcess.processes(withEnvironment: marker).count >= 2, "sh and its sleeps")

        // SIGTERM: every process of the component, grandchildren included, is gone; the nucleus exits 0.
        #expect(nucleus.stop() == 0)
        #expect(await eventually(timeout: .seconds(10)) { NucleusProcess.processes(withEnvironment: marker).isEmpty })
        #expect(nucleus.log("greengrass").contains("Nucleus stopped"))

        try nucleus.start()
        #expect(try await eventually { try await nucleus.state(of: "com.example.Service") == "RUNNING" })
        let before = Set(NucleusProcess.processes(withEnvironment: marker))
        #expect(!before.isEmpty)

        // kill -9: the next nucleus stops the orphans it recorded, then starts the component again.
        nucleus.kill()
        #expect(!NucleusProcess.processes(withEnvironment: marker).isEmpty, "orphans survive the nucleus")
        try nucleus.start()
        #expect(try await eventually { try await nucleus.state(of: "com.example.Service") == "RUNNING" })
        #expect(await eventually(timeout: .seconds(10)) {
            Set(NucleusProcess.processes(withEnvironment: marker)).isDisjoint(with: before)
        })
        #expect(nucleus.stop() == 0)
        #expect(await eventually(timeout: .seconds(10)) { NucleusProcess.processes(withEnvironment: marker).isEmpty })
    }
}
