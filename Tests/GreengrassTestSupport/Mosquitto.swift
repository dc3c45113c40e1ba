import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A real `mosquitto` broker for tests, on a free loopback port, configured through a file written into
/// its own temporary directory. Stops (SIGKILL) when the object goes away.
///
/// ```swift
/// let broker = try Mosquitto()                                  // anonymous, plain TCP
/// let secured = try Mosquitto(.init(passwords: ["alice": "pw"])) // username/password
/// let certs = try TestCertificates.generate()                   // CA, server and client certificates
/// let tls = try Mosquitto(.init(tls: .init(certificates: certs)))
/// ```
public final class Mosquitto: @unchecked Sendable {
    /// TLS listener settings.
    public struct TLS: Sendable {
        public var certificates: TestCertificates
        /// Require (and verify) a client certificate signed by the test CA.
        public var requireClientCertificate: Bool
        public init(certificates: TestCertificates, requireClientCertificate: Bool = true) {
            self.certificates = certificates
            self.requireClientCertificate = requireClientCertificate
        }
    }

    /// How to configure the broker.
    public struct Options: Sendable {
        /// User name → password. When set, anonymous clients are refused.
        public var passwords: [String: String]?
        public var tls: TLS?
        /// Keep sessions and retained messages across ``Mosquitto/restart()`` (saved on every change).
        public var persistence: Bool
        /// Extra lines appended to the config file.
        public var extraConfiguration: [String]

        public init(passwords: [String: String]? = nil, tls: TLS? = nil, persistence: Bool = false, extraConfiguration: [String] = []) {
            self.passwords = passwords
            self.tls = tls
            self.persistence = persistence
            self.extraConfiguration = extraConfiguration
        }
    }

    /// Why the broker could not be started or stopped.
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The loopback port it listens on (kept across restarts).
    public let port: Int
    /// The directory with the config file, password file, persistence database and log.
    public let directory: TemporaryDirectory
    public let options: Options
    /// Path of the broker's log file (useful in failure messages).
    public var logPath: String { directory.file("mosquitto.log") }
    private let configPath: String
    private var child: Child?
    private let lock = NSLock()

