import GreengrassTestSupport
import Synchronization
import Testing

@testable import ProcessMemory

@Suite struct IdlePageReturnsTests {
    @Test func returnsAtOnceAndAgainOnceQuietForTheSettleTime() async {
        let clock = TestClock()
        let count = Atomic<Int>(0)
        let returns = IdlePageReturns(settle: .seconds(10), clock: clock) { count.add(1, ordering: .relaxed) }

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
        let returns = IdlePageReturns(settle: .seconds(10), clock: clock) { count.add(1, ordering: .relaxed) }

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
        let count = Atomic<Int>(0)
        // The process as the test scripts it: resident file kB and CPU ms.
        let now = Mutex(ProcessActivitySample(residentFileKB: 8_000, cpuTime: .milliseconds(1_000)))
        let returns = IdlePageReturns(settle: .seconds(10), clock: clock, sample: { now.withLock { $0 } }) {
            count.add(1, ordering: .relaxed)
            now.withLock { $0.residentFileKB = 8_000 }
        }
        let watching = Task { await returns.watchForQuietAfterGrowth(every: .seconds(10)) }
        #expect(await eventually(timeout: .seconds(5)) { clock.sleeperCount == 1 })
        clock.advance(by: .seconds(10))
        #expect(await eventually(timeout: .seconds(5)) { clock.sleeperCount == 1 })
        #expect(count.load(ordering: .relaxed) == 0, "no return yet: nothing to grow from")

        returns.workEnded()  // start-up: the baseline
        #expect(count.load(ordering: .relaxed) == 1)
        #expect(await eventually(timeout: .seconds(5)) { clock.sleeperCount == 2 })
        // Traffic: code mapped back, CPU busy. No return while it lasts.
        now.withLock { $0 = ProcessActivitySample(residentFileKB: 10_000, cpuTime: .milliseconds(4_000)) }
        clock.advance(by: .seconds(10))  // also the settle return of workEnded
        #expect(await eventually(timeout: .seconds(5)) { count.load(ordering: .relaxed) == 2 && clock.sleeperCount == 1 })
        now.withLock { $0 = ProcessActivitySample(residentFileKB: 10_000, cpuTime: .milliseconds(9_000)) }
        clock.advance(by: .seconds(10))
        #expect(await eventually(timeout: .seconds(5)) { clock.sleeperCount == 1 })
        #expect(count.load(ordering: .relaxed) == 2, "busy: no return in the traffic")
        // Quiet now, still grown: returned.
        clock.advance(by: .seconds(10))
        #expect(await eventually(timeout: .seconds(5)) { count.load(ordering: .relaxed) == 3 })
        #expect(await eventually(timeout: .seconds(5)) { clock.sleeperCount == 1 })
        clock.advance(by: .seconds(10))
        #expect(await eventually(timeout: .seconds(5)) { clock.sleeperCount == 1 })
        #expect(count.load(ordering: .relaxed) == 3, "nothing grew since")
        watching.cancel()
        await watching.value
    }
}
