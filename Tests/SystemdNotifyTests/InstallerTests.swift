import Foundation
import GreengrassTestSupport
import Testing

/// The repository root, for scripts/install.sh and packaging/greengrass.service.
private let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

/// Runs scripts/install.sh with `arguments`.
private func install(_ arguments: [String]) async throws -> ChildProcess.Result {
    try await ChildProcess.run("/bin/bash", [repositoryRoot + "/scripts/install.sh"] + arguments, timeout: .seconds(60))
}

/// Stand-ins for the release binaries, so the test installs without a release build.
private func fakeBinaries(in directory: TemporaryDirectory, version: String) throws -> String {
    let bin = directory.file("bin-\(version)")
    try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
    for name in ["greengrass-nucleus", "greengrass-cli"] {
        try "#!/bin/sh\necho \(name) \(version)\n".write(toFile: bin + "/" + name, atomically: true, encoding: .utf8)
        _ = chmod(bin + "/" + name, 0o755)
    }
    return bin
}

@Suite("scripts/install.sh and packaging/greengrass.service")
struct InstallerTests {
    @Test(arguments: [
        (["--bogus"], "unknown option '--bogus'"),
        (["--root"], "option --root needs a value"),
        (["--root", "relative/path"], "option --root needs an absolute path"),
        (["--root", "/"], "option --root must not be /"),
        (["--setup-system-service", "yes"], "option --setup-system-service takes true or false, not 'yes'"),
        (["--setup-system-service=maybe"], "option --setup-system-service takes true or false, not 'maybe'"),
        (["--start", "1"], "option --start takes true or false"),
        (["--keep-config", "no"], "option --keep-config takes true or false"),
        (["--component-default-user", "Bad User"], "option --component-default-user takes USER or USER:GROUP"),
        (["--component-default-user", "ggc_user:"], "option --component-default-user takes USER or USER:GROUP"),
        (["--init-config", "/nonexistent/config.yaml"], "option --init-config names a file that cannot be read"),
        (["--bin-dir", "/nonexistent/bin"], "option --bin-dir names a directory that does not exist"),
        (["extra"], "unknown option 'extra'"),
    ])
    func badOptionsPrintUsageNamingTheOptionAndExit2(arguments: [String], message: String) async throws {
        let result = try await install(arguments)
        #expect(result.exitCode == 2, "\(result.stdout)\(result.stderr)")
        #expect(result.stderr.contains(message), "\(result.stderr)")
        #expect(result.stderr.contains("Usage: install.sh"))
    }

    @Test func helpExitsZero() async throws {
        let result = try await install(["--help"])
        #expect(result.exitCode == 0)
        #expect(result.stdout.contains("--setup-system-service true|false"))
    }

