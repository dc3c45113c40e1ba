import EventStreamRPCServer
import GreengrassAuthorization
import GreengrassBridge
import GreengrassConfig
import GreengrassDeployment
import GreengrassIPCModel
import GreengrassIPCServices
import GreengrassJSON
import GreengrassLifecycle
import GreengrassLogFormat
import GreengrassLogging
import GreengrassPubSub
import GreengrassRecipe
import GreengrassSpool
import GreengrassStore
import GreengrassSupervisor
import Logging
import MQTTClient
import NIOCore
import NIOPosix
import SystemdNotify
import ServiceLifecycle
import Synchronization
import UnixSignals

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Command-line options of `greengrass-nucleus`.
public struct NucleusOptions: Sendable {
    public var root: String
    public var configFile: String?
    /// Upper bound for stopping every component on SIGTERM (systemd's TimeoutStopSec must be above it); `nil` takes
    /// `gracefulShutdownTimeoutSeconds` from the configuration (default 60 s).
    public var shutdownTimeout: Duration?

    public init(root: String, configFile: String? = nil, shutdownTimeout: Duration? = nil) {
        self.root = root
        self.configFile = configFile
        self.shutdownTimeout = shutdownTimeout
    }
}

/// Where the nucleus keeps its configuration tree in the store.
enum NucleusConfigurationStore {
    static let documentName = "nucleus"
}

/// What the nucleus remembers about the run that recorded the process groups in the store.
enum NucleusRunRecord {
    static let documentName = "nucleusRun"
    static let bootIDKey = "bootId"
}

/// The kernel's id of the current boot (`/proc/sys/kernel/random/boot_id`), or nil where there is none.
func bootID() -> String? {
    guard let data = FileManager.default.contents(atPath: "/proc/sys/kernel/random/boot_id") else { return nil }
    let text = String(decoding: data, as: UTF8.self).filter { !$0.isWhitespace }
    return text.isEmpty ? nil : text
}

/// Something the nucleus refuses to start with, reported as one line.
public struct NucleusStartupError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// The composition root: wires store, logging, supervisor, deployments and the IPC server, and runs them in one
/// `ServiceGroup` until SIGTERM/SIGINT.
/// How a nucleus run ended.
public enum NucleusExit: Sendable, Equatable {
    /// Stopped by a signal (SIGTERM/SIGINT) or a start-up interruption: exit 0.
    case stopped
    /// A deployment's Bootstrap asked for a restart: the caller starts a new nucleus process in place
    /// (`exec`), which resumes the deployment.
    case restartRequested
}

