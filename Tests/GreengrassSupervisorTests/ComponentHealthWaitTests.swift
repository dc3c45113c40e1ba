import GreengrassLifecycle
import GreengrassSupervisor
import GreengrassTestSupport
import Synchronization
import Testing

/// The supervisor as the health wait sees it: component states a test sets, and the change each setting makes.
final class ScriptedStates: Sendable {
    private let states: Mutex<[String: ComponentState]>
    private let looks = Atomic<Int>(0)
    let changes: AsyncStream<ComponentStateChange>
    private let continuation: AsyncStream<ComponentStateChange>.Continuation

    init(_ states: [String: ComponentState]) {
        self.states = Mutex(states)
        (changes, continuation) = AsyncStream.makeStream(of: ComponentStateChange.self)
    }

    /// How many times the wait has looked at a state.
    var lookCount: Int { looks.load(ordering: .sequentiallyConsistent) }

    func state(_ name: String) -> ComponentState? {
        looks.add(1, ordering: .sequentiallyConsistent)
        return states.withLock { $0[name] }
    }

    func set(_ name: String, _ state: ComponentState) {
        let from = states.withLock { states in
            defer { states[name] = state }
            return states[name] ?? .new
        }
        continuation.yield(ComponentStateChange(name: name, version: "1.0.0", from: from, to: state, statusCode: .none))
    }
}

/// `ComponentHealthWait` on a test clock: the settle time and the timeout pass without the test sleeping.
@Suite("Component health wait")
struct ComponentHealthWaitTests {
    let clock = TestClock()

    /// Starts the wait; the returned task yields its result and the clock time it returned at.
    func start(_ states: ScriptedStates, _ names: [String], timeout: Duration = .seconds(10)) -> Task<([String: String], Duration), Never> {
        let clock = clock
        return Task {
            let result = await ComponentHealthWait(clock: clock, settleTime: .milliseconds(500)).wait(
                for: names, timeout: timeout, state: { states.state($0) }, changes: states.changes)
            return (result, clock.now.offset)
        }
    }

    /// Waits (bounded, yielding only) until the wait armed `count` timers.
    func armed(_ count: Int) async -> Bool {
        for _ in 0..<100_000 {
            if clock.sleeperCount == count { return true }
            await Task.yield()
        }
        return false
    }

    @Test func componentsThatStayHealthyForTheSettleTimeAreHealthy() async throws {
        let states = ScriptedStates(["A": .running, "B": .finished])
        let wait = start(states, ["A", "B"])
        try #require(await armed(2))  // the timeout and the settle time
        clock.advance(by: .milliseconds(500))
        let (failures, at) = await wait.value
        #expect(failures == [:])
        #expect(at == .milliseconds(500))
    }

    @Test func aComponentThatNeverStartsFailsAtTheTimeoutNamingItsState() async throws {
        let states = ScriptedStates(["A": .running, "Slow": .starting])
        let wait = start(states, ["A", "Slow"], timeout: .seconds(10))
        try #require(await armed(1))
        clock.advance(by: .seconds(10))
        let (failures, at) = await wait.value
        #expect(failures == ["Slow": "did not reach RUNNING or FINISHED within 10.0 seconds (state STARTING)"])
        #expect(at == .seconds(10))
    }

    @Test func aComponentThatBecomesHealthyLaterSettlesFromThen() async throws {
        let states = ScriptedStates(["A": .starting])
        let wait = start(states, ["A"])
        try #require(await armed(1))
        clock.advance(by: .seconds(2))
        states.set("A", .running)
        try #require(await armed(2))
        clock.advance(by: .milliseconds(500))
        let (failures, at) = await wait.value
        #expect(failures == [:])
        #expect(at == .milliseconds(2500))
    }

    @Test func brokenAndUnknownComponentsFailAtOnce() async {
        let states = ScriptedStates(["A": .broken])
        let (failures, at) = await start(states, ["A", "Ghost"]).value
        #expect(failures == ["A": "is BROKEN", "Ghost": "is not known to the supervisor"])
        #expect(at == .zero)
    }

    /// A Run script that crashes right after starting is RUNNING again by the next look: the error it went through
    /// still restarts the settle time.
    @Test func anErrorRestartsTheSettleTime() async throws {
        let states = ScriptedStates(["A": .running])
        let wait = start(states, ["A"])
        try #require(await armed(2))
        clock.advance(by: .milliseconds(300))
        states.set("A", .errored)
        states.set("A", .running)
        try #require(await armed(3))  // settling again from 300 ms
        let looks = states.lookCount
        clock.advance(by: .milliseconds(200))  // the first settle timer fires: not settled any more
        for _ in 0..<100_000 where states.lookCount == looks { await Task.yield() }
        #expect(states.lookCount > looks)
        for _ in 0..<100 { await Task.yield() }  // a wait that wrongly returned now would record 500 ms
        clock.advance(by: .milliseconds(300))
        let (failures, at) = await wait.value
        #expect(failures == [:])
        #expect(at == .milliseconds(800))
    }
}
