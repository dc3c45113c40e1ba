import Foundation
import GreengrassDeployment
import GreengrassJSON
import GreengrassLifecycle
import GreengrassRecipe
import GreengrassStore
import GreengrassTestSupport
import Testing

@Suite("Artifact permissions")
struct ArtifactRulesTests {
    @Test(arguments: [
        // (read, execute, nucleus is root, expected mode)
        (PermissionType.owner, PermissionType.none, true, UInt16(0o400)),
        (.all, .none, true, 0o444),
        (.none, .none, true, 0o000),
        (.none, .owner, true, 0o500),
        (.owner, .all, true, 0o555),
        (.none, .all, true, 0o555),
        (.all, .owner, true, 0o544),
        (.owner, .none, false, 0o600),
        (.none, .none, false, 0o200),
        (.all, .all, false, 0o755),
    ])
    func fileModes(read: PermissionType, execute: PermissionType, root: Bool, expected: UInt16) {
        let mode = ArtifactMode.file(ArtifactPermission(read: read, execute: execute), nucleusIsRoot: root)
        #expect(mode == expected, "read \(read) execute \(execute) root \(root): \(String(mode, radix: 8))")
    }

    @Test func extractedFilesAreReadableByAllAndKeepExecutability() {
        #expect(ArtifactMode.extractedFile(archiveMode: 0o755, nucleusIsRoot: true) == 0o555)
        #expect(ArtifactMode.extractedFile(archiveMode: 0o600, nucleusIsRoot: true) == 0o444)
        #expect(ArtifactMode.extractedFile(archiveMode: nil, nucleusIsRoot: false) == 0o644)
        #expect(ArtifactMode.extractedFile(archiveMode: 0o100, nucleusIsRoot: false) == 0o755)
    }
}

@Suite("Bootstrap rules")
struct BootstrapStepTests {
    typealias Phase = String

    func component(_ version: String) -> DeployedComponent {
        DeployedComponent(
            name: "com.example.A", version: version, isRoot: true, groupName: nil, recipePath: "r.yaml",
            configuration: [:], runWith: nil)
    }

    @Test func runsForNewChangedVersionOrChangedScriptOnly() {
        let old = component("1.0.0")
        let same = component("1.0.0")
        let newer = component("1.1.0")
        #expect(BootstrapStep.isNeeded(current: nil, target: same, currentBootstrap: nil as Phase?, targetBootstrap: "b"))
        #expect(!BootstrapStep.isNeeded(current: old, target: same, currentBootstrap: "b", targetBootstrap: "b"))
        #expect(BootstrapStep.isNeeded(current: old, target: newer, currentBootstrap: "b", targetBootstrap: "b"))
        #expect(BootstrapStep.isNeeded(current: old, target: same, currentBootstrap: "b", targetBootstrap: "b2"))
        #expect(BootstrapStep.isNeeded(current: old, target: same, currentBootstrap: nil, targetBootstrap: "b"))
        #expect(!BootstrapStep.isNeeded(current: nil, target: same, currentBootstrap: nil as Phase?, targetBootstrap: nil))
        #expect(!BootstrapStep.isNeeded(current: old, target: newer, currentBootstrap: "b", targetBootstrap: nil))
    }

