/// The lifecycle state of a Greengrass component, as reported over IPC and by `greengrass-cli`.
///
/// Raw values are the exact Greengrass spellings (`LifecycleState` in the IPC model), so they can be
/// written to logs, config and IPC responses without mapping.
public enum ComponentState: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Known to the nucleus but not installed in this nucleus run (Install has not succeeded yet).
    case new = "NEW"
    /// Install succeeded (or there is none); waiting to start.
    case installed = "INSTALLED"
    /// Startup (or Run) is being launched; with a Startup script, until that script exits.
    case starting = "STARTING"
    /// Run process launched, or Startup exited 0.
    case running = "RUNNING"
    /// Shutdown script and process teardown in progress.
    case stopping = "STOPPING"
    /// Run exited 0, nothing to do, or stopped.
    case finished = "FINISHED"
    /// A phase failed or timed out; Recover runs and the component is retried.
    case errored = "ERRORED"
    /// Too many errors in a row; only a reinstall (deployment) or removal leaves this state.
    case broken = "BROKEN"

    public var description: String { rawValue }

    /// Whether a component in this state satisfies a HARD dependency of another component.
    ///
    /// Greengrass treats RUNNING and FINISHED as ready (a FINISHED component did its work).
    public var satisfiesHardDependency: Bool {
        self == .running || self == .finished
    }
}

/// Why a component is in its state (Greengrass `_StatusCode`), for ERRORED and BROKEN reports.
public enum ComponentStatusCode: String, Sendable, Hashable, CaseIterable {
    case none = "NONE"
    case installError = "INSTALL_ERROR"
    case installIOError = "INSTALL_IO_ERROR"
    case installTimeout = "INSTALL_TIMEOUT"
    case startupError = "STARTUP_ERROR"
    case startupIOError = "STARTUP_IO_ERROR"
    case startupTimeout = "STARTUP_TIMEOUT"
    case runError = "RUN_ERROR"
    case runIOError = "RUN_IO_ERROR"
    case runTimeout = "RUN_TIMEOUT"
    case shutdownError = "SHUTDOWN_ERROR"
    case shutdownTimeout = "SHUTDOWN_TIMEOUT"
    case uninstallError = "UNINSTALL_ERROR"
    case uninstallTimeout = "UNINSTALL_TIMEOUT"
}

/// One reported state change of a component.
public struct StateTransition: Sendable, Hashable {
    /// The state before the change.
    public var from: ComponentState
    /// The state after the change.
    public var to: ComponentState
    /// Why (non-`none` for ERRORED and BROKEN).
    public var statusCode: ComponentStatusCode

    public init(from: ComponentState, to: ComponentState, statusCode: ComponentStatusCode = .none) {
        self.from = from
        self.to = to
        self.statusCode = statusCode
    }
}
