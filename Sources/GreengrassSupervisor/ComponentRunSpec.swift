import GreengrassLifecycle
import Logging
import NIOCore
import NIOPosix

/// How to run one lifecycle phase: filled by the composition root from the (interpolated) recipe.
public struct PhaseSpec: Sendable, Hashable {
    /// The script, run as `sh -c <script>` in the component's work directory.
    public var script: String
    /// Timeout from the recipe; `nil` uses ``LifecyclePhase/defaultTimeout`` (Run: none).
    public var timeout: Duration?
    /// `RequiresPrivilege: true`: run as root (when the nucleus is root) instead of the component user.
    public var requiresPrivilege: Bool
    /// Phase-level `Setenv`; overrides component-level values.
    public var setenv: [String: String]
    /// `Skipif`; evaluated just before the phase would run.
    public var skipIf: SkipCondition?
    /// The `scriptName` log context, e.g. `services.com.example.App.lifecycle.Run` (string form) or
    /// `….Run.Script` (object form). `nil` derives the string form from the component and phase names.
    public var scriptNameContext: String?

    public init(
        script: String,
        timeout: Duration? = nil,
        requiresPrivilege: Bool = false,
        setenv: [String: String] = [:],
        skipIf: SkipCondition? = nil,
        scriptNameContext: String? = nil
    ) {
        self.script = script
        self.timeout = timeout
        self.requiresPrivilege = requiresPrivilege
        self.setenv = setenv
        self.skipIf = skipIf
        self.scriptNameContext = scriptNameContext
    }
}

/// Everything the supervisor needs to run a component, independent of the recipe model.
public struct ComponentRunSpec: Sendable, Hashable {
    /// Component name, e.g. `com.example.HelloWorld`; also the work directory and log file name.
    public var name: String
    /// Component version; a change triggers a reinstall.
    public var version: String
    /// The phases the recipe defines (Bootstrap is the deployment's business, not the supervisor's).
    public var phases: [LifecyclePhase: PhaseSpec]
    /// Lifecycle-level `Setenv`; overrides ``environment``, overridden by phase `Setenv`.
    public var componentSetenv: [String: String]
    /// Base variables the nucleus provides: `SVCUID`, `AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT`,
    /// `AWS_IOT_THING_NAME`, `GG_ROOT_CA_PATH`, `AWS_REGION`, global `setenv`, … The supervisor never invents them.
    public var environment: [String: String]
    /// Components that must be RUNNING or FINISHED before this one starts, and that it stops before.
    public var hardDependencies: [String]
    /// Components with no start ordering (kept for status output).
    public var softDependencies: [String]
    /// `runWith.posixUser` (`user` or `user:group`, names or numeric ids); `nil` uses the configured default.
    public var posixUser: String?
    /// Errors further apart than this do not add up to BROKEN (`lifecycle.errorResetTime`, default 3600 s).
    public var errorResetTime: Duration
    /// `systemResourceLimits` (component's `runWith`, else `runWithDefault`); a change applies to the running
    /// processes without a restart.
    public var resourceLimits: ResourceLimits

    public init(
        name: String,
        version: String,
        phases: [LifecyclePhase: PhaseSpec],
        componentSetenv: [String: String] = [:],
        environment: [String: String] = [:],
        hardDependencies: [String] = [],
        softDependencies: [String] = [],
        posixUser: String? = nil,
        errorResetTime: Duration = .seconds(3600),
        resourceLimits: ResourceLimits = .none
    ) {
        self.name = name
        self.version = version
        self.phases = phases
        self.componentSetenv = componentSetenv
        self.environment = environment
        self.hardDependencies = hardDependencies
        self.softDependencies = softDependencies
        self.posixUser = posixUser
        self.errorResetTime = errorResetTime
        self.resourceLimits = resourceLimits
    }

    /// Effective timeouts of the defined phases, as the state machine wants them.
    var phaseTimeouts: [LifecyclePhase: Duration?] {
        var result: [LifecyclePhase: Duration?] = [:]
        for (phase, spec) in phases {
            result[phase] = .some(spec.timeout ?? phase.defaultTimeout)
        }
        return result
    }

    /// The `scriptName` context of `phase`.
    func scriptName(_ phase: LifecyclePhase) -> String {
        phases[phase]?.scriptNameContext ?? "services.\(name).lifecycle.\(phase.rawValue)"
    }

    /// What a spec change means for a component that already exists (Greengrass config-change reactions):
    /// Install, version or user changes reinstall; other lifecycle or environment changes restart;
    /// Shutdown-only or dependency-list changes apply silently.
    func reaction(to new: ComponentRunSpec) -> UpsertOutcome {
        if self == new { return .unchanged }
        if version != new.version || phases[.install] != new.phases[.install] || posixUser != new.posixUser {
            return .reinstalling
        }
        var oldPhases = phases
        var newPhases = new.phases
        oldPhases[.shutdown] = nil
        newPhases[.shutdown] = nil
        if oldPhases != newPhases || componentSetenv != new.componentSetenv || environment != new.environment {
            return .restarting
        }
        return .updated
    }
}

