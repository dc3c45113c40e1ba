import Foundation
import GreengrassTestSupport
import Synchronization
import Testing

@testable import SystemdNotify

/// Each test binds its own socket in its own temporary directory, so the tests can run in parallel.
@Suite("SystemdNotifier over a real datagram socket")
struct SystemdNotifierTests {
    @Test func stateChangesArriveAsExactDatagrams() async throws {
        let socket = try NotifySocket()
        let notifier = SystemdNotifier(environment: socket.environment())
        #expect(notifier.isEnabled)
        #expect(notifier.watchdogInterval == nil)

        notifier.status("Starting components")
        #expect(await socket.receive()?.text == "STATUS=Starting components")
        notifier.ready(status: "Running 2 components")
        #expect(await socket.receive()?.text == "READY=1\nSTATUS=Running 2 components")
        notifier.stopping(status: "Stopping components")
        #expect(await socket.receive()?.text == "STOPPING=1\nSTATUS=Stopping components")
    }

    @Test func reloadingCarriesTheCurrentMonotonicTime() async throws {
        let socket = try NotifySocket()
        let notifier = SystemdNotifier(environment: socket.environment())
        let before = SystemdNotifier.monotonicMicroseconds()
        notifier.reloading()
        let after = SystemdNotifier.monotonicMicroseconds()
        let text = try #require(await socket.receive()?.text)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 2)
        #expect(lines.first == "RELOADING=1")
        let stamp = try #require(lines.last.flatMap { $0.hasPrefix("MONOTONIC_USEC=") ? UInt64($0.dropFirst(15)) : nil })
        #expect((before...after).contains(stamp), "\(stamp) not within \(before)...\(after)")
    }

    @Test func withoutNotifySocketNothingIsSentAndNothingFails() async throws {
        let socket = try NotifySocket()
        // Only WATCHDOG_USEC: no socket to talk to, so no call may fail or block.
        let notifier = SystemdNotifier(environment: ["WATCHDOG_USEC": "20000", "GG_UNRELATED": socket.path])
        #expect(!notifier.isEnabled)
        notifier.ready(status: "x")
        notifier.status("x")
        notifier.reloading()
        notifier.stopping(status: "x")
        try notifier.send(.watchdog)
        let watchdog = Task { await notifier.runWatchdog { true } }
        #expect(await socket.drain(for: .milliseconds(100)).isEmpty)
        watchdog.cancel()
        await watchdog.value
    }

    @Test func sendingToAMissingSocketNamesTheSocket() throws {
        let socket = try NotifySocket()
        let missing = socket.path + "-missing"
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": missing])
        let error = #expect(throws: SystemdNotifyError.self) { try notifier.send(.watchdog) }
        #expect(error?.socket == missing)
        #expect(error?.code == ENOENT)
        #expect(error?.description.contains(missing) == true)
        notifier.status("the convenience calls swallow the error")
    }

    /// sd_notify is one datagram, which the notifier sends itself: nothing that uses SystemdNotify maps libsystemd
    /// (with the six libraries it loads, 0.6 MB resident in the nucleus).
    @Test func libsystemdIsNotLoaded() throws {
        let maps = processMappings(getpid())
        #expect(maps.contains("[stack]"), "the mappings were read to the end")
        #expect(!maps.contains("libsystemd"))
    }

    @Test func abstractSocketNamesAreAddressedWithALeadingNul() async throws {
        let name = "@gg-sdnotify-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let socket = try NotifySocket(abstractName: name)
        let notifier = SystemdNotifier(environment: ["NOTIFY_SOCKET": name])
        notifier.status("abstract")
        #expect(await socket.receive()?.text == "STATUS=abstract")
    }

    @Test func watchdogPingsAtHalfTheInterval() async throws {
        let socket = try NotifySocket()
        let notifier = SystemdNotifier(environment: socket.environment(watchdogMicroseconds: 200_000))
        #expect(notifier.watchdogInterval == .milliseconds(200))
        #expect(notifier.watchdogPingPeriod == .milliseconds(100))
        let started = ContinuousClock.now
        let watchdog = Task { await notifier.runWatchdog { true } }
        var pings: [NotifySocket.Datagram] = []
        while pings.count < 6, let datagram = await socket.receive(timeout: .seconds(5)) { pings.append(datagram) }
        watchdog.cancel()
        await watchdog.value
        #expect(pings.count == 6)
        #expect(pings.allSatisfy { $0.text == "WATCHDOG=1" })
        // One ping per 100 ms period on a fixed-rate schedule, so the average gap stays near the period even when
        // single pings are late. Loose upper bound: two CPUs shared with other builds.
        if let first = pings.first, let last = pings.last {
            let average = (last.arrival - first.arrival) / (pings.count - 1)
            #expect(average >= .milliseconds(80) && average <= .milliseconds(250), "average gap \(average)")
            #expect(last.arrival - started >= .milliseconds(400), "6 pings must take 5 periods")
        }
    }

    @Test func pingsStopAsSoonAsTheLivenessCheckFails() async throws {
        let socket = try NotifySocket()
        let notifier = SystemdNotifier(environment: socket.environment(watchdogMicroseconds: 100_000))
        let probes = Atomic<Int>(0)
        let watchdog = Task {
            // Alive for three probes, then wedged.
            await notifier.runWatchdog { probes.add(1, ordering: .relaxed).newValue <= 3 }
        }
        var received: [String] = []
        while !received.contains(where: { $0.hasPrefix("STATUS=") }), let datagram = await socket.receive() {
            received.append(datagram.text)
        }
        #expect(received == ["WATCHDOG=1", "WATCHDOG=1", "WATCHDOG=1", "STATUS=Watchdog: liveness check failed; no more keep-alive pings"])
        // Nothing more for five periods, and no further probes either.
        #expect(await socket.drain(for: .milliseconds(250)).isEmpty)
        #expect(probes.load(ordering: .relaxed) == 4)
        watchdog.cancel()
        await watchdog.value
    }

    @Test func aProbeThatNeverAnswersStopsThePingsAndCancellationStillReturns() async throws {
        let socket = try NotifySocket()
        let notifier = SystemdNotifier(environment: socket.environment(watchdogMicroseconds: 100_000))
        let gate = AsyncStream<Void>.makeStream()
        let calls = Atomic<Int>(0)
        let watchdog = Task {
            await notifier.runWatchdog {
                // The first probe answers; the second hangs like a probe stuck on a wedged event loop.
                if calls.add(1, ordering: .relaxed).newValue == 1 { return true }
                for await _ in gate.stream {}
                return true
            }
        }
        #expect(await socket.receive()?.text == "WATCHDOG=1")
        #expect(await socket.receive()?.text == "STATUS=Watchdog: liveness check failed; no more keep-alive pings")
        #expect(await socket.drain(for: .milliseconds(150)).isEmpty)
        watchdog.cancel()
        await watchdog.value
        gate.continuation.finish()
    }

    @Test func cancellingTheWatchdogEndsIt() async throws {
        let socket = try NotifySocket()
        let notifier = SystemdNotifier(environment: socket.environment(watchdogMicroseconds: 60_000_000))
        let watchdog = Task { await notifier.runWatchdog { true } }
        // The first ping goes out at once, not after the first 30 s period.
        #expect(await socket.receive(timeout: .seconds(10))?.text == "WATCHDOG=1")
        let cancelled = ContinuousClock.now
        watchdog.cancel()
        await watchdog.value
        // The next ping would be 30 s away; cancellation must not wait for it.
        #expect(ContinuousClock.now - cancelled < .seconds(5))
        #expect(await socket.drain(for: .milliseconds(50)).isEmpty)
    }
}
