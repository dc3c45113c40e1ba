import GreengrassLifecycle
import Testing

@testable import GreengrassSupervisor

@Suite("Supervisor pure parts")
struct SupervisorUnitTests {
    @Test(arguments: [
        ("1234 (sh) S 1 1234 1234 0 -1 4194560 101 0", ProcStat(pid: 1234, state: UInt8(ascii: "S"), parent: 1, processGroup: 1234, session: 1234)),
        ("77 (my (weird) name) Z 5 60 50 0", ProcStat(pid: 77, state: UInt8(ascii: "Z"), parent: 5, processGroup: 60, session: 50)),
        ("9 (a b) R 0 0 0", ProcStat(pid: 9, state: UInt8(ascii: "R"), parent: 0, processGroup: 0, session: 0)),
    ])
    func parsesProcStat(_ line: String, _ expected: ProcStat) {
        #expect(ProcStat.parse(Array(line.utf8)) == expected)
    }

    @Test(arguments: ["", "garbage", "12 sh S 1 2 3", "12 (sh S 1 2 3", "x (sh) S 1 2 3", "12 (sh) S 1 2", "12 (sh) SS 1 2 3", "12 (sh) S a 2 3",
        "99999999999999 (sh) S 1 2 3", ") 12 (sh S 1 2 3"])
    func rejectsMalformedProcStat(_ line: String) {
        #expect(ProcStat.parse(Array(line.utf8)) == nil)
        #expect(!ProcStat(pid: 1, state: UInt8(ascii: "Z"), parent: 0, processGroup: 0, session: 0).isAlive)
    }

    @Test("environment order: PATH and user, nucleus environment, lifecycle Setenv, phase Setenv")
    func environmentOrder() {
        let spec = makeSpec(
            "Env", version: "3.1.4", [.run: "true", .uninstall: "true"],
            environment: ["A": "env", "PATH": "/custom", "HOME": "/env-home"],
            componentSetenv: ["A": "component", "B": "component"],
            phaseSetenv: [.run: ["B": "phase"]])
        let identity = PosixIdentity(userID: 65534, groupID: 65534, supplementaryGroups: [], userName: "nobody", homeDirectory: "/nonexistent")
        let run = PhaseEnvironment.overrides(spec: spec, phase: .run, inheritedPath: "/usr/local/bin", identity: identity)
        #expect(run["A"] == "component")
        #expect(run["B"] == "phase")
        #expect(run["PATH"] == "/custom", "a nucleus-provided PATH wins over the default")
        #expect(run["HOME"] == "/env-home")
        #expect(run["USER"] == "nobody")
        #expect(run["GREENGRASS_COMPONENT_VERSION"] == nil)
        let uninstall = PhaseEnvironment.overrides(
            spec: makeSpec("Env", version: "3.1.4", [.uninstall: "true"]), phase: .uninstall, inheritedPath: "/usr/local/bin", identity: nil)
        #expect(uninstall["PATH"] == "/usr/local/bin:/bin:/usr/bin:/sbin:/usr/sbin")
        #expect(uninstall["GREENGRASS_COMPONENT_VERSION"] == "3.1.4")
        #expect(uninstall["HOME"] == nil)
    }

    @Test("spec change reactions follow Greengrass")
    func reactions() {
        let base = makeSpec("C", [.install: "i", .run: "r", .shutdown: "s"], environment: ["X": "1"], hardDependencies: ["D"])
        var changed = base
        #expect(base.reaction(to: changed) == .unchanged)
        changed.phases[.shutdown]?.script = "s2"
        #expect(base.reaction(to: changed) == .updated)
        changed = base
        changed.hardDependencies = []
        #expect(base.reaction(to: changed) == .updated)
        changed = base
        changed.phases[.run]?.script = "r2"
        #expect(base.reaction(to: changed) == .restarting)
        changed = base
        changed.environment["X"] = "2"
        #expect(base.reaction(to: changed) == .restarting)
        changed = base
        changed.componentSetenv["Y"] = "1"
        #expect(base.reaction(to: changed) == .restarting)
        changed = base
        changed.phases[.install]?.timeout = .seconds(5)
        #expect(base.reaction(to: changed) == .reinstalling)
        changed = base
        changed.version = "2.0.0"
        #expect(base.reaction(to: changed) == .reinstalling)
        changed = base
        changed.posixUser = "nobody"
        #expect(base.reaction(to: changed) == .reinstalling)
    }

    @Test("phase timeouts and script names derive from the spec")
    func specDerivations() {
        var spec = makeSpec("com.x.Y", [.install: "i", .run: "r", .shutdown: "s"], timeouts: [.install: .seconds(7)])
        spec.phases[.shutdown]?.scriptNameContext = "services.com.x.Y.lifecycle.Shutdown.Script"
        #expect(spec.phaseTimeouts[.install] == .some(.seconds(7)))
        #expect(spec.phaseTimeouts[.run] == .some(nil))
        #expect(spec.phaseTimeouts[.shutdown] == .some(.seconds(15)))
        #expect(spec.phaseTimeouts[.recover] == nil)
        #expect(spec.scriptName(.run) == "services.com.x.Y.lifecycle.Run")
        #expect(spec.scriptName(.shutdown) == "services.com.x.Y.lifecycle.Shutdown.Script")
    }

    @Test(arguments: ["", ":", "user:", ":group", "a:b:c", "no-such-user-xyz", "root:no-such-group-xyz"])
    func rejectsBadPosixUsers(_ text: String) {
        #expect(throws: SupervisorError.self) { try PosixIdentity.resolve(text) }
        do {
            _ = try PosixIdentity.resolve(text)
        } catch {
            #expect(error.code == .invalidPosixUser)
            #expect(error.description.contains("\"\(text)\""))
        }
    }

    @Test func resolvesPosixUsers() throws {
        let root = try PosixIdentity.resolve("root")
        #expect(root.userID == 0 && root.groupID == 0 && root.userName == "root")
        let nobody = try PosixIdentity.resolve("nobody:0")
        #expect(nobody.userID == 65534 && nobody.groupID == 0)
        let numeric = try PosixIdentity.resolve("4242:4343")
        #expect(numeric.userID == 4242 && numeric.groupID == 4343 && numeric.userName == nil)
    }

    @Test func rendersCommandLikeGreengrass() {
        #expect(Supervisor<ContinuousClock>.renderCommand("echo hi") == #"["echo hi"]"#)
        let long = String(repeating: "a", count: 100)
        #expect(Supervisor<ContinuousClock>.renderCommand(long) == "[\"" + String(repeating: "a", count: 90) + "...\"]")
    }

    @Test func evaluatesSkipChecks() {
        let env = ["PATH": "/nonexistent:/bin:/usr/bin", "HOME": "/"]
        #expect(Supervisor<ContinuousClock>.check(SkipCondition(check: .onPath, argument: "sh"), environment: env))
        #expect(!Supervisor<ContinuousClock>.check(SkipCondition(check: .onPath, argument: "no-such-tool-xyz"), environment: env))
        #expect(Supervisor<ContinuousClock>.check(SkipCondition(check: .onPath, argument: "/bin/sh"), environment: env))
        #expect(Supervisor<ContinuousClock>.check(SkipCondition(check: .exists, argument: "~/proc"), environment: env))
        #expect(!Supervisor<ContinuousClock>.check(SkipCondition(check: .exists, argument: "/no/such/path"), environment: env))
    }
}
