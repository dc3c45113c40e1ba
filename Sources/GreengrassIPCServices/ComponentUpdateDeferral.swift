/// The wait a `NOTIFY_COMPONENTS` deployment does before it changes anything: a pure state machine over time
/// measured from the first `PreComponentUpdateEvent` (the caller's clock).
///
/// As the Java nucleus (`UpdateSystemPolicyService`): each round sends `PreComponentUpdateEvent` to every
/// subscriber and collects `DeferComponentUpdate` answers; `recheckAfterMs` = 0 says "go ahead", > 0 asks to be
/// asked again that much later (the longest request of a round wins). A round ends when every subscriber
/// answered; if someone deferred, the next round starts at the recheck time. Unlike Java, whose rounds can repeat
/// forever, the whole wait is bounded: at `timeout` the deployment proceeds, deferred or not.
public struct ComponentUpdateDeferral: Sendable, Equatable {
    /// What the caller does next.
    public enum Step: Sendable, Equatable {
        /// Send `PreComponentUpdateEvent` to the subscribers now, then call ``beginRound(subscribers:)``.
        case notify
        /// Wait for `DeferComponentUpdate` answers (``answer(from:recheckAfterMs:now:)``) until `deadline`.
        case awaitAnswers(deadline: Duration)
        /// Someone deferred: sleep until `time`, then ask ``next(now:)`` again.
        case sleep(until: Duration)
        /// Go ahead with the deployment.
        case proceed(Outcome)
    }

    public enum Outcome: Sendable, Equatable {
        /// Every subscriber answered without deferring (or there were none).
        case agreed
        /// The timeout passed with answers missing or deferrals pending.
        case timedOut
    }

    enum Phase: Sendable, Equatable {
        case notYetNotified
        /// Waiting for `pending`; `recheckAt` is the latest recheck time asked for in this round.
        case collecting(pending: Set<String>, recheckAt: Duration?)
    }

    public let timeout: Duration
    private(set) var phase: Phase = .notYetNotified
    /// How many times a subscriber deferred, over all rounds (for the log).
    public private(set) var deferrals = 0

    public init(timeout: Duration) {
        self.timeout = max(timeout, .zero)
    }

    /// The event went out to `subscribers`.
    public mutating func beginRound(subscribers: Set<String>) {
        phase = .collecting(pending: subscribers, recheckAt: nil)
    }

    /// `component` answered with `DeferComponentUpdate`. Returns false when no answer is awaited from it.
    @discardableResult
    public mutating func answer(from component: String, recheckAfterMs: Int64, now: Duration) -> Bool {
        guard case .collecting(var pending, let recheckAt) = phase, pending.remove(component) != nil else { return false }
        var until = recheckAt
        if recheckAfterMs > 0 {
            deferrals += 1
            let requested = now + .milliseconds(recheckAfterMs)
            until = max(until ?? requested, requested)
        }
        phase = .collecting(pending: pending, recheckAt: until)
        return true
    }

    /// A subscriber's stream ended: it can no longer answer, so it is not waited for.
    public mutating func subscriberGone(_ component: String) {
        guard case .collecting(var pending, let recheckAt) = phase else { return }
        pending.remove(component)
        phase = .collecting(pending: pending, recheckAt: recheckAt)
    }

    public func next(now: Duration) -> Step {
        if now >= timeout, phase != .notYetNotified { return .proceed(.timedOut) }
        switch phase {
        case .notYetNotified:
            return .notify
        case .collecting(let pending, let recheckAt):
            if !pending.isEmpty { return .awaitAnswers(deadline: timeout) }
            guard let recheckAt else { return .proceed(.agreed) }
            return now >= recheckAt ? .notify : .sleep(until: min(recheckAt, timeout))
        }
    }
}
