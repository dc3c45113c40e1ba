import GreengrassIPCServices
import Testing

/// The NOTIFY_COMPONENTS wait as a pure state machine: time is a parameter, nothing sleeps.
@Suite("Component update deferral")
struct ComponentUpdateDeferralTests {
    @Test func noSubscriberProceedsAtOnce() {
        var deferral = ComponentUpdateDeferral(timeout: .seconds(60))
        #expect(deferral.next(now: .zero) == .notify)
        deferral.beginRound(subscribers: [])
        #expect(deferral.next(now: .zero) == .proceed(.agreed))
    }

    @Test func everySubscriberAnsweringZeroProceedsBeforeTheTimeout() {
        var deferral = ComponentUpdateDeferral(timeout: .seconds(60))
        _ = deferral.next(now: .zero)
        deferral.beginRound(subscribers: ["A", "B"])
        #expect(deferral.next(now: .zero) == .awaitAnswers(deadline: .seconds(60)))
        let acceptedA = deferral.answer(from: "A", recheckAfterMs: 0, now: .seconds(1))
        #expect(acceptedA)
        #expect(deferral.next(now: .seconds(1)) == .awaitAnswers(deadline: .seconds(60)))
        let acceptedB = deferral.answer(from: "B", recheckAfterMs: 0, now: .seconds(2))
        #expect(acceptedB)
        #expect(deferral.next(now: .seconds(2)) == .proceed(.agreed))
        #expect(deferral.deferrals == 0)
    }

    @Test func deferralSleepsUntilTheLongestRecheckThenAsksAgain() {
        var deferral = ComponentUpdateDeferral(timeout: .seconds(60))
        _ = deferral.next(now: .zero)
        deferral.beginRound(subscribers: ["A", "B"])
        deferral.answer(from: "A", recheckAfterMs: 2000, now: .seconds(1))
        deferral.answer(from: "B", recheckAfterMs: 5000, now: .seconds(1))
        #expect(deferral.next(now: .seconds(1)) == .sleep(until: .seconds(6)))
        #expect(deferral.next(now: .seconds(5)) == .sleep(until: .seconds(6)))
        #expect(deferral.next(now: .seconds(6)) == .notify)
        deferral.beginRound(subscribers: ["A", "B"])
        deferral.answer(from: "A", recheckAfterMs: 0, now: .seconds(7))
        deferral.answer(from: "B", recheckAfterMs: 0, now: .seconds(7))
        #expect(deferral.next(now: .seconds(7)) == .proceed(.agreed))
        #expect(deferral.deferrals == 2)
    }

    @Test func silenceProceedsAtTheTimeout() {
        var deferral = ComponentUpdateDeferral(timeout: .seconds(10))
        _ = deferral.next(now: .zero)
        deferral.beginRound(subscribers: ["Silent"])
        #expect(deferral.next(now: .milliseconds(9999)) == .awaitAnswers(deadline: .seconds(10)))
        #expect(deferral.next(now: .seconds(10)) == .proceed(.timedOut))
    }

    @Test func noDeferralOutlastsTheTimeout() {
        var deferral = ComponentUpdateDeferral(timeout: .seconds(10))
        _ = deferral.next(now: .zero)
        deferral.beginRound(subscribers: ["A"])
        deferral.answer(from: "A", recheckAfterMs: 3_600_000, now: .seconds(1))
        // The sleep is cut at the timeout, and at the timeout the deployment goes on.
        #expect(deferral.next(now: .seconds(1)) == .sleep(until: .seconds(10)))
        #expect(deferral.next(now: .seconds(10)) == .proceed(.timedOut))
    }

    @Test func repeatedDeferralsStillEndAtTheTimeout() {
        var deferral = ComponentUpdateDeferral(timeout: .seconds(10))
        var now = Duration.zero
        var rounds = 0
        loop: while true {
            switch deferral.next(now: now) {
            case .notify:
                rounds += 1
                deferral.beginRound(subscribers: ["A"])
                deferral.answer(from: "A", recheckAfterMs: 3000, now: now)
            case .sleep(let until): now = until
            case .awaitAnswers(let deadline): now = deadline
            case .proceed(let outcome):
                #expect(outcome == .timedOut)
                break loop
            }
        }
        #expect(now == .seconds(10))
        #expect(rounds == 4)  // at 0, 3, 6 and 9 s
    }

    @Test func answersFromOthersOrTwiceAreNotCounted() {
        var deferral = ComponentUpdateDeferral(timeout: .seconds(10))
        let beforeAnyEvent = deferral.answer(from: "A", recheckAfterMs: 1000, now: .zero)
        #expect(!beforeAnyEvent)  // before any event
        _ = deferral.next(now: .zero)
        deferral.beginRound(subscribers: ["A"])
        let fromStranger = deferral.answer(from: "Stranger", recheckAfterMs: 1000, now: .zero)
        #expect(!fromStranger)
        let firstAnswer = deferral.answer(from: "A", recheckAfterMs: 0, now: .zero)
        #expect(firstAnswer)
        let secondAnswer = deferral.answer(from: "A", recheckAfterMs: 5000, now: .zero)
        #expect(!secondAnswer)
        #expect(deferral.next(now: .zero) == .proceed(.agreed))
    }

    @Test func aSubscriberThatGoesAwayIsNotWaitedFor() {
        var deferral = ComponentUpdateDeferral(timeout: .seconds(10))
        _ = deferral.next(now: .zero)
        deferral.beginRound(subscribers: ["A", "B"])
        deferral.answer(from: "A", recheckAfterMs: 0, now: .zero)
        deferral.subscriberGone("B")
        #expect(deferral.next(now: .seconds(1)) == .proceed(.agreed))
    }

    @Test func zeroTimeoutNotifiesOnceAndGoesOn() {
        var deferral = ComponentUpdateDeferral(timeout: .zero)
        #expect(deferral.next(now: .zero) == .notify)
        deferral.beginRound(subscribers: ["A"])
        #expect(deferral.next(now: .zero) == .proceed(.timedOut))
    }
}