public enum Nucleus {
    @discardableResult
    public static func run(options: NucleusOptions) async throws -> NucleusExit {
        unblockTerminationSignals()
        EarlyTermination.install()
        let systemd = SystemdNotifier()
        systemd.status("Opening the state store")
        let paths = NucleusPaths(root: absolutePath(options.root))
        // First, before orphan cleanup, the store or the socket: one nucleus per root.
        let rootLock = try RootLock.acquire(root: paths.root)
        defer { withExtendedLifetime(rootLock) {} }
        try createLayout(paths)
        let store: NucleusStore
        do {
            store = try NucleusStore(path: paths.storeDatabase)
        } catch {
            throw NucleusStartupError("Cannot open the state store \(paths.storeDatabase): \(error)")
        }
        let tree = try loadConfiguration(options: options, store: store, paths: paths)
        let settings: NucleusSettings
        do {
            settings = try NucleusSettings(tree: tree)
        } catch {
            throw NucleusStartupError("Invalid persisted configuration: \(error)")
        }

        let logFiles = GreengrassLogFiles(configuration: logConfiguration(settings, paths))
        _ = GreengrassLoggingSystem.bootstrap(logFiles)
        let logger = logFiles.nucleusLogger(label: "com.aws.greengrass.lifecyclemanager.Kernel")
        logger.info("Nucleus starting", metadata: ["eventType": "system-start", "root": "\(paths.root)", "version": "\(NucleusVersion.current)"])

        let cgroups = resourceControl(root: paths.root, logger: logger)
        if let cgroups { killLeftoverCgroupProcesses(cgroups, logger: logger) }
        killLeftoverProcessGroups(store: store, socketPath: paths.ipcSocket, logger: logger)

        let tokens = AuthenticationTokens()
        let platform = Platform.linux(machine: machineName(), overrides: settings.platformOverride)
        let supervisor = Supervisor(
            configuration: SupervisorConfiguration(
                workRoot: paths.workDirectory,
                defaultPosixUser: settings.defaultPosixUser,
                shell: settings.posixShell,
                stopGracePeriod: .seconds(settings.componentStopGracePeriodSeconds),
                componentLogger: { logFiles.componentLogger(name: $0) },
                nucleusLogger: logFiles.nucleusLogger(label: "com.aws.greengrass.lifecyclemanager.GenericExternalService"),
                onProcessGroupStarted: { name, pgid in try? store.recordProcessGroup(pgid, component: name, now: epochMilliseconds()) },
                onProcessGroupExited: { _, pgid in try? store.forgetProcessGroup(pgid) },
                cgroups: cgroups))
        let authorization = AuthorizationEngine(
            configurations: [:], thingName: settings.thingName,
            builtInPolicies: AuthorizationEngine.cliPolicies(principal: CLIAuthenticationInfo.principal(uid: geteuid())))
        let policies = PolicyReloader(engine: authorization, store: store)
        policies.reload()

        let configurationOperations = ConfigurationOperations(
            store: StoredConfigurations(store: store), states: SupervisorStateReports(supervisor: supervisor),
            onChange: { _ in policies.reload() })
        let appliedConfigurations = AppliedConfigurations()
        let packages = PackageStore(paths: paths)
        let socketPath = paths.ipcSocket
        let launcher = ComponentLauncher(
            paths: paths, settings: settings, platform: platform, tokens: tokens,
            componentSocketPath: socketPath.utf8.count < 108 ? socketPath : "../../ipc.socket")
        let runtime = SupervisorRuntime(
            supervisor: supervisor, launcher: launcher, packages: packages, tokens: tokens,
            logger: logFiles.nucleusLogger(label: "com.aws.greengrass.deployment.DeploymentService"),
            onApplied: { target in
                policies.reload()
                for name in appliedConfigurations.changed(in: target) {
                    await configurationOperations.configurationReplaced(component: name)
                }
            })
        let restart = RestartRequest()
        let componentUpdates = ComponentUpdateOperations(isDeployed: { (try? store.deployedComponent(named: $0)) != nil })
        let deployments = DeploymentQueue(
            store: store, packages: packages, planner: DeploymentPlanner(platform: platform), runtime: runtime,
            logger: logFiles.nucleusLogger(label: "com.aws.greengrass.deployment.DeploymentService"),
            onRestartRequested: { request in
                if case .rebootHost(let component) = request {
                    logger.warning(
                        "Bootstrap of \(component) asked for a host reboot; the nucleus restarts instead (it never reboots the device)",
                        metadata: ["eventType": "bootstrap-reboot-requested", "serviceName": "\(component)"])
                }
                systemd.status("Restarting for a deployment's Bootstrap")
                await restart.trigger()
            },
            artifactOwner: { component in
                // OWNER in an artifact's Permission means the user the component runs as.
                guard geteuid() == 0, let user = component.runWith?.posixUser ?? settings.defaultPosixUser,
                    let identity = try? PosixIdentity.resolve(user)
                else { return nil }
                return ArtifactOwner(userID: identity.userID, groupID: identity.groupID)
            },
            validateConfiguration: { deploymentID, proposals in
                // Greengrass waits 20 s for the validators of a local deployment.
                await configurationOperations.validateConfiguration(
                    deploymentID: deploymentID, proposals: proposals, timeout: .seconds(20), clock: ContinuousClock())
            },
            componentUpdates: componentUpdateNotifier(componentUpdates))

        var router = IPCRouter()
        CLIOperations(
            deployments: DeploymentQueueService(queue: deployments),
            components: SupervisedComponents(supervisor: supervisor, store: store),
            authorizer: authorization
        ).register(on: &router)
        configurationOperations.register(on: &router)
        componentUpdates.register(on: &router)
        let connectionStatus = ConnectionStatusOperations()
        connectionStatus.register(on: &router)
        componentMetricOperations(authorizer: authorization, logger: logFiles.nucleusLogger(
            label: "com.aws.greengrass.builtin.services.telemetry.ComponentMetricIPCEventStreamAgent")).register(on: &router)
        PauseResumeOperations(components: SupervisorPauseService(supervisor: supervisor), authorizer: authorization).register(on: &router)
        TokenValidation(tokens: tokens).register(on: &router)
        LocalPubSubService(
            authorizer: authorization, logger: logFiles.nucleusLogger(label: "com.aws.greengrass.builtin.services.pubsub.PubSubIPCEventStreamAgent")
        ).register(on: &router)
        let mqttLogger = logFiles.nucleusLogger(label: "com.aws.greengrass.mqttclient.MqttClient")
        var upstreamServices: [ServiceGroupConfiguration.ServiceConfiguration] = []
        // IPC connections share the MQTT client's loop when there is one: a PublishToIoTCore then reaches the
        // client without a thread hop (blocking operations still leave the loop, see `runsOnConnectionLoop`).
        var ipcEventLoops: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
        if let mqttConfiguration = UpstreamConnection.configuration(settings) {
            let client = MQTTClient(configuration: mqttConfiguration, logger: mqttLogger)
            ipcEventLoops = client.eventLoop
            // `storageType: Disk`: Greengrass's DiskSpooler path, its own file (never contending with the state store).
            // Opened by its own service, so start-up never waits for it however large it is.
            let durableSpool = settings.mqtt.spoolerUsesDisk
                ? DurableSpool(
                    configuration: .init(path: paths.workDirectory + "/aws.greengrass.DiskSpooler/spooler.db", capacityBytes: settings.mqtt.spoolerMaxSizeInBytes),
                    sender: client, logger: mqttLogger)
                : nil
            let iotCore = IoTCoreOperations(
                upstream: IoTCoreBridge(client: client, durableSpool: durableSpool), authorizer: authorization,
                limits: IoTCoreLimits(maximumPayloadBytes: settings.mqtt.maxMessageSizeInBytes), logger: mqttLogger,
                connectionStatus: connectionStatus, clientIdentifier: mqttConfiguration.clientIdentifier)
            iotCore.register(on: &router)
            // Stopped in reverse: the IoT Core operations first (no new publishes), then the spool (its last
            // removals committed), then the client.
            upstreamServices = [.init(service: client)] + (durableSpool.map { [.init(service: $0)] } ?? []) + [.init(service: IoTCoreService(operations: iotCore))]
            mqttLogger.info(
                "Connecting to the upstream broker",
                metadata: ["eventType": "mqtt-client-start", "endpoint": "\(mqttConfiguration.host):\(mqttConfiguration.port)",
                           "tls": "\(mqttConfiguration.tls != nil)", "version": "\(mqttConfiguration.protocolVersion)"])
        } else {
            IoTCoreOperations.registerOffline(on: &router)
            mqttLogger.info("No iotDataEndpoint configured: running offline", metadata: ["eventType": "mqtt-offline"])
        }

        let server: IPCServer
        do {
            server = try await IPCServer.bind(
                configuration: IPCServerConfiguration(socketPath: socketPath),
                authenticator: TokenAuthenticator(tokens: tokens), handler: router,
                logger: logFiles.nucleusLogger(label: "com.aws.greengrass.ipc.IPCEventStreamService"), eventLoopGroup: ipcEventLoops)
        } catch {
            throw NucleusStartupError("\(error)")
        }
        shareSocketWithComponentGroup(socketPath, posixUser: settings.defaultPosixUser, logger: logger)
        try writeCLIAuthentication(paths: paths, tokens: tokens)
        placeCLI(paths: paths, logger: logger)
        logger.info("IPC server listening", metadata: ["eventType": "ipc-server-started", "socket": "\(socketPath)"])

        let restored = (try? store.deployedComponents()) ?? []
        var groupConfiguration = ServiceGroupConfiguration(
                // Started in this order, stopped in reverse: components stop while IPC and MQTT still work.
                services: [.init(service: server)] + upstreamServices + [
                    .init(service: supervisor),
                    .init(service: StartupService(work: {
                        // SIGTERM before the service group listened: stop now, before starting any component.
                        if EarlyTermination.requested {
                            logger.info("Termination requested during start-up", metadata: ["eventType": "system-shutdown"])
                            return false
                        }
                        systemd.status("Starting \(restored.count) deployed components")
                        do {
                            try await runtime.apply(restored)
                        } catch {
                            logger.error("Cannot restart the deployed components: \(error)", metadata: ["eventType": "restore-failed"])
                        }
                        await deployments.resumeUnfinished()
                        // READY=1 only now: the IPC socket accepts and the deployed components have been started.
                        systemd.ready(status: "Running \(restored.count) components; IPC at \(socketPath)")
                        logger.info("Nucleus started", metadata: ["eventType": "system-ready", "components": "\(restored.count)"])
                        return true
                    }), successTerminationBehavior: .gracefullyShutdownGroup),
                    .init(service: DeploymentService(queue: deployments)),
                    .init(service: ConfigurationReloadService(notifier: systemd, reload: {
                        reloadConfiguration(
                            options: options, store: store, paths: paths, running: settings, logFiles: logFiles,
                            onReloaded: { policies.reload() }, logger: logger)
                    })),
                    .init(service: SystemdService(
                        notifier: systemd, supervisor: supervisor, eventLoops: MultiThreadedEventLoopGroup.singleton,
                        isRestarting: { await restart.isRequested })),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                cancellationSignals: [],
                logger: logger)
        // Past this bound the group cancels what is left; the supervisor then SIGKILLs every component.
        groupConfiguration.maximumGracefulShutdownDuration = options.shutdownTimeout ?? .seconds(settings.gracefulShutdownTimeoutSeconds)
        let group = ServiceGroup(configuration: groupConfiguration)
        await restart.attach(group)
        do {
            try await group.run()
        } catch {
            logger.error("Nucleus stopped with an error: \(error)")
            throw error
        }
        let exit: NucleusExit = await restart.isRequested ? .restartRequested : .stopped
        logger.info(
            exit == .stopped ? "Nucleus stopped" : "Nucleus stopped; restarting",
            metadata: ["eventType": exit == .stopped ? "system-shutdown" : "system-restart"])
        logFiles.flush()
        return exit
    }

    // MARK: Start-up steps

    /// A parent may start us with SIGTERM/SIGINT/SIGHUP blocked (children of `Foundation.Process` inherit the
    /// spawning Dispatch thread's mask); then `systemctl stop` or a supervisor's SIGTERM would never reach the
    /// ServiceGroup. Unblock them on this thread so the signals have somewhere to land.
    /// SIGHUP: merges the configuration file again (`--config`, else `<root>/config/config.yaml` when present)
    /// into the persisted configuration and applies what can change while running: the log level, access-control
    /// policies, `effectiveConfig.yaml`. A bad file changes nothing. Returns the systemd status line.
    static func reloadConfiguration(
        options: NucleusOptions, store: NucleusStore, paths: NucleusPaths, running: NucleusSettings,
        logFiles: GreengrassLogFiles, onReloaded: () -> Void, logger: Logger
    ) -> String {
        let initialFile = paths.configDirectory + "/config.yaml"
        let file = options.configFile ?? (FileManager.default.fileExists(atPath: initialFile) ? initialFile : nil)
        logger.info("Reloading the configuration", metadata: ["eventType": "config-reload", "file": "\(file ?? "none")"])
        let reloaded: NucleusSettings
        do {
            let persisted = try? store.document(named: NucleusConfigurationStore.documentName)
            let tree = try mergedConfiguration(persisted: persisted, file: file, paths: paths)
            do {
                reloaded = try NucleusSettings(tree: tree)
            } catch {
                throw NucleusStartupError("Invalid configuration: \(error)")
            }
            try saveConfiguration(tree, store: store, paths: paths)
        } catch {
            logger.error(
                "Configuration reload failed; the previous configuration stays in effect: \(error)",
                metadata: ["eventType": "config-reload-failed"])
            return "Reload failed: \(error)"
        }
        logFiles.setLevel(GreengrassLogLevel(rawValue: reloaded.logging.level) ?? .info)
        logger.debug(
            "Settings in effect after the reload",
            metadata: ["eventType": "config-reload-settings", "thingName": "\(reloaded.thingName)",
                       "iotDataEndpoint": "\(reloaded.iotDataEndpoint ?? "none")", "logging": "\(reloaded.logging)"])
        onReloaded()
        let pending = reloaded.changesRequiringRestart(since: running)
        if !pending.isEmpty {
            logger.warning(
                "Changed settings take effect at the next nucleus restart: \(pending.joined(separator: ", "))",
                metadata: ["eventType": "config-reload-pending-restart"])
        }
        logger.info("Configuration reloaded", metadata: ["eventType": "config-reloaded", "level": "\(reloaded.logging.level)"])
        return "Configuration reloaded" + (pending.isEmpty ? "" : "; at next restart: " + pending.joined(separator: ", "))
    }

    static func unblockTerminationSignals() {
        var signals = sigset_t()
        sigemptyset(&signals)
        for signal in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&signals, signal) }
        pthread_sigmask(SIG_UNBLOCK, &signals, nil)
    }

    static func createLayout(_ paths: NucleusPaths) throws {
        for (path, mode) in paths.directoriesToCreate {
            do {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            } catch {
                throw NucleusStartupError("Cannot create \(path): \(error)")
            }
            _ = chmod(path, mode_t(mode))
        }
    }

    /// Persisted configuration, with `--config` merged on top (and saved) when given.
    static func loadConfiguration(options: NucleusOptions, store: NucleusStore, paths: NucleusPaths) throws -> JSONValue {
        let persisted = try? store.document(named: NucleusConfigurationStore.documentName)
        // Like the Java nucleus, a first start without --config takes `<root>/config/config.yaml` when present
        // (scripts/install.sh --init-config puts it there).
        let initialFile = paths.configDirectory + "/config.yaml"
        let configFile = options.configFile ?? (persisted == nil && FileManager.default.fileExists(atPath: initialFile) ? initialFile : nil)
        let tree = try mergedConfiguration(persisted: persisted, file: configFile, paths: paths)
        // An unchanged configuration (every restart without --config) costs no store commit and no fsync.
        if tree != persisted {
            try saveConfiguration(tree, store: store, paths: paths)
        } else {
            EffectiveConfiguration.write(tree, to: paths.effectiveConfig)
        }
        return tree
    }

    /// `persisted` with `file` (config.yaml shape) merged on top; validates nothing beyond the file's own shape.
    static func mergedConfiguration(persisted: JSONValue?, file: String?, paths: NucleusPaths) throws -> JSONValue {
        var tree = persisted ?? [:]
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw NucleusStartupError("Cannot read the configuration file \(file)")
            }
            do {
                tree = try ConfigurationFile.merge(bytes: data, fileName: file, onto: tree)
            } catch {
                throw NucleusStartupError("Invalid configuration: \(error)")
            }
        }
        if tree.objectValue == nil { tree = [:] }
        try? tree.setValue(.string(paths.root), at: JSONPointer(tokens: ["system", "rootpath"]), createIntermediates: true)
        return tree
    }

    static func saveConfiguration(_ tree: JSONValue, store: NucleusStore, paths: NucleusPaths) throws {
        do {
            try store.setDocument(tree, named: NucleusConfigurationStore.documentName)
        } catch {
            throw NucleusStartupError("Cannot save the configuration: \(error)")
        }
        EffectiveConfiguration.write(tree, to: paths.effectiveConfig)
    }

    static func logConfiguration(_ settings: NucleusSettings, _ paths: NucleusPaths) -> GreengrassLogConfiguration {
        var configuration = GreengrassLogConfiguration(rootPath: paths.root)
        configuration.outputDirectory = settings.logging.outputDirectory ?? paths.logsDirectory
        configuration.level = GreengrassLogLevel(rawValue: settings.logging.level) ?? .info
        configuration.format = settings.logging.format == "JSON" ? .json : .text
        configuration.outputType = settings.logging.outputType == "CONSOLE" ? .console : .file
        configuration.fileSizeKB = settings.logging.fileSizeKB
        configuration.totalLogsSizeKB = settings.logging.totalLogsSizeKB
        return configuration
    }

    /// Process groups a previous nucleus recorded and that still exist were orphaned by a crash: stop them
    /// before starting components again, so nothing runs twice.
    static func killLeftoverProcessGroups(store: NucleusStore, socketPath: String, logger: Logger) {
        var groups = (try? store.processGroups()) ?? []
        // After a reboot (a power cut) every recorded group is gone and its number may now belong to an unrelated
        // process: signal nothing from a previous boot.
        let currentBoot = bootID()
        let recordedBoot = (try? store.document(named: NucleusRunRecord.documentName))?[NucleusRunRecord.bootIDKey]?.stringValue
        if let recordedBoot, let currentBoot, recordedBoot != currentBoot, !groups.isEmpty {
            logger.info(
                "The host rebooted since the previous nucleus run: its recorded process groups are gone, none is signalled",
                metadata: ["eventType": "orphan-cleanup-skipped", "groups": "\(groups.count)"])
            for (pgid, _) in groups { try? store.forgetProcessGroup(pgid) }
            groups = []
        }
        // Only a new boot is written: a plain restart costs no store commit (and no fsync) here.
        if let currentBoot, currentBoot != recordedBoot {
            try? store.setDocument([NucleusRunRecord.bootIDKey: .string(currentBoot)], named: NucleusRunRecord.documentName)
        }
        let live = LeftoverSessions.live(among: Set(groups.map(\.pgid).filter { $0 > 1 }))
        for (pgid, component) in groups where live.contains(pgid) {
            logger.warning(
                "Stopping a process group left by the previous nucleus run",
                metadata: ["eventType": "orphan-cleanup", "serviceName": "\(component)", "pgid": "\(pgid)"])
        }
        // A process spawned just before a crash may not be recorded yet; every component process carries this
        // root's socket path in its environment, and none of this run's components has started yet.
        let unrecorded = LeftoverSessions.sessions(withEnvironment: "AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH=\(socketPath)")
            .subtracting(live)
        if !unrecorded.isEmpty {
            logger.warning(
                "Stopping unrecorded component processes left by the previous nucleus run",
                metadata: ["eventType": "orphan-cleanup", "pgids": "\(unrecorded.sorted())"])
        }
        // All groups at once, and exited processes that init has not reaped yet count as gone: stopping them one
        // by one with `kill(-pgid, 0)` waited the full 2 s per group whenever init reaps slowly.
        let killed = LeftoverSessions.terminate(live.union(unrecorded), gracePeriod: .seconds(2))
        if !killed.isEmpty {
            logger.warning(
                "Left-over process groups ignored SIGTERM: killed with SIGKILL",
                metadata: ["eventType": "orphan-cleanup", "pgids": "\(killed.sorted())"])
        }
        for (pgid, _) in groups { try? store.forgetProcessGroup(pgid) }
    }

    /// The host's cgroups for component limits and pause, or `nil` (components unconfined) with the reason logged
    /// once in `greengrass.log`. A nucleus without permission to write them is found at the first component start
    /// (the supervisor then logs why, once, and runs components unconfined).
    static func resourceControl(root: String, logger: Logger) -> CgroupController? {
        switch CgroupController.detectHost(group: CgroupLayout.groupName(forRoot: root)) {
        case .success(let layout):
            logger.info(
                "Component resource control through cgroups",
                metadata: ["eventType": "resource-control", "groups": "\(layout.groupDirectories)"])
            return CgroupController(layout: layout)
        case .failure(let reason):
            logger.warning(
                "No usable cgroups (\(reason)): components run unconfined; systemResourceLimits, PauseComponent and ResumeComponent have no effect",
                metadata: ["eventType": "resource-control-unavailable"])
            return nil
        }
    }

    /// After a crash (`kill -9`) every process of the previous run's components is still in its component's
    /// cgroup, whatever session or process group it moved to: kill them all before anything starts, wait until the
    /// cgroups are empty (bounded), then remove them.
    static func killLeftoverCgroupProcesses(_ cgroups: CgroupController, logger: Logger) {
        let names = cgroups.componentNames()
        var leftovers: [String: Set<Int32>] = [:]
        for name in names {
            let pids = cgroups.processes(of: name)
            if !pids.isEmpty { leftovers[name] = pids }
        }
        for (name, pids) in leftovers.sorted(by: { $0.key < $1.key }) {
            logger.warning(
                "Killing processes left in the component's cgroup by the previous nucleus run",
                metadata: ["eventType": "orphan-cleanup", "serviceName": "\(name)", "pids": "\(pids.sorted())"])
            // A frozen (paused) process only dies once thawed.
            try? cgroups.setFrozen(name, false)
            for pid in pids { kill(pid, SIGKILL) }
        }
        for _ in 0..<200 where names.contains(where: { !cgroups.processes(of: $0).isEmpty }) {
            usleep(10_000)
        }
        for name in names { try? cgroups.remove(name) }
    }

    /// Components running as `runWithDefault.posixUser` must reach the 0660 socket: give it their group.
    static func shareSocketWithComponentGroup(_ path: String, posixUser: String?, logger: Logger) {
        guard geteuid() == 0, let posixUser else { return }
        let parts = posixUser.split(separator: ":", maxSplits: 1).map(String.init)
        var gid: gid_t?
        if parts.count == 2 {
            if let number = gid_t(parts[1]) { gid = number } else if let group = getgrnam(parts[1]) { gid = group.pointee.gr_gid }
        } else if let user = getpwnam(parts[0]) {
            gid = user.pointee.pw_gid
        }
        guard let gid else {
            logger.warning("Unknown group for runWithDefault.posixUser \(posixUser); components may not reach the IPC socket")
            return
        }
        _ = chown(path, 0, gid)
    }

    /// `<root>/cli_ipc_info/user-<euid>`, mode 0600: what `greengrass-cli` run by this user authenticates with.
    static func writeCLIAuthentication(paths: NucleusPaths, tokens: AuthenticationTokens) throws {
        let uid = geteuid()
        let info = CLIAuthenticationInfo(
            cliAuthToken: tokens.issue(for: CLIAuthenticationInfo.principal(uid: uid)), domainSocketPath: paths.ipcSocket)
        let file = "\(paths.cliAuthDirectory)/user-\(uid)"
        do {
            let data = try JSONEncoder().encode(info)
            // Create with 0600 before writing the token, so it is never readable by others, even briefly.
            _ = unlink(file)
            let descriptor = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
            guard descriptor >= 0 else { throw NucleusStartupError("open failed: errno \(errno)") }
            defer { close(descriptor) }
            let written = data.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
            guard written == data.count else { throw NucleusStartupError("short write") }
        } catch {
            throw NucleusStartupError("Cannot write the CLI token file \(file): \(error)")
        }
    }

    /// `<root>/bin/greengrass-cli` → the CLI installed beside this nucleus binary.
    static func placeCLI(paths: NucleusPaths, logger: Logger) {
        guard let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return }
        let directory = String(executable[..<(executable.lastIndex(of: "/") ?? executable.startIndex)])
        let cli = directory + "/greengrass-cli"
        let link = paths.binDirectory + "/greengrass-cli"
        guard FileManager.default.isExecutableFile(atPath: cli), cli != link else { return }
        if (try? FileManager.default.destinationOfSymbolicLink(atPath: link)) == cli { return }
        _ = unlink(link)
        if symlink(cli, link) != 0 {
            logger.warning("Cannot place \(link): errno \(errno)")
        }
    }

    static func machineName() -> String {
        var system = utsname()
        guard uname(&system) == 0 else { return "unknown" }
        return withUnsafeBytes(of: &system.machine) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    static func absolutePath(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        let current = FileManager.default.currentDirectoryPath
        return path == "." ? current : current + "/" + path
    }
}

