import GreengrassTestSupport
import Synchronization
import Testing

@testable import ProcessMemory

@Suite struct IdlePageReturnsTests {
    @Test func returnsAtOnceAndAgainOnceQuietForTheSettleTime() async {
        let clock = TestClock()
        let count = Atomic<Int>(0)
        let returns = IdlePageReturns(settle: .seconds(10), clock: clock) { _ in count.add(1, ordering: .relaxed) }

        returns.workEnded()
        #expect(count.load(ordering: .relaxed) == 1)
        #expect(await eventually(timeout: .seconds(5)) { clock.sleeperCount == 1 })
        clock.advance(by: .seconds(9))
        try? await Task.sleep(for: .milliseconds(50))
        #expect(count.load(ordering: .relaxed) == 1, "not quiet for 10 s yet")
        clock.advance(by: .seconds(1))
        #expect(await eventually(timeout: .seconds(5)) { count.load(ordering: .relaxed) == 2 })
    }

    @Test func newWorkPostponesTheSettledReturn() async {
        let clock = TestClock()
        let count = Atomic<Int>(0)
        let returns = IdlePageReturns(settle: .seconds(10), clock: clock) { _ in count.add(1, ordering: .relaxed) }

        returns.workEnded()
        #expect(await eventually(timeout: .seconds(5)) { clock.sleeperCount == 1 })
        clock.advance(by: .seconds(6))
        returns.workEnded()  // returns at once; the first settle return is cancelled, a new one waits 10 s more
        #expect(count.load(ordering: .relaxed) == 2)
        #expect(await eventually(timeout: .seconds(5)) { clock.sleeperCount == 1 })
        clock.advance(by: .seconds(6))  // 12 s after the first burst, 6 s after the second
        try? await Task.sleep(for: .milliseconds(50))
        #expect(count.load(ordering: .relaxed) == 2)
        clock.advance(by: .seconds(4))
        #expect(await eventually(timeout: .seconds(5)) { count.load(ordering: .relaxed) == 3 })
        try? await Task.sleep(for: .milliseconds(50))
        #expect(count.load(ordering: .relaxed) == 3, "the cancelled settle return never runs")
    }

    @Test func trafficThatMappedCodeBackIsReturnedOnceQuiet() async {
        let clock = TestClock()
        let reasons = Mutex<[IdlePageReturns.Reason]>([])
        // The process as the test scripts it: resident file kB and CPU time; a return leaves 8,000 kB resident.
        let now = Mutex(ProcessActivitySample(residentFileKB: 8_000, cpuTime: .milliseconds(1_000)))
        func set(_ kb: Int, cpuMilliseconds: Int) { now.withLock { $0 = ProcessActivitySample(residentFileKB: kb, cpuTime: .milliseconds(cpuMilliseconds)) } }
        func advance(_ seconds: Int, sleepers: Int = 1) async {
            clock.advance(by: .seconds(seconds))
            #expect(await eventually(timeout: .seconds(5)) { clock.sleeperCount == sleepers })
        }
        let returns = IdlePageReturns(settle: .seconds(10), clock: clock, sample: { now.withLock { $0 } }) { reason in
            reasons.withLock { $0.append(reason) }
            now.withLock { $0.residentFileKB = 8_000 }
        }
        returns.workEnded()  // start-up, t = 0; its settle return comes at t = 10
        #expect(reasons.withLock { $0 } == [.workEnded])
        #expect(await eventually(timeout: .seconds(5)) { clock.sleeperCount == 1 })
        await advance(5, sleepers: 1)
        let watching = Task { await returns.watchForQuietAfterGrowth(every: .seconds(10)) }  // samples at t = 15, 25, …
        #expect(await eventually(timeout: .seconds(5)) { clock.sleeperCount == 2 })
        set(8_600, cpuMilliseconds: 1_005)
        await advance(5)  // t = 10: the settle return
        #expect(await eventually(timeout: .seconds(5)) { reasons.withLock { $0 } == [.workEnded, .settled] })
        // Idle maps back what it runs: that is the idle level, not growth.
        set(8_600, cpuMilliseconds: 1_010)
        await advance(10)  // t = 15: the first quiet sample after the return
        set(9_200, cpuMilliseconds: 1_015)  // idle mapped back more, with no traffic
        await advance(10)  // t = 25
        #expect(reasons.withLock { $0 } == [.workEnded, .settled], "idle's own pages are not growth")
        // Traffic: code mapped back, CPU busy. No return while it lasts.
        set(10_000, cpuMilliseconds: 4_000)
        await advance(10)  // t = 35
        set(10_000, cpuMilliseconds: 9_000)
        await advance(10)  // t = 45
        #expect(reasons.withLock { $0 } == [.workEnded, .settled], "busy: no return in the traffic")
        // Quiet now, still grown: returned.
        await advance(10)  // t = 55
        #expect(await eventually(timeout: .seconds(5)) { reasons.withLock { $0 } == [.workEnded, .settled, .quietAfterGrowth] })
        await advance(10)  // t = 65: the idle level is measured again (8,000)
        await advance(10)
        #expect(reasons.withLock { $0 } == [.workEnded, .settled, .quietAfterGrowth])
        watching.cancel()
        await watching.value
    }
}
