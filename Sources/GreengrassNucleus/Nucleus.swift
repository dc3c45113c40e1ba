import EventStreamRPCServer
import GreengrassAuthorization
import GreengrassBridge
import GreengrassConfig
import GreengrassDeployment
import GreengrassIPCModel
import GreengrassIPCServices
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
import ProcessMemory
import SystemdNotify
import ServiceLifecycle
import UnixSignals

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

/// What a nucleus is built from besides its options: the process-wide things the `greengrass-nucleus` process
/// takes from its environment and a test replaces to build and run a nucleus inside its own process.
public struct NucleusDependencies: Sendable {
    public var options: NucleusOptions
    /// systemd's notification socket (silent when its environment has no `NOTIFY_SOCKET`).
    public var systemd: SystemdNotifier
    /// The event loops of the IPC server and the MQTT client; the watchdog pings only while each of them runs tasks.
    public var eventLoops: any EventLoopGroup
    /// The signals that stop the nucleus gracefully; none for a nucleus its caller stops with
    /// ``RunnableNucleus/stop()``.
    public var terminationSignals: [UnixSignal]
    /// Whether SIGHUP reloads the configuration (one nucleus per process may trap it).
    public var reloadsOnHangup: Bool
    /// Whether a termination was asked for before the service group handled signals: start-up then ends before any
    /// component starts.
    public var terminationRequestedDuringStartup: @Sendable () -> Bool
    /// Hands the code pages start-up and deployments ran back to the kernel once they are done (the process's own
    /// mappings, recorded at its start); nil for a nucleus sharing its process with others, as tests run it.
    public var idlePages: IdlePages?

    public init(
        options: NucleusOptions,
        systemd: SystemdNotifier = SystemdNotifier(environment: [:]),
        eventLoops: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        terminationSignals: [UnixSignal] = [],
        reloadsOnHangup: Bool = false,
        terminationRequestedDuringStartup: @escaping @Sendable () -> Bool = { false },
        idlePages: IdlePages? = nil
    ) {
        self.options = options
        self.systemd = systemd
        self.eventLoops = eventLoops
        self.terminationSignals = terminationSignals
        self.reloadsOnHangup = reloadsOnHangup
        self.terminationRequestedDuringStartup = terminationRequestedDuringStartup
        self.idlePages = idlePages
    }

    /// The `greengrass-nucleus` process's own: systemd from the environment, SIGTERM/SIGINT stop, SIGHUP reloads.
    public static func process(options: NucleusOptions) -> NucleusDependencies {
        ThreadTeardown.bindNow()
        return NucleusDependencies(
            options: options, systemd: SystemdNotifier(), terminationSignals: [.sigterm, .sigint], reloadsOnHangup: true,
            terminationRequestedDuringStartup: { EarlyTermination.requested },
            idlePages: .recordingStartupMappings())
    }
}

/// Something the nucleus refuses to start with, reported as one line.
public struct NucleusStartupError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// How a nucleus run ended.
public enum NucleusExit: Sendable, Equatable {
    /// Stopped by a signal (SIGTERM/SIGINT) or a start-up interruption: exit 0.
    case stopped
    /// A deployment's Bootstrap asked for a restart: the caller starts a new nucleus process in place
    /// (`exec`), which resumes the deployment.
    case restartRequested
}

/// A nucleus built and ready to run: its service group, and what outlives the group's run (the root lock, the log
/// files).
public final class RunnableNucleus: Sendable {
    /// Every service of the nucleus, started in order and stopped in reverse.
    public let serviceGroup: ServiceGroup
    /// Where the nucleus lives (socket, CLI token files, logs).
    public let paths: NucleusPaths
    private let rootLock: RootLock
    private let restart: RestartRequest
    private let fileWork: NIOThreadPool
    private let logFiles: GreengrassLogFiles
    private let logger: Logger

    fileprivate init(
        serviceGroup: ServiceGroup, paths: NucleusPaths, rootLock: RootLock, restart: RestartRequest,
        fileWork: NIOThreadPool, logFiles: GreengrassLogFiles, logger: Logger
    ) {
        self.fileWork = fileWork
        self.serviceGroup = serviceGroup
        self.paths = paths
        self.rootLock = rootLock
        self.restart = restart
        self.logFiles = logFiles
        self.logger = logger
    }

