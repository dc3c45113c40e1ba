import GreengrassLifecycle

/// Waits for a deployment's components to be healthy: every one RUNNING or FINISHED, with no error, for
/// `settleTime` (a Run script that crashes right after starting is RUNNING for a moment only). It wakes on the
/// supervisor's state changes and on its own two timers (the settle time, the timeout), never on a poll, and
/// takes its clock as a parameter, so a test drives both timers without sleeping.
public struct ComponentHealthWait<C: Clock>: Sendable where C.Duration == Duration {
    public let clock: C
    public let settleTime: Duration

    public init(clock: C, settleTime: Duration) {
        self.clock = clock
        self.settleTime = settleTime
    }

    private enum Wake: Sendable {
        case changed(ComponentStateChange)
        case timer
    }

    /// Returns a reason for each named component that went BROKEN, is unknown, or was not RUNNING or FINISHED by
    /// `timeout`; empty when all of them settled healthy.
    ///
    /// - Parameters:
    ///   - state: the current state of a component (nil when the supervisor does not know it).
    ///   - changes: the supervisor's state changes, subscribed to before this call so none is missed.
    public func wait(
        for names: [String], timeout: Duration, state: @escaping @Sendable (String) -> ComponentState?,
        changes: AsyncStream<ComponentStateChange>
    ) async -> [String: String] {
        let watched = Set(names)
        let deadline = clock.now.advanced(by: timeout)
        let (wakes, wake) = AsyncStream.makeStream(of: Wake.self)
        return await withTaskGroup(of: Void.self) { group in
            defer { group.cancelAll() }
            group.addTask {
                for await change in changes where watched.contains(change.name) { wake.yield(.changed(change)) }
            }
            let clock = clock
            group.addTask { await Self.wake(wake, at: deadline, on: clock) }
            wake.yield(.timer)  // look once at the start
            var healthySince: C.Instant?
            for await event in wakes {
                var failures: [String: String] = [:]
                var allHealthy = true
                let now = clock.now
                for name in names {
                    switch state(name) {
                    case .running?, .finished?: break
                    case .broken?: failures[name] = "is BROKEN"
                    case nil: failures[name] = "is not known to the supervisor"
                    case let other?:
                        allHealthy = false
                        if now >= deadline {
                            failures[name] = "did not reach RUNNING or FINISHED within \(timeout) (state \(other.rawValue))"
                        }
                    }
                }
                if !failures.isEmpty { return failures }
                if case .changed(let change) = event, change.to == .errored {
                    // An error, even one already recovered from, starts the settle time again.
                    healthySince = nil
                } else if allHealthy {
                    if let since = healthySince {
                        if since.duration(to: now) >= settleTime { return [:] }
                    } else {
                        healthySince = now
                        let settled = now.advanced(by: settleTime)
                        group.addTask { await Self.wake(wake, at: settled, on: clock) }
                    }
                } else {
                    healthySince = nil
                }
            }
            // Only a cancelled wait (the nucleus is stopping) gets here; like the poll this replaces, it reports
            // no failure for it.
            return [:]
        }
    }

    private static func wake(_ wake: AsyncStream<Wake>.Continuation, at instant: C.Instant, on clock: C) async {
        guard (try? await clock.sleep(until: instant, tolerance: nil)) != nil else { return }
        wake.yield(.timer)
    }
}
