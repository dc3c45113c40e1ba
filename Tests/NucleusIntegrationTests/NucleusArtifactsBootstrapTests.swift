import Foundation
import GreengrassTestSupport
import Testing

/// Bootstrap and artifact handling through the real nucleus and CLI: `Unarchive: ZIP`, `Permission`, Bootstrap's
/// exit-code contract (100 = restart the nucleus, then finish the deployment; other codes fail it, nothing changes).
@Suite("Artifacts and Bootstrap, real processes", .serialized)
struct NucleusArtifactsBootstrapTests {
    static func recipe(version: String, bootstrap: String) -> String {
        """
        RecipeFormatVersion: "2020-01-25"
        ComponentName: com.example.Boot
        ComponentVersion: "\(version)"
        Manifests:
          - Platform:
              os: linux
            Artifacts:
              - URI: s3://bucket/com.example.Boot/bundle.zip
                Unarchive: ZIP
              - URI: s3://bucket/com.example.Boot/tool.sh
                Permission:
                  Read: OWNER
                  Execute: OWNER
            Lifecycle:
              Bootstrap:
                Script: \(bootstrap)
              Run: >-
                cat {artifacts:decompressedPath}/bundle/greeting.txt &&
                {artifacts:path}/tool.sh && {artifacts:decompressedPath}/bundle/bin/inner.sh && sleep 600
        """
    }

    /// `bundle.zip` (greeting.txt, bin/inner.sh executable) and `tool.sh` for `version`.
    static func writeArtifacts(_ folder: ComponentFolder, version: String) async throws {
        try folder.artifact("com.example.Boot", version, "tool.sh", "#!/bin/sh\necho tool-ran-\(version)\n")
        let zip = "\(folder.artifacts)/com.example.Boot/\(version)/bundle.zip"
        let script = """
            import zipfile, sys
            with zipfile.ZipFile(sys.argv[1], "w") as z:
                z.writestr("greeting.txt", "hello from the zip\\n")
                info = zipfile.ZipInfo("bin/inner.sh"); info.external_attr = 0o755 << 16
                z.writestr(info, "#!/bin/sh\\necho inner-ran\\n")
            """
        let made = try await ChildProcess.run(RepositoryFiles.python3, ["-c", script, zip], timeout: .seconds(30))
        try #require(made.exitCode == 0, "\(made.stderr)")
    }

    @Test func bootstrapExit100RestartsTheNucleusOnceAndTheDeploymentFinishes() async throws {
        try await withNucleus { nucleus, directory in
            let marker = directory.file("bootstrap-runs.txt")
            let folder = try ComponentFolder(in: directory)
            try folder.recipe("boot.yaml", Self.recipe(version: "1.0.0", bootstrap: "echo ran >> \(marker); exit 100"))
            try await Self.writeArtifacts(folder, version: "1.0.0")
            let pidBefore = nucleus.pid

            let (_, status) = try await nucleus.deploy(
                ["-r", folder.recipes, "-a", folder.artifacts, "-m", "com.example.Boot=1.0.0"], timeout: .seconds(120))
            #expect(status.contains(": SUCCEEDED"), "\(status)")
            #expect(try String(contentsOfFile: marker, encoding: .utf8) == "ran\n", "Bootstrap runs exactly once")
            #expect(nucleus.pid == pidBefore && nucleus.isRunning, "the nucleus restarts in place (same pid)")
            let greengrassLog = nucleus.log("greengrass")
            #expect(greengrassLog.contains("deployment-bootstrap-restart"))
            #expect(greengrassLog.contains("system-restart"))
            #expect(greengrassLog.contains("deployment-resume"))

            let componentLog = await Self.awaitLog(nucleus, containing: "inner-ran")
            #expect(componentLog.contains("hello from the zip"))
            #expect(componentLog.contains("tool-ran-1.0.0"))
            #expect(componentLog.contains("services.com.example.Boot.lifecycle.Bootstrap.Script"))
            #expect(try await nucleus.state(of: "com.example.Boot") == "RUNNING")

            let tool = nucleus.root + "/packages/artifacts/com.example.Boot/1.0.0/tool.sh"
            let mode = try FileManager.default.attributesOfItem(atPath: tool)[.posixPermissions] as? Int
            #expect(mode.map { $0 & 0o077 } == 0, "Permission OWNER gives nothing to group or others")
            #expect(mode.map { $0 & 0o500 } == 0o500)

            // A failing Bootstrap of a new version fails the deployment and leaves 1.0.0 running.
            try folder.recipe("boot.yaml", Self.recipe(version: "2.0.0", bootstrap: "echo ran2 >> \(marker); exit 3"))
            try await Self.writeArtifacts(folder, version: "2.0.0")
            let (_, failed) = try await nucleus.deploy(
                ["-r", folder.recipes, "-a", folder.artifacts, "-m", "com.example.Boot=2.0.0"], timeout: .seconds(120))
            #expect(failed.contains(": FAILED"), "\(failed)")
            #expect(failed.contains("Bootstrap of com.example.Boot exited with code 3"), "\(failed)")
            #expect(try await nucleus.state(of: "com.example.Boot") == "RUNNING")
            let list = try await nucleus.cli(["component", "list"]).stdout
            #expect(list.contains("Component Name: com.example.Boot\n    Version: 1.0.0"), "\(list)")
        }
    }

