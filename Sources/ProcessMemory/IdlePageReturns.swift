import Synchronization

/// When to return idle pages: as soon as a burst of work ends, and once more when the process has been quiet for
/// `settle` after it. The work a burst sets off keeps running for a while after it "ends" (components started by a
/// deployment connect, subscribe and publish for the first time; a new upstream connection sends its first
/// messages), and each first time maps code; the second return, once that has settled, hands it back too. A new
/// burst within `settle` postpones the second return, so a busy nucleus is not interrupted by returns.
///
/// Work that does not say when it ends (IPC traffic) is caught by ``watchForQuietAfterGrowth(every:)``: see
/// ``QuietAfterGrowth``.
public final class IdlePageReturns: Sendable {
    /// Why pages are returned: in the log line, so an operator can tell a burst's end from quiet after traffic.
    public enum Reason: String, Sendable, CustomStringConvertible {
        case workEnded = "work-ended", settled, quietAfterGrowth = "quiet-after-growth"
        public var description: String { rawValue }
    }

    private let returnPages: @Sendable (Reason) -> Void
    private let sample: @Sendable () -> ProcessActivitySample?
    private let settle: Duration
    private let clock: any Clock<Duration>
    private let pending = Mutex<Task<Void, Never>?>(nil)
    private let afterGrowth: Mutex<QuietAfterGrowth>

    public init(
        settle: Duration = .seconds(10), clock: any Clock<Duration> = ContinuousClock(), quietAfterGrowth: QuietAfterGrowth = QuietAfterGrowth(),
        sample: @escaping @Sendable () -> ProcessActivitySample? = { nil }, returnPages: @escaping @Sendable (Reason) -> Void
    ) {
        self.returnPages = returnPages
        self.sample = sample
        self.settle = settle
        self.clock = clock
        afterGrowth = Mutex(quietAfterGrowth)
    }

    deinit { pending.withLock { $0?.cancel() } }

    public func workEnded() {
        returnNow(.workEnded)
        let settled = Task { [settle, clock, weak self] in
            do { try await clock.sleep(for: settle) } catch { return }
            self?.returnNow(.settled)
        }
        pending.withLock { previous in
            previous?.cancel()
            previous = settled
        }
    }

    /// Samples the process every `period` until cancelled, returning pages when ``QuietAfterGrowth`` says so.
    public func watchForQuietAfterGrowth(every period: Duration) async {
        while true {
            do { try await clock.sleep(for: period) } catch { return }
            guard let now = sample() else { continue }
            if afterGrowth.withLock({ $0.isReturnDue(now, period: period) }) { returnNow(.quietAfterGrowth) }
        }
    }

    private func returnNow(_ reason: Reason) {
        returnPages(reason)
        if let after = sample() { afterGrowth.withLock { $0.returned(after) } }
    }
}
