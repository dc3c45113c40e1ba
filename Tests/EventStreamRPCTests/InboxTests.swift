import Testing

/// The test support's `Inbox`: values in order, a bounded wait, and waits that keep working after one timed out.
@Suite("Inbox")
struct InboxTests {
    @Test func aTimedOutWaitLeavesLaterValuesForTheNextWait() async {
        let inbox = Inbox<Int>()
        #expect(await inbox.next(timeout: .milliseconds(10)) == nil)
        inbox.put(1)
        #expect(await inbox.next(timeout: .seconds(5)) == 1)
        #expect(await inbox.next(timeout: .zero) == nil)
        inbox.put(2)
        inbox.put(3)
        #expect(await inbox.next(timeout: .seconds(5)) == 2)
        #expect(await inbox.next(timeout: .seconds(5)) == 3)
    }

    @Test func aValuePutWhileWaitingEndsTheWait() async {
        let inbox = Inbox<String>()
        async let received = inbox.next(timeout: .seconds(30))
        // The waiter may or may not be registered yet: either way the value is the wait's.
        inbox.put("late")
        #expect(await received == "late")
    }
}
