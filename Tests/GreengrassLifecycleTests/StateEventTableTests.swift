import GreengrassLifecycle
import Testing

/// Every state × every event: the resulting state and actions.
@Suite("LifecycleStateMachine: state × event table")
struct StateEventTableTests {
    struct Row: CustomTestStringConvertible, Sendable {
        var state: ComponentState
        var event: LifecycleEvent
        var expectedState: ComponentState
        var expectedActions: [String]
        var testDescription: String { "\(state) + \(event)" }
    }

    static let stale = 9_999

    /// Expected (state after, actions) per event, one entry per state in `ComponentState.allCases` order:
    /// NEW, INSTALLED (waiting for dependencies), STARTING (Run launched), RUNNING, STOPPING (Shutdown
    /// running), FINISHED, ERRORED (Recover running), BROKEN.
    static let table: [(LifecycleEvent, [(ComponentState, [String])])] = [
        (.startRequested, [
            (.new, ["run:Install"]),
            (.installed, []),
            (.starting, []),
            (.running, []),
            (.stopping, []),
            (.starting, ["state:INSTALLED", "state:STARTING", "run:Run"]),
            (.errored, []),
            (.broken, ["notice"]),
        ]),
        (.stopRequested, [
            (.new, []),
            (.finished, ["state:FINISHED"]),
            (.stopping, ["state:STOPPING", "run:Shutdown"]),
            (.stopping, ["state:STOPPING", "run:Shutdown"]),
            (.stopping, []),
            (.finished, []),
            (.errored, []),
            (.broken, []),
        ]),
        (.restartRequested, [
            (.new, ["run:Install"]),
            (.installed, []),
            (.stopping, ["state:STOPPING", "run:Shutdown"]),
            (.stopping, ["state:STOPPING", "run:Shutdown"]),
            (.stopping, []),
            (.starting, ["state:INSTALLED", "state:STARTING", "run:Run"]),
            (.errored, []),
            (.broken, ["notice"]),
        ]),
        (.reinstallRequested, [
            (.new, ["run:Install"]),
            (.new, ["state:NEW", "run:Install"]),
            (.stopping, ["state:STOPPING", "run:Shutdown"]),
            (.stopping, ["state:STOPPING", "run:Shutdown"]),
            (.stopping, []),
            (.new, ["state:NEW", "run:Install"]),
            (.errored, []),
            (.new, ["state:NEW", "run:Install"]),
        ]),
        (.uninstallRequested, [
            (.new, ["run:Uninstall"]),
            (.installed, ["run:Uninstall"]),
            (.stopping, ["state:STOPPING", "run:Shutdown"]),
            (.stopping, ["state:STOPPING", "run:Shutdown"]),
            (.stopping, []),
            (.finished, ["run:Uninstall"]),
            (.errored, []),
            (.broken, ["run:Uninstall"]),
        ]),
        (.dependenciesChanged(ready: false), [
            (.new, []),
            (.installed, []),
            (.stopping, ["state:STOPPING", "run:Shutdown"]),
            (.stopping, ["state:STOPPING", "run:Shutdown"]),
            (.stopping, []),
            (.finished, []),
            (.errored, []),
            (.broken, []),
        ]),
        (.dependenciesChanged(ready: true), [
            (.new, []),
            (.starting, ["state:STARTING", "run:Run"]),
            (.starting, []),
            (.running, []),
            (.stopping, []),
            (.finished, []),
            (.errored, []),
            (.broken, []),
        ]),
        (.phaseStarted(runID: stale), ComponentState.allCases.map { ($0, []) }),
        (.phaseFinished(runID: stale, .exited(0)), ComponentState.allCases.map { ($0, []) }),
        (.phaseFinished(runID: stale, .exited(1)), ComponentState.allCases.map { ($0, []) }),
        (.processesKilled(ticket: stale), ComponentState.allCases.map { ($0, []) }),
        (.restartDelayElapsed(ticket: stale), ComponentState.allCases.map { ($0, []) }),
        (.phasesChanged(Harness.standardPhases), ComponentState.allCases.map { ($0, []) }),
        (.componentReported(.running), [
            (.new, ["notice"]),
            (.installed, ["notice"]),
            (.running, ["state:RUNNING"]),
            (.running, ["notice"]),
            (.stopping, ["notice"]),
            (.finished, ["notice"]),
            (.errored, ["notice"]),
            (.broken, ["notice"]),
        ]),
        (.componentReported(.errored), [
            (.new, ["notice"]),
            (.installed, ["notice"]),
            (.errored, ["state:ERRORED", "run:Recover"]),
            (.errored, ["state:ERRORED", "run:Recover"]),
            (.stopping, ["notice"]),
            (.finished, ["notice"]),
            (.errored, ["notice"]),
            (.broken, ["notice"]),
        ]),
        (.componentReported(.finished), ComponentState.allCases.map { ($0, ["notice"]) }),
    ]

    static let rows: [Row] = table.flatMap { event, expectations in
        zip(ComponentState.allCases, expectations).map { state, expected in
            Row(state: state, event: event, expectedState: expected.0, expectedActions: expected.1)
        }
    }

    @Test("table covers every state for every event")
    func tableIsComplete() {
        for (event, expectations) in Self.table {
            #expect(expectations.count == ComponentState.allCases.count, "\(event)")
        }
        #expect(Self.rows.count == Self.table.count * 8)
    }

    @Test(arguments: rows)
    func transition(_ row: Row) {
        var harness = Harness.inState(row.state)
        let actions = harness.send(row.event)
        #expect(actions == row.expectedActions)
        #expect(harness.state == row.expectedState)
    }
}