func epochMilliseconds() -> Int64 {
    var now = timespec()
    clock_gettime(CLOCK_REALTIME, &now)
    return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
}

/// A one-shot start-up step inside the service group (after the services it needs are running), that then
/// stays until shutdown so the group does not treat its return as a failure. When `work` returns false the
/// service returns at once, which ends the group (start-up was interrupted by a termination request).
struct StartupService: Service {
    let work: @Sendable () async -> Bool

    func run() async throws {
        guard await work() else { return }
        try? await gracefulShutdown()
    }
}

/// SIGTERM/SIGINT that arrive before the service group installs its signal handling (store opening, socket bind)
/// would otherwise kill the process with the default disposition; record them instead and stop cleanly.
enum EarlyTermination {
    private static let flag = Atomic<Bool>(false)

    static var requested: Bool { flag.load(ordering: .relaxed) }

    static func install() {
        let handler: @convention(c) (Int32) -> Void = { _ in EarlyTermination.flag.store(true, ordering: .relaxed) }
        signal(SIGTERM, handler)
        signal(SIGINT, handler)
        // SIGHUP means "reload" once the service group runs; until then it must not kill the process.
        signal(SIGHUP, SIG_IGN)
    }
}

/// A restart asked for by a deployment (Bootstrap exit 100/101): shuts the service group down gracefully and
/// remembers why, so `run` returns ``NucleusExit/restartRequested``.
actor RestartRequest {
    private var group: ServiceGroup?
    private(set) var isRequested = false

    func attach(_ group: ServiceGroup) {
        self.group = group
        if isRequested { Task { await group.triggerGracefulShutdown() } }
    }

    func trigger() async {
        isRequested = true
        await group?.triggerGracefulShutdown()
    }
}

/// Runs the deployment queue; on graceful shutdown it stops taking new work.
struct DeploymentService: Service {
    let queue: DeploymentQueue

    func run() async throws {
        await withGracefulShutdownHandler {
            await queue.run()
        } onGracefulShutdown: {
            queue.finish()
        }
    }
}