    /// Runs every service until a termination signal, ``stop()`` or a restart request.
    public func run() async throws -> NucleusExit {
        await restart.attach(serviceGroup)
        fileWork.start()
        do {
            try await serviceGroup.run()
        } catch {
            logger.error("Nucleus stopped with an error: \(error)")
            try? await fileWork.shutdownGracefully()
            throw error
        }
        try? await fileWork.shutdownGracefully()
        let exit: NucleusExit = await restart.isRequested ? .restartRequested : .stopped
        logger.info(
            exit == .stopped ? "Nucleus stopped" : "Nucleus stopped; restarting",
            metadata: ["eventType": exit == .stopped ? "system-shutdown" : "system-restart"])
        logFiles.flush()
        // The root stays ours until the services have stopped, whoever holds this value.
        withExtendedLifetime(rootLock) {}
        return exit
    }

    /// Stops the nucleus as SIGTERM does: components first, while IPC and MQTT still work.
    public func stop() async {
        await serviceGroup.triggerGracefulShutdown()
    }
}

/// The composition root: builds store, logging, supervisor, deployments and the IPC server from their
/// dependencies, and runs them in one `ServiceGroup`.
public enum Nucleus {
    /// The `greengrass-nucleus` process: its signals, then the nucleus built from the process's dependencies, run
    /// until SIGTERM/SIGINT or a restart request.
    @discardableResult
    public static func run(options: NucleusOptions) async throws -> NucleusExit {
        TerminationSignals.prepare()
        return try await build(.process(options: options)).run()
    }

    /// Takes the root, opens the store and the configuration, cleans up after a previous run, wires every service
    /// and binds the IPC socket; nothing runs until ``RunnableNucleus/run()``.
    public static func build(_ dependencies: NucleusDependencies) async throws -> RunnableNucleus {
        let options = dependencies.options
        let systemd = dependencies.systemd
        systemd.status("Opening the state store")
        let paths = NucleusPaths(root: NucleusLayout.absolutePath(options.root))
        // First, before orphan cleanup, the store or the socket: one nucleus per root.
        let rootLock = try RootLock.acquire(root: paths.root)
        try NucleusLayout.create(paths)
        let store: NucleusStore
        do {
            store = try NucleusStore(path: paths.storeDatabase)
        } catch {
            throw NucleusStartupError("Cannot open the state store \(paths.storeDatabase): \(error)")
        }
        let tree = try ConfigurationFiles.load(options: options, store: store, paths: paths)
        let settings: NucleusSettings
        do {
            settings = try NucleusSettings(tree: tree)
        } catch {
            throw NucleusStartupError("Invalid persisted configuration: \(error)")
        }

        let logFiles = GreengrassLogFiles(configuration: ConfigurationFiles.logConfiguration(settings, paths))
        _ = GreengrassLoggingSystem.bootstrap(logFiles)
        let logger = logFiles.nucleusLogger(label: "com.aws.greengrass.lifecyclemanager.Kernel")
        logger.info("Nucleus starting", metadata: ["eventType": "system-start", "root": "\(paths.root)", "version": "\(NucleusVersion.current)"])

        let cgroups = ResourceControl.detect(root: paths.root, logger: logger)
        OrphanCleanup.run(store: store, socketPath: paths.ipcSocket, cgroups: cgroups, logger: logger)

        let tokens = AuthenticationTokens()
        let platform = Platform.linux(machine: Host.machineName(), overrides: settings.platformOverride)
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
            builtInPolicies: CLIAuthorization.policies(principal: CLIAuthenticationInfo.principal(uid: geteuid())))
        let policies = PolicyReloader(engine: authorization, store: store)
        policies.reload()

