import Synchronization

/// When to return idle pages: as soon as a burst of work ends, and once more when the process has been quiet for
/// `settle` after it. The work a burst sets off keeps running for a while after it "ends" (components started by a
/// deployment connect, subscribe and publish for the first time; a new upstream connection sends its first
/// messages), and each first time maps code; the second return, once that has settled, hands it back too. A new
/// burst within `settle` postpones the second return, so a busy nucleus is not interrupted by returns.
public final class IdlePageReturns: Sendable {
    private let returnPages: @Sendable () -> Void
    private let settle: Duration
    private let clock: any Clock<Duration>
    private let pending = Mutex<Task<Void, Never>?>(nil)

    public init(settle: Duration = .seconds(10), clock: any Clock<Duration> = ContinuousClock(), returnPages: @escaping @Sendable () -> Void) {
        self.returnPages = returnPages
        self.settle = settle
        self.clock = clock
    }

    deinit { pending.withLock { $0?.cancel() } }

    public func workEnded() {
        returnPages()
        let settle = settle
        let clock = clock
        let returnPages = returnPages
        let settled = Task {
            do { try await clock.sleep(for: settle) } catch { return }
            returnPages()
        }
        pending.withLock { previous in
            previous?.cancel()
            previous = settled
        }
    }
}
