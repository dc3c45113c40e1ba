/// A recipe lifecycle phase that the supervisor runs as a `sh -c` process.
///
/// Raw values use the recipe casing, which is also the casing of the `scriptName` log context
/// (`services.<Name>.lifecycle.<Phase>`).
///
/// `Bootstrap` is run by deployments (before Install, when a component is new, its version changed or its
/// Bootstrap changed), never by the state machine.
public enum LifecyclePhase: String, Sendable, Hashable, CaseIterable, Comparable, CustomStringConvertible {
    case bootstrap = "Bootstrap"
    case install = "Install"
    case startup = "Startup"
    case run = "Run"
    case shutdown = "Shutdown"
    case recover = "Recover"
    case uninstall = "Uninstall"

    public var description: String { rawValue }

    /// The timeout Greengrass applies when the recipe sets none; `nil` means "no timeout" (Run).
    public var defaultTimeout: Duration? {
        switch self {
        case .bootstrap, .install, .startup, .uninstall: .seconds(120)
        case .run: nil
        case .shutdown: .seconds(15)
        case .recover: .seconds(60)
        }
    }

    /// Recipe order: Bootstrap, Install, Startup, Run, Shutdown, Recover, Uninstall.
    public static func < (lhs: LifecyclePhase, rhs: LifecyclePhase) -> Bool {
        allCases.firstIndex(of: lhs) ?? 0 < allCases.firstIndex(of: rhs) ?? 0
    }

    /// The status code reported when this phase exits non-zero.
    var errorCode: ComponentStatusCode {
        switch self {
        case .bootstrap, .install: .installError
        case .startup: .startupError
        case .run: .runError
        case .shutdown: .shutdownError
        case .recover: .none
        case .uninstall: .uninstallError
        }
    }

    /// The status code reported when this phase times out.
    var timeoutCode: ComponentStatusCode {
        switch self {
        case .bootstrap, .install: .installTimeout
        case .startup: .startupTimeout
        case .run: .runTimeout
        case .shutdown: .shutdownTimeout
        case .recover: .none
        case .uninstall: .uninstallTimeout
        }
    }

    /// The status code reported when this phase's process could not be launched.
    var ioErrorCode: ComponentStatusCode {
        switch self {
        case .bootstrap, .install: .installIOError
        case .startup: .startupIOError
        case .run: .runIOError
        default: errorCode
        }
    }
}