    @Test func exitCodesFollowGreengrass() throws {
        #expect(try BootstrapStep.interpret(.exited(0), component: "A") == .none)
        #expect(try BootstrapStep.interpret(.skipped, component: "A") == .none)
        #expect(try BootstrapStep.interpret(.exited(100), component: "A") == .restartNucleus(component: "A"))
        #expect(try BootstrapStep.interpret(.exited(101), component: "A") == .rebootHost(component: "A"))
        for outcome in [PhaseOutcome.exited(1), .exited(102), .exited(137), .timedOut, .launchFailed] {
            #expect {
                _ = try BootstrapStep.interpret(outcome, component: "com.example.A")
            } throws: { error in
                (error as? DeploymentFailure)?.cause.contains("Bootstrap of com.example.A") == true
                    && (error as? DeploymentFailure)?.errorStack.contains("COMPONENT_BOOTSTRAP_ERROR") == true
            }
        }
    }

    @Test func strongestRequestWins() {
        let restart = BootstrapRequest.restartNucleus(component: "A")
        let reboot = BootstrapRequest.rebootHost(component: "B")
        #expect(BootstrapStep.combine(.none, restart) == restart)
        #expect(BootstrapStep.combine(restart, .none) == restart)
        #expect(BootstrapStep.combine(restart, reboot) == reboot)
        #expect(BootstrapStep.combine(reboot, restart) == reboot)
        #expect(BootstrapStep.combine(.none, .none) == .none)
    }
}

@Suite("Artifact preparation on disk", .serialized)
struct ArtifactPreparationTests {
    let root: TemporaryDirectory
    let paths: NucleusPaths

    init() throws {
        root = try TemporaryDirectory(prefix: "artifacts")
        paths = NucleusPaths(root: root.path)
    }

    /// Writes `<artifacts>/<name>/1.0.0/<file>`; for zips, runs Python's zipfile (on every CI machine) so the test
    /// can build archives a friendly tool would refuse to make.
    func artifactDirectory(_ name: String) throws -> String {
        let directory = paths.artifacts(component: name, version: "1.0.0")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        return directory
    }

    func makeZip(_ path: String, _ pythonEntries: String) async throws {
        let script = """
            import zipfile, sys
            with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
            \(pythonEntries.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n"))
            """
        let result = try await ChildProcess.run(RepositoryFiles.python3, ["-c", script, path], timeout: .seconds(30))
        try #require(result.exitCode == 0, "python3 zipfile failed: \(result.stderr)")
    }

    func mode(_ path: String) throws -> UInt16 {
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        return UInt16((attributes[.posixPermissions] as? Int) ?? -1)
    }

    @Test func permissionsAreAppliedAndZipsExtracted() async throws {
        let directory = try artifactDirectory("com.example.Zip")
        try Data("print(1)\n".utf8).write(to: URL(fileURLWithPath: directory + "/run.py"))
        try await makeZip(directory + "/bundle.zip", """
            z.writestr("top.txt", "top")
            info = zipfile.ZipInfo("bin/tool.sh"); info.external_attr = 0o755 << 16
            z.writestr(info, "#!/bin/sh\\necho hi\\n")
            z.writestr("deep/er/data.json", "{}")
            """)
        let artifacts = [
            ComponentArtifact(uri: "s3://bucket/x/run.py", permission: ArtifactPermission(read: .all, execute: .owner)),
            ComponentArtifact(uri: "s3://bucket/bundle.zip", unarchive: .zip),
        ]
        try ArtifactPreparation(paths: paths).prepare(component: "com.example.Zip", version: "1.0.0", artifacts: artifacts, owner: nil)

        let isRoot = geteuid() == 0
        #expect(try mode(directory + "/run.py") == (isRoot ? 0o544 : 0o744))
        #expect(try mode(directory + "/bundle.zip") == (isRoot ? 0o400 : 0o600))
        let extracted = paths.unarchivedArtifacts(component: "com.example.Zip", version: "1.0.0") + "/bundle"
        #expect(try String(contentsOfFile: extracted + "/top.txt", encoding: .utf8) == "top")
        #expect(try String(contentsOfFile: extracted + "/deep/er/data.json", encoding: .utf8) == "{}")
        #expect(try mode(extracted + "/bin/tool.sh") & 0o111 == 0o111)
        #expect(try mode(extracted + "/top.txt") & 0o111 == 0)
        #expect(try mode(extracted + "/deep") == 0o755)
        #expect(!FileManager.default.fileExists(atPath: extracted + ".partial"))

        // A second deployment of the same version replaces the extraction rather than failing on existing files.
        try ArtifactPreparation(paths: paths).prepare(component: "com.example.Zip", version: "1.0.0", artifacts: artifacts, owner: nil)
        #expect(try String(contentsOfFile: extracted + "/top.txt", encoding: .utf8) == "top")
    }

