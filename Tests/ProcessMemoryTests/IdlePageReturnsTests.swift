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
}
