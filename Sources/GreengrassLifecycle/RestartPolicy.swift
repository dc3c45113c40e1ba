/// When a failing component is retried and when it is declared BROKEN.
///
/// Greengrass counts errors per originating state (NEW, STARTING, RUNNING). The third error from the
/// same state within `errorResetTime` of the previous one makes the component BROKEN instead of ERRORED.
/// Between attempts the supervisor waits an exponential backoff, so a crash loop does not spin the CPU.
public struct RestartPolicy: Sendable, Hashable {
    /// Errors from one state that make the component BROKEN (Greengrass `MAXIMUM_CONTINUAL_ERROR`, 3).
    public var maximumErrors: Int
    /// An error older than this no longer counts (recipe `lifecycle.errorResetTime`, default 3600 s).
    public var errorResetTime: Duration
    /// Delay before the first retry; doubled for each further consecutive error.
    public var initialBackoff: Duration
    /// Upper bound of the retry delay.
    public var maximumBackoff: Duration

    public init(
        maximumErrors: Int = 3,
        errorResetTime: Duration = .seconds(3600),
        initialBackoff: Duration = .seconds(1),
        maximumBackoff: Duration = .seconds(60)
    ) {
        self.maximumErrors = max(1, maximumErrors)
        self.errorResetTime = errorResetTime
        self.initialBackoff = initialBackoff
        self.maximumBackoff = maximumBackoff
    }

    /// The delay before retry number `errorCount` (1 = after the first error).
    public func backoff(afterErrors errorCount: Int) -> Duration {
        guard errorCount > 1 else { return min(initialBackoff, maximumBackoff) }
        var delay = initialBackoff
        for _ in 1..<errorCount {
            delay *= 2
            if delay >= maximumBackoff { return maximumBackoff }
        }
        return delay
    }
}

/// Error timestamps per originating state: the pure core of the BROKEN rule.
public struct ErrorHistory<Instant: InstantProtocol>: Sendable, Hashable where Instant.Duration == Duration {
    private var timestamps: [ComponentState: [Instant]] = [:]

    public init() {}

    /// Records an error that happened while in `origin`; returns how many errors now count for it.
    ///
    /// The list restarts when the previous error is older than `resetTime`.
    public mutating func record(from origin: ComponentState, at now: Instant, resetTime: Duration) -> Int {
        var list = timestamps[origin, default: []]
        if let last = list.last, last.duration(to: now) > resetTime {
            list.removeAll()
        }
        list.append(now)
        timestamps[origin] = list
        return list.count
    }

    /// Forgets the errors of `origin`: it reported a non-error state since.
    public mutating func clear(_ origin: ComponentState) {
        timestamps[origin] = nil
    }

    /// Forgets everything (a reinstall starts afresh).
    public mutating func clearAll() {
        timestamps.removeAll()
    }

    /// The errors currently counted for `origin`.
    public func count(for origin: ComponentState) -> Int {
        timestamps[origin]?.count ?? 0
    }
}