    @Test func installsIntoARootThenUpgradesKeepingConfigurationThenUninstalls() async throws {
        let directory = try TemporaryDirectory(prefix: "ginst")
        let root = directory.file("gg/v2")
        let initConfig = directory.file("init.yaml")
        try "system:\n  thingName: device-1\n".write(toFile: initConfig, atomically: true, encoding: .utf8)
        let first = try fakeBinaries(in: directory, version: "1")

        let installed = try await install([
            "--root", root, "--init-config", initConfig, "--setup-system-service", "false", "--bin-dir", first,
        ])
        #expect(installed.exitCode == 0, "\(installed.stdout)\(installed.stderr)")
        #expect(installed.stdout.contains("Run it with: \(root)/bin/greengrass-nucleus --root \(root)"))
        for name in ["greengrass-nucleus", "greengrass-cli"] {
            #expect(FileManager.default.isExecutableFile(atPath: "\(root)/bin/\(name)"))
            #expect(try String(contentsOfFile: "\(root)/bin/\(name)", encoding: .utf8).contains("\(name) 1"))
        }
        #expect(try String(contentsOfFile: root + "/config/config.yaml", encoding: .utf8) == "system:\n  thingName: device-1\n")
        #expect(try permissions(root + "/config/config.yaml") == 0o600)
        #expect(try permissions(root + "/config") == 0o700)
        #expect(try permissions(root + "/logs") == 0o700)
        #expect(try permissions(root + "/bin") == 0o755)
        let unit = try String(contentsOfFile: root + "/greengrass.service", encoding: .utf8)
        #expect(unit.contains("ExecStart=\(root)/bin/greengrass-nucleus --root \(root)\n"))
        #expect(!unit.contains("/greengrass/v2"))

        // State the device built up since: must survive a re-run.
        try FileManager.default.createDirectory(atPath: root + "/work/com.example.Hello", withIntermediateDirectories: true)
        try "deployed".write(toFile: root + "/work/com.example.Hello/state", atomically: true, encoding: .utf8)
        try "system:\n  thingName: device-1\n# edited\n".write(toFile: root + "/config/config.yaml", atomically: true, encoding: .utf8)
        let otherConfig = directory.file("other.yaml")
        try "system:\n  thingName: other\n".write(toFile: otherConfig, atomically: true, encoding: .utf8)

        let second = try fakeBinaries(in: directory, version: "2")
        let upgraded = try await install(["--root", root, "--init-config", otherConfig, "--bin-dir", second])
        #expect(upgraded.exitCode == 0, "\(upgraded.stdout)\(upgraded.stderr)")
        #expect(try String(contentsOfFile: root + "/bin/greengrass-nucleus", encoding: .utf8).contains("greengrass-nucleus 2"))
        #expect(try String(contentsOfFile: root + "/config/config.yaml", encoding: .utf8).hasSuffix("# edited\n"))
        #expect(upgraded.stderr.contains("keeping the existing \(root)/config/config.yaml"))
        #expect(try String(contentsOfFile: root + "/work/com.example.Hello/state", encoding: .utf8) == "deployed")
        #expect(!FileManager.default.fileExists(atPath: root + "/bin/.greengrass-nucleus.new"))

        let kept = try await install(["--root", root, "--uninstall", "--keep-config", "true"])
        #expect(kept.exitCode == 0, "\(kept.stdout)\(kept.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: root) == ["config"])
        let removed = try await install(["--root", root, "--uninstall"])
        #expect(removed.exitCode == 0, "\(removed.stdout)\(removed.stderr)")
        #expect(!FileManager.default.fileExists(atPath: root))
    }

    @Test func uninstallRefusesADirectoryThatIsNotAnInstall() async throws {
        let directory = try TemporaryDirectory(prefix: "ginst")
        try "precious".write(toFile: directory.file("data"), atomically: true, encoding: .utf8)
        let result = try await install(["--root", directory.path, "--uninstall"])
        #expect(result.exitCode == 1)
        #expect(result.stderr.contains("does not look like a Greengrass install"), "\(result.stderr)")
        #expect(FileManager.default.fileExists(atPath: directory.file("data")))
    }

    @Test func withoutInitConfigOrDefaultUserNoConfigurationFileIsWritten() async throws {
        let directory = try TemporaryDirectory(prefix: "ginst")
        let root = directory.file("root")
        let bin = try fakeBinaries(in: directory, version: "1")
        let result = try await install(["--root", root, "--bin-dir", bin])
        #expect(result.exitCode == 0, "\(result.stdout)\(result.stderr)")
        // An empty config.yaml is not a configuration the nucleus accepts; none at all means its defaults.
        #expect(!FileManager.default.fileExists(atPath: root + "/config/config.yaml"))
        #expect(FileManager.default.fileExists(atPath: root + "/config"))
    }

    @Test func uninstallOfARootThatDoesNotExistSaysSo() async throws {
        let directory = try TemporaryDirectory(prefix: "ginst")
        let result = try await install(["--root", directory.file("never/installed"), "--uninstall"])
        #expect(result.exitCode == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stdout == "Nothing to uninstall: \(directory.file("never/installed")) does not exist.\n", "\(result.stdout)")
    }