/// What ``Supervisor/upsert(_:)`` did.
public enum UpsertOutcome: Sendable, Hashable {
    /// A new component, in state NEW; call ``Supervisor/start(_:)``.
    case added
    /// Same spec as before; nothing happened.
    case unchanged
    /// The spec changed in a way that needs no restart (Shutdown script, dependency lists, error reset time).
    case updated
    /// Lifecycle or environment changed: the component restarts (a BROKEN one reinstalls).
    case restarting
    /// Version, Install or user changed: the component stops, installs again and starts.
    case reinstalling
}

/// One state change of one component, in the order they happened.
public struct ComponentStateChange: Sendable, Hashable {
    public var name: String
    public var version: String
    public var from: ComponentState
    public var to: ComponentState
    /// Why (for ERRORED and BROKEN).
    public var statusCode: ComponentStatusCode

    public init(name: String, version: String, from: ComponentState, to: ComponentState, statusCode: ComponentStatusCode) {
        self.name = name
        self.version = version
        self.from = from
        self.to = to
        self.statusCode = statusCode
    }
}

/// A component's version and current state, for `greengrass-cli component list`.
public struct ComponentStatus: Sendable, Hashable {
    public var version: String
    public var state: ComponentState
    public var statusCode: ComponentStatusCode

    public init(version: String, state: ComponentState, statusCode: ComponentStatusCode = .none) {
        self.version = version
        self.state = state
        self.statusCode = statusCode
    }
}

/// Settings of a ``Supervisor``.
public struct SupervisorConfiguration: Sendable {
    /// `<root>/work`: each component runs in `<workRoot>/<name>`, created on first use.
    public var workRoot: String
    /// `runWithDefault.posixUser` (`user[:group]`), used when a component sets none and the nucleus is root.
    public var defaultPosixUser: String?
    /// The shell that runs scripts (`runWithDefault.posixShell`, default `sh`).
    public var shell: String
    /// Time between SIGTERM and SIGKILL when stopping a process group.
    public var stopGracePeriod: Duration
    /// Backoff and BROKEN settings; `errorResetTime` is taken from each spec.
    public var restartPolicy: RestartPolicy
    /// Cap on one logged output line; longer lines are logged in pieces.
    public var maximumLineLength: Int
    /// Logger for a component's own log file (`logs/<name>.log`); called once per component.
    public var componentLogger: @Sendable (_ componentName: String) -> Logger
    /// Logger for lifecycle events in `greengrass.log` (`service-set-state`, notices).
    public var nucleusLogger: Logger
    /// Called with each new process group (session) id, so the nucleus can persist it and kill leftovers
    /// after a crash.
    public var onProcessGroupStarted: @Sendable (_ componentName: String, _ processGroupID: Int32) -> Void
    /// Called when a process group has no live process left (exited or killed).
    public var onProcessGroupExited: @Sendable (_ componentName: String, _ processGroupID: Int32) -> Void
    /// Event loops that read component output (a busy component only occupies these).
    public var eventLoopGroup: any EventLoopGroup
    /// Component cgroups (limits, pause, finding every process); `nil` runs components unconfined.
    public var cgroups: CgroupController?

    public init(
        workRoot: String,
        defaultPosixUser: String? = nil,
        shell: String = "sh",
        stopGracePeriod: Duration = .seconds(5),
        restartPolicy: RestartPolicy = RestartPolicy(),
        maximumLineLength: Int = 64 * 1024,
        componentLogger: @escaping @Sendable (_ componentName: String) -> Logger,
        nucleusLogger: Logger,
        onProcessGroupStarted: @escaping @Sendable (_ componentName: String, _ processGroupID: Int32) -> Void = { _, _ in },
        onProcessGroupExited: @escaping @Sendable (_ componentName: String, _ processGroupID: Int32) -> Void = { _, _ in },
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        cgroups: CgroupController? = nil
    ) {
        self.workRoot = workRoot
        self.defaultPosixUser = defaultPosixUser
        self.shell = shell
        self.stopGracePeriod = stopGracePeriod
        self.restartPolicy = restartPolicy
        self.maximumLineLength = maximumLineLength
        self.componentLogger = componentLogger
        self.nucleusLogger = nucleusLogger
        self.onProcessGroupStarted = onProcessGroupStarted
        self.onProcessGroupExited = onProcessGroupExited
        self.eventLoopGroup = eventLoopGroup
        self.cgroups = cgroups
    }
}