        let configurationOperations = ConfigurationOperations(
            store: StoredConfigurations(store: store), states: SupervisorStateReports(supervisor: supervisor),
            onChange: { _ in policies.reload() })
        let appliedConfigurations = AppliedConfigurations()
        let packages = PackageStore(paths: paths)
        // Deployments' blocking file work (copies, extraction, digests, fsync, recipe reads) runs here, off the
        // cooperative pool. Started by `RunnableNucleus.run` and shut down after the group, so a start-up that
        // fails before then leaves no thread behind.
        let fileWork = NIOThreadPool(numberOfThreads: 1)
        let socketPath = paths.ipcSocket
        let launcher = ComponentLauncher(
            paths: paths, settings: settings, platform: platform, tokens: tokens,
            componentSocketPath: IPCSocketAccess.componentSocketPath(socketPath))
        let runtime = SupervisorRuntime(
            supervisor: supervisor, launcher: launcher, packages: packages, fileWork: fileWork, tokens: tokens,
            logger: logFiles.nucleusLogger(label: "com.aws.greengrass.deployment.DeploymentService"),
            onApplied: { target in
                policies.reload(from: target)
                for name in appliedConfigurations.changed(in: target) {
                    await configurationOperations.configurationReplaced(component: name)
                }
            })
        let restart = RestartRequest()
        let componentUpdates = ComponentUpdateOperations(isDeployed: { (try? store.deployedComponent(named: $0)) != nil })
        let deployments = DeploymentQueue(
            store: store, packages: packages, fileWork: BlockingFileWork(pool: fileWork),
            planner: DeploymentPlanner(platform: platform), runtime: runtime,
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
        let idleMemory = IdleMemory(pages: dependencies.idlePages, logger: logger)
        // Connecting (TLS handshake, session set-up) runs once per connection: its pages go back once it is up.
        let connectionStatus = ConnectionStatusOperations(onChange: { if $0 { idleMemory.workEnded() } })
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
        var ipcEventLoops: any EventLoopGroup = dependencies.eventLoops
        if let mqttConfiguration = UpstreamConnection.configuration(settings) {
            let client = MQTTClient(configuration: mqttConfiguration, logger: mqttLogger, eventLoopGroup: dependencies.eventLoops)
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
                logger: logFiles.nucleusLogger(label: "com.aws.greengrass.ipc.IPCEventStreamService"),
                eventLoopGroup: ipcEventLoops)
        } catch {
            throw NucleusStartupError("\(error)")
        }
        IPCSocketAccess.shareWithComponentGroup(socketPath, posixUser: settings.defaultPosixUser, logger: logger)
        try CLIAccess.writeToken(paths: paths, tokens: tokens)
        CLIAccess.placeExecutable(paths: paths, logger: logger)
        logger.info("IPC server listening", metadata: ["eventType": "ipc-server-started", "socket": "\(socketPath)"])

        let restored = (try? store.deployedComponents()) ?? []
        let reload: [ServiceGroupConfiguration.ServiceConfiguration] = dependencies.reloadsOnHangup
            ? [.init(service: ConfigurationReloadService(notifier: systemd, reload: {
                ConfigurationFiles.reload(
                    options: options, store: store, paths: paths, running: settings, logFiles: logFiles,
                    onReloaded: { policies.reload() }, logger: logger)
            }))]
            : []
        var groupConfiguration = ServiceGroupConfiguration(
                // Started in this order, stopped in reverse: components stop while IPC and MQTT still work.
                services: [.init(service: server)] + upstreamServices + [
                    .init(service: supervisor),
                    .init(service: StartupService(work: {
                        // SIGTERM before the service group listened: stop now, before starting any component.
                        if dependencies.terminationRequestedDuringStartup() {
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
                        idleMemory.workEnded()
                        return true
                    }), successTerminationBehavior: .gracefullyShutdownGroup),
                    .init(service: DeploymentService(queue: deployments, afterEachDeployment: { idleMemory.workEnded() })),
                    .init(service: idleMemory),
                ] + reload + [
                    .init(service: SystemdService(
                        notifier: systemd, supervisor: supervisor, eventLoops: dependencies.eventLoops,
                        isRestarting: { await restart.isRequested })),
                ],
                gracefulShutdownSignals: dependencies.terminationSignals,
                cancellationSignals: [],
                logger: logger)
        // Past this bound the group cancels what is left; the supervisor then SIGKILLs every component.
        groupConfiguration.maximumGracefulShutdownDuration = options.shutdownTimeout ?? .seconds(settings.gracefulShutdownTimeoutSeconds)
        return RunnableNucleus(
            serviceGroup: ServiceGroup(configuration: groupConfiguration), paths: paths, rootLock: rootLock,
            restart: restart, fileWork: fileWork, logFiles: logFiles, logger: logger)
    }
}