    @Test func uninstallWarnsAndStopsTheNucleusThatOwnsTheRootFirst() async throws {
        let directory = try TemporaryDirectory(prefix: "ginst")
        let root = directory.file("root")
        let bin = try fakeBinaries(in: directory, version: "1")
        #expect(try await install(["--root", root, "--bin-dir", bin]).exitCode == 0)
        // A stand-in owner: takes the POSIX lock on <root>/nucleus.lock and writes its pid, as the nucleus does.
        let owner = Process()
        owner.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        owner.arguments = ["-c", """
            import fcntl, os, signal, sys, time
            signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM})  # Foundation's Process may start us with it blocked
            f = open(sys.argv[1], "w"); fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            f.write(f"{os.getpid()}\\n"); f.flush(); print("locked", flush=True); time.sleep(120)
            """, root + "/nucleus.lock"]
        let ready = Pipe()
        owner.standardOutput = ready
        try owner.run()
        defer { if owner.isRunning { kill(owner.processIdentifier, SIGKILL) } }
        _ = ready.fileHandleForReading.availableData  // "locked": the lock is held from here on

        let result = try await install(["--root", root, "--uninstall"])
        #expect(result.exitCode == 0, "\(result.stdout)\(result.stderr)")
        #expect(result.stderr.contains("warning: a greengrass-nucleus (pid \(owner.processIdentifier)) is running on \(root)"), "\(result.stderr)")
        owner.waitUntilExit()
        #expect(owner.terminationReason == .uncaughtSignal && owner.terminationStatus == SIGTERM)
        #expect(!FileManager.default.fileExists(atPath: root))
    }

    @Test func aStaleLockFileDoesNotNameALiveProcessAsOwner() async throws {
        let directory = try TemporaryDirectory(prefix: "ginst")
        let root = directory.file("root")
        let bin = try fakeBinaries(in: directory, version: "1")
        #expect(try await install(["--root", root, "--bin-dir", bin]).exitCode == 0)
        // Left by a nucleus killed with -9: its pid is now this test process's, which holds no lock on the file.
        try "\(getpid())\n".write(toFile: root + "/nucleus.lock", atomically: true, encoding: .utf8)
        let result = try await install(["--root", root, "--uninstall"])
        #expect(result.exitCode == 0, "\(result.stdout)\(result.stderr)")
        #expect(!result.stderr.contains("warning"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: root))
    }

    @Test func componentDefaultUserWithoutInitConfigIsWrittenToTheConfiguration() async throws {
        let directory = try TemporaryDirectory(prefix: "ginst")
        let root = directory.file("root")
        let bin = try fakeBinaries(in: directory, version: "1")
        // The test runs as root (CI); an existing account makes the user step a no-op, so nothing is created.
        let result = try await install(["--root", root, "--bin-dir", bin, "--component-default-user", "root:root"])
        #expect(result.exitCode == 0, "\(result.stdout)\(result.stderr)")
        let config = try String(contentsOfFile: root + "/config/config.yaml", encoding: .utf8)
        #expect(config == "services:\n  aws.greengrass.Nucleus:\n    configuration:\n      runWithDefault:\n        posixUser: \"root:root\"\n")
    }

    /// `systemd-analyze verify` on the unit as installed (root substituted, binary present), when the tool exists.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze")))
    func installedUnitPassesSystemdAnalyzeVerify() async throws {
        let directory = try TemporaryDirectory(prefix: "ginst")
        let root = directory.file("root")
        let bin = try fakeBinaries(in: directory, version: "1")
        let result = try await install(["--root", root, "--bin-dir", bin])
        #expect(result.exitCode == 0, "\(result.stdout)\(result.stderr)")
        let verify = try await ChildProcess.run("/usr/bin/systemd-analyze", ["verify", root + "/greengrass.service"], timeout: .seconds(60))
        #expect(verify.exitCode == 0, "\(verify.stdout)\(verify.stderr)")
        // Unknown or misspelt directives are only warnings, so any output at all fails the check.
        #expect(verify.stdout.isEmpty && verify.stderr.isEmpty, "\(verify.stdout)\(verify.stderr)")
        let unit = try String(contentsOfFile: repositoryRoot + "/packaging/greengrass.service", encoding: .utf8)
        for directive in [
            "Type=notify", "NotifyAccess=main", "WatchdogSec=30", "Restart=on-failure", "KillMode=mixed", "TimeoutStopSec=90",
            "ExecStart=/greengrass/v2/bin/greengrass-nucleus --root /greengrass/v2",
        ] {
            #expect(unit.split(separator: "\n").contains { $0 == directive }, "missing \(directive)")
        }
    }
}

private func permissions(_ path: String) throws -> Int {
    ((try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions]) as? NSNumber)?.intValue ?? -1
}