    /// Where the `mosquitto` binary is (Debian installs it in /usr/sbin).
    public static var executable: String? {
        ["/usr/sbin/mosquitto", "/usr/bin/mosquitto", "/usr/local/sbin/mosquitto"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Writes the configuration and starts the broker, returning once the port accepts connections.
    public init(_ options: Options = Options(), startTimeout: Duration = .seconds(10)) throws {
        self.options = options
        self.directory = try TemporaryDirectory(prefix: "mq")
        self.port = try FreePort.tcp()
        self.configPath = directory.file("mosquitto.conf")
        var lines = [
            "listener \(port) 127.0.0.1",
            "log_dest file \(directory.file("mosquitto.log"))",
            "log_type all",
            "max_queued_messages 100000",
            "max_inflight_messages 0",
        ]
        // Started as root, mosquitto drops to the `mosquitto` user, which cannot read or write our 0700
        // temporary directory (password file, log, persistence); staying root is harmless in a test.
        if getuid() == 0 { lines.append("user root") }
        if let passwords = options.passwords {
            let passwordFile = directory.file("passwd")
            _ = FileManager.default.createFile(atPath: passwordFile, contents: Data())
            for (user, password) in passwords.sorted(by: { $0.key < $1.key }) {
                try Self.runTool("/usr/bin/mosquitto_passwd", ["-b", passwordFile, user, password])
            }
            lines += ["allow_anonymous false", "password_file \(passwordFile)"]
        } else {
            lines.append("allow_anonymous true")
        }
        if let tls = options.tls {
            lines += [
                "cafile \(tls.certificates.caCertificate)",
                "certfile \(tls.certificates.serverCertificate)",
                "keyfile \(tls.certificates.serverKey)",
                "require_certificate \(tls.requireClientCertificate)",
            ]
        }
        if options.persistence {
            lines += ["persistence true", "persistence_location \(directory.path)/", "autosave_interval 1", "autosave_on_changes true"]
        }
        lines += options.extraConfiguration
        try (lines.joined(separator: "\n") + "\n").write(toFile: configPath, atomically: true, encoding: .utf8)
        try start(timeout: startTimeout)
    }

    deinit {
        if let pid = child?.pid {
            Glibc.kill(pid, SIGKILL)
            _ = Self.waitForExit(pid, timeout: .seconds(10))
        }
    }

    private func start(timeout: Duration) throws {
        guard let executable = Self.executable else {
            throw Failure(description: "mosquitto is not installed (apt-get install -y mosquitto mosquitto-clients)")
        }
        let pid = try Self.spawn(executable, ["-c", configPath])
        lock.withLock { child = Child(pid: pid) }
        let deadline = ContinuousClock.now + timeout
        while !FreePort.isAccepting(port) {
            guard isRunning else {
                throw Failure(description: "mosquitto exited during start-up; log: \(log())")
            }
            guard ContinuousClock.now < deadline else {
                throw Failure(description: "mosquitto did not accept on port \(port) within \(timeout); log: \(log())")
            }
            usleep(10_000)
        }
    }

    private struct Child {
        var pid: pid_t
    }

    /// Spawns with an empty signal mask and default dispositions: Foundation's `Process` started from a
    /// concurrency thread passes on a mask that blocks SIGTERM (swift-corelibs-foundation #4772), and NIO's
    /// ignored SIGPIPE would leak into the broker too.
    static func spawn(_ executable: String, _ arguments: [String]) throws -> pid_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigmask(&attributes, &empty)
        var defaults = sigset_t()
        sigemptyset(&defaults)
        for signal in [SIGPIPE, SIGTERM, SIGINT, SIGHUP] { sigaddset(&defaults, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        let envp: [UnsafeMutablePointer<CChar>?] = [strdup("PATH=/usr/sbin:/usr/bin:/sbin:/bin"), nil]
        defer { for pointer in envp { free(pointer) } }
        var pid: pid_t = 0
        let result = posix_spawn(&pid, executable, &actions, &attributes, argv, envp)
        guard result == 0 else { throw Failure(description: "posix_spawn \(executable) failed: errno \(result)") }
        return pid
    }

    /// Reaps `pid` if it has exited; true once it is gone.
    private static func reap(_ pid: pid_t) -> Bool {
        var status: Int32 = 0
        let result = waitpid(pid, &status, WNOHANG)
        return result == pid || (result == -1 && errno == ECHILD)
    }

    private static func waitForExit(_ pid: pid_t, timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while !reap(pid) {
            guard ContinuousClock.now < deadline else { return false }
            usleep(2_000)
        }
        return true
    }

    /// The broker's log so far.
    public func log() -> String {
        (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
    }

    /// Whether the broker process is running.
    public var isRunning: Bool {
        lock.withLock {
            guard let pid = child?.pid else { return false }
            if Self.reap(pid) {
                child = nil
                return false
            }
            return true
        }
    }

    /// Stops the broker gracefully (SIGTERM, so a persistent broker saves its state) and waits for it to exit.
    public func stop() {
        signal(SIGTERM)
    }

    /// Kills the broker abruptly (SIGKILL): clients see the connection drop without DISCONNECT.
    public func kill() {
        signal(SIGKILL)
    }

    private func signal(_ number: Int32) {
        guard isRunning, let pid = lock.withLock({ child?.pid }) else { return }
        Glibc.kill(pid, number)
        // A broker ignoring SIGTERM for 10 s gets SIGKILL.
        if !Self.waitForExit(pid, timeout: .seconds(10)), number != SIGKILL {
            Glibc.kill(pid, SIGKILL)
            _ = Self.waitForExit(pid, timeout: .seconds(10))
        }
        lock.withLock { child = nil }
    }

    /// Starts the broker again on the same port with the same configuration (stopping it first if needed).
    public func restart(timeout: Duration = .seconds(10)) throws {
        stop()
        // The old socket may linger briefly; mosquitto sets SO_REUSEADDR so the bind succeeds.
        try start(timeout: timeout)
    }

    @discardableResult
    static func runTool(_ path: String, _ arguments: [String], in directory: String? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Small outputs only (openssl, mosquitto_passwd); read to EOF before waiting so the pipe never fills.
        let data = output.fileHandleForReading.readDataToEndOfFile()
        // Polled: `waitUntilExit()` spins a run loop and can hang when called from a concurrency thread.
        let deadline = ContinuousClock.now + .seconds(60)
        while process.isRunning, ContinuousClock.now < deadline { usleep(2_000) }
        let text = String(decoding: data, as: UTF8.self)
        guard process.terminationStatus == 0 else {
            throw Failure(description: "\(path) \(arguments.joined(separator: " ")) failed (\(process.terminationStatus)): \(text)")
        }
        return text
    }
}

/// A test PKI made with `openssl`: a CA, a server certificate for `localhost`/127.0.0.1, and a client certificate.
public struct TestCertificates: Sendable {
    public var directory: String
    public var caCertificate: String
    public var caKey: String
    public var serverCertificate: String
    public var serverKey: String
    public var clientCertificate: String
    public var clientKey: String

    /// Generates the files into `directory` (EC P-256 keys: fast to generate). `serverSubjectAltNames` is the
    /// server certificate's openssl `subjectAltName` value, e.g. `"IP:127.0.0.1"` or `"DNS:localhost"`.
    public static func generate(
        in directory: String, clientCommonName: String = "test-client", serverSubjectAltNames: String = "DNS:localhost,IP:127.0.0.1"
    ) throws -> TestCertificates {
        let openssl = ["/usr/bin/openssl", "/usr/local/bin/openssl"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/usr/bin/openssl"
        func file(_ name: String) -> String { directory + "/" + name }
        let certificates = TestCertificates(
            directory: directory, caCertificate: file("ca.pem"), caKey: file("ca.key"),
            serverCertificate: file("server.pem"), serverKey: file("server.key"),
            clientCertificate: file("client.pem"), clientKey: file("client.key"))
        func key(_ path: String) throws {
            try Mosquitto.runTool(openssl, ["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path])
        }
        try key(certificates.caKey)
        try Mosquitto.runTool(openssl, [
            "req", "-x509", "-new", "-key", certificates.caKey, "-days", "2", "-subj", "/CN=Greengrass Test CA",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            "-out", certificates.caCertificate,
        ])
        func issue(_ name: String, key keyPath: String, certificate: String, commonName: String, extensions: String) throws {
            try key(keyPath)
            let csr = file("\(name).csr")
            let extFile = file("\(name).ext")
            try extensions.write(toFile: extFile, atomically: true, encoding: .utf8)
            try Mosquitto.runTool(openssl, ["req", "-new", "-key", keyPath, "-subj", "/CN=\(commonName)", "-out", csr])
            try Mosquitto.runTool(openssl, [
                "x509", "-req", "-in", csr, "-CA", certificates.caCertificate, "-CAkey", certificates.caKey, "-CAcreateserial",
                "-days", "2", "-extfile", extFile, "-out", certificate,
            ])
        }
        try issue(
            "server", key: certificates.serverKey, certificate: certificates.serverCertificate, commonName: "localhost",
            extensions: "subjectAltName=\(serverSubjectAltNames)\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature\n")
        try issue(
            "client", key: certificates.clientKey, certificate: certificates.clientCertificate, commonName: clientCommonName,
            extensions: "extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature\n")
        return certificates
    }
}