    @Test func missingArtifactFailsTheDeploymentNamingIt() async throws {
        try await withNucleus { nucleus, directory in
            let folder = try ComponentFolder(in: directory)
            try folder.recipe("boot.yaml", Self.recipe(version: "1.0.0", bootstrap: "true"))
            // No artifacts written.
            let (_, status) = try await nucleus.deploy(["-r", folder.recipes, "-m", "com.example.Boot=1.0.0"])
            #expect(status.contains(": FAILED"), "\(status)")
            #expect(status.contains("s3://bucket/com.example.Boot/bundle.zip"), "\(status)")
            #expect(status.contains("--artifactDir"), "\(status)")
            #expect(try await nucleus.state(of: "com.example.Boot") == nil)
        }
    }

    /// libzip and the libcrypto it needs (1.4 MB resident together) are loaded when a deployment first unpacks a
    /// ZIP, not at start; libsystemd never (sd_notify is a datagram the nucleus sends itself). Issue 16.
    @Test func zipLibrariesLoadOnlyWhenADeploymentUnpacksAnArchive() async throws {
        try await withNucleus { nucleus, directory in
            let maps = { processMappings(nucleus.pid ?? 0) }
            let atStart = maps()
            #expect(atStart.contains("greengrass-nucleus"))
            for library in ["libzip", "libcrypto", "libsystemd"] {
                #expect(!atStart.contains(library), "\(library) is mapped before any deployment")
            }
            let folder = try ComponentFolder(in: directory)
            try folder.recipe("boot.yaml", Self.recipe(version: "1.0.0", bootstrap: "true"))
            try await Self.writeArtifacts(folder, version: "1.0.0")
            let (_, status) = try await nucleus.deploy(["-r", folder.recipes, "-a", folder.artifacts, "-m", "com.example.Boot=1.0.0"])
            #expect(status.contains(": SUCCEEDED"), "\(status)")
            #expect(await Self.awaitLog(nucleus, containing: "hello from the zip").contains("hello from the zip"))
            let afterUnpacking = maps()
            #expect(afterUnpacking.contains("libzip"))
            #expect(!afterUnpacking.contains("libsystemd"))
        }
    }

    static func awaitLog(_ nucleus: NucleusProcess, containing text: String) async -> String {
        var log = ""
        _ = await eventually(timeout: .seconds(30)) {
            log = nucleus.log("com.example.Boot")
            return log.contains(text)
        }
        return log
    }
}