    @Test func missingArtifactNamesTheFileAndTheFlag() throws {
        _ = try artifactDirectory("com.example.Missing")
        #expect {
            try ArtifactPreparation(paths: paths).prepare(
                component: "com.example.Missing", version: "1.0.0",
                artifacts: [ComponentArtifact(uri: "s3://bucket/absent.py")], owner: nil)
        } throws: { error in
            let text = "\(error)"
            return text.contains("s3://bucket/absent.py") && text.contains("com.example.Missing 1.0.0") && text.contains("--artifactDir")
        }
    }

    @Test(arguments: [
        ("traversal", #"z.writestr("../escaped.txt", "x")"#, "outside the extraction directory"),
        ("absolute", #"z.writestr(zipfile.ZipInfo("/tmp/gg-absolute-entry"), "x")"#, "absolute path"),
        ("symlink", "info = zipfile.ZipInfo(\"link\"); info.external_attr = (0o120777 << 16)\nz.writestr(info, \"/etc/passwd\")", "symbolic link"),
    ])
    func hostileArchivesAreRefusedWithoutWritingAnything(name: String, entries: String, reason: String) async throws {
        let component = "com.example.Hostile\(name)"
        let directory = try artifactDirectory(component)
        try await makeZip(directory + "/evil.zip", "z.writestr(\"fine.txt\", \"ok\")\n" + entries)
        #expect {
            try ArtifactPreparation(paths: paths).prepare(
                component: component, version: "1.0.0",
                artifacts: [ComponentArtifact(uri: "s3://b/evil.zip", unarchive: .zip)], owner: nil)
        } throws: { error in
            "\(error)".contains(reason)
        }
        let unarchived = paths.unarchivedArtifacts(component: component, version: "1.0.0")
        #expect(!FileManager.default.fileExists(atPath: unarchived + "/evil"))
        #expect(!FileManager.default.fileExists(atPath: unarchived + "/evil.partial"))
        #expect(!FileManager.default.fileExists(atPath: paths.unarchivedArtifactsDirectory + "/escaped.txt"))
    }

    @Test func zipBombIsBoundedBeforeExtraction() async throws {
        let directory = try artifactDirectory("com.example.Bomb")
        // 8 MiB of zeros compresses to a few KiB.
        try await makeZip(directory + "/bomb.zip", #"z.writestr("zeros", b"\0" * (8 << 20))"#)
        var preparation = ArtifactPreparation(paths: paths)
        preparation.maximumUnarchivedBytes = 1 << 20
        #expect {
            try preparation.prepare(
                component: "com.example.Bomb", version: "1.0.0",
                artifacts: [ComponentArtifact(uri: "s3://b/bomb.zip", unarchive: .zip)], owner: nil)
        } throws: { error in
            "\(error)".contains("more than 1048576 bytes")
        }
    }

    @Test(arguments: [Data(), Data("not a zip at all".utf8), Data([0x50, 0x4B, 0x03, 0x04] + Array(repeating: UInt8(0xFF), count: 64))])
    func garbageArchiveIsAnErrorNotACrash(bytes: Data) throws {
        let directory = try artifactDirectory("com.example.Garbage")
        try bytes.write(to: URL(fileURLWithPath: directory + "/broken.zip"))
        #expect(throws: ArtifactError.self) {
            try ArtifactPreparation(paths: paths).prepare(
                component: "com.example.Garbage", version: "1.0.0",
                artifacts: [ComponentArtifact(uri: "s3://b/broken.zip", unarchive: .zip)], owner: nil)
        }
    }
}
