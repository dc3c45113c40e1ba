import Testing

@testable import SystemdNotify

@Suite("Notification text and systemd environment (pure)")
struct SystemdNotificationTests {
    @Test(arguments: [
        (SystemdNotification.ready(status: "Running 3 components"), "READY=1\nSTATUS=Running 3 components"),
        (.status("Starting components"), "STATUS=Starting components"),
        (.status(""), "STATUS="),
        (.reloading(monotonicMicroseconds: 1_234_567), "RELOADING=1\nMONOTONIC_USEC=1234567"),
        (.stopping(status: "Stopping components"), "STOPPING=1\nSTATUS=Stopping components"),
        (.watchdog, "WATCHDOG=1"),
        // A status can never smuggle in a second assignment or end the C string early.
        (.status("a\nREADY=1"), "STATUS=a READY=1"),
        (.ready(status: "x\r\ny\u{0}z"), "READY=1\nSTATUS=x y z"),
        (.stopping(status: "line\u{2028}sep"), "STOPPING=1\nSTATUS=line sep"),
    ])
    func datagramText(notification: SystemdNotification, expected: String) {
        #expect(notification.datagram == expected)
    }

    @Test func longStatusIsCutOnACharacterBoundary() {
        let text = String(repeating: "é", count: SystemdNotification.maximumStatusBytes)  // 2 bytes each
        let datagram = SystemdNotification.status(text).datagram
        let status = datagram.dropFirst("STATUS=".count)
        #expect(status.utf8.count == SystemdNotification.maximumStatusBytes)
        #expect(status.allSatisfy { $0 == "é" })
        let ascii = String(repeating: "a", count: 5000)
        #expect(SystemdNotification.status(ascii).datagram.utf8.count == "STATUS=".count + SystemdNotification.maximumStatusBytes)
    }

    @Test(arguments: [
        ([:], 7, nil, nil),
        (["NOTIFY_SOCKET": "/run/systemd/notify"], 7, "/run/systemd/notify", nil),
        (["NOTIFY_SOCKET": "@/org/freedesktop/systemd1/notify"], 7, "@/org/freedesktop/systemd1/notify", nil),
        (["NOTIFY_SOCKET": ""], 7, nil, nil),
        (["NOTIFY_SOCKET": "relative/notify"], 7, nil, nil),
        (["NOTIFY_SOCKET": "@"], 7, nil, nil),
        (["NOTIFY_SOCKET": "/"], 7, nil, nil),
        (["NOTIFY_SOCKET": "/" + String(repeating: "a", count: 106)], 7, "/" + String(repeating: "a", count: 106), nil),
        (["NOTIFY_SOCKET": "/" + String(repeating: "a", count: 107)], 7, nil, nil),
        (["NOTIFY_SOCKET": "/a\u{0}b"], 7, nil, nil),
        (["NOTIFY_SOCKET": "/n", "WATCHDOG_USEC": "30000000"], 7, "/n", Duration.seconds(30)),
        (["NOTIFY_SOCKET": "/n", "WATCHDOG_USEC": "200000", "WATCHDOG_PID": "7"], 7, "/n", .milliseconds(200)),
        (["NOTIFY_SOCKET": "/n", "WATCHDOG_USEC": "200000", "WATCHDOG_PID": "8"], 7, "/n", nil),
        (["NOTIFY_SOCKET": "/n", "WATCHDOG_USEC": "200000", "WATCHDOG_PID": "seven"], 7, "/n", nil),
        (["NOTIFY_SOCKET": "/n", "WATCHDOG_USEC": "200000", "WATCHDOG_PID": ""], 7, "/n", nil),
        (["NOTIFY_SOCKET": "/n", "WATCHDOG_USEC": "0"], 7, "/n", nil),
        (["NOTIFY_SOCKET": "/n", "WATCHDOG_USEC": "-5"], 7, "/n", nil),
        (["NOTIFY_SOCKET": "/n", "WATCHDOG_USEC": "+5"], 7, "/n", nil),
        (["NOTIFY_SOCKET": "/n", "WATCHDOG_USEC": " 5"], 7, "/n", nil),
        (["NOTIFY_SOCKET": "/n", "WATCHDOG_USEC": "5s"], 7, "/n", nil),
        (["NOTIFY_SOCKET": "/n", "WATCHDOG_USEC": "99999999999999999999999"], 7, "/n", nil),
        (["NOTIFY_SOCKET": "/n", "WATCHDOG_USEC": "18446744073709551615"], 7, "/n", nil),
        (["NOTIFY_SOCKET": "/n", "WATCHDOG_USEC": "9223372036854775807"], 7, "/n", .microseconds(Int64.max)),
        // The interval is read even without a socket; the notifier only pings when both are there.
        (["WATCHDOG_USEC": "1000"], 7, nil, .milliseconds(1)),
    ] as [([String: String], Int32, String?, Duration?)])
    func environment(variables: [String: String], pid: Int32, socket: String?, watchdog: Duration?) {
        let parsed = SystemdEnvironment(environment: variables, processID: pid)
        #expect(parsed.notifySocket == socket)
        #expect(parsed.watchdogInterval == watchdog)
    }

    @Test func notifierWithoutASocketIsDisabledEvenWithAWatchdogInterval() {
        let notifier = SystemdNotifier(environment: ["WATCHDOG_USEC": "1000000"])
        #expect(!notifier.isEnabled)
        #expect(notifier.watchdogInterval == .seconds(1))
        #expect(notifier.watchdogPingPeriod == .milliseconds(500))
    }
}
