import EventStreamRPCServer
import MQTTCore
import NIOPosix
import Testing

@testable import GreengrassPubSub

/// The per-subscriber queue bound: messages and bytes, one oversized message when empty, nothing after the end.
@Suite struct DeliveryQueueTests {
    @Test func boundsByMessagesAndBytes() {
        let stream = IPCStream.detached(operation: LocalPubSubService.subscribeOperation, eventLoop: MultiThreadedEventLoopGroup.singleton.next()) { _ in }
        let (events, continuation) = AsyncStream.makeStream(of: [UInt8].self)
        var table = SubscriptionTable()
        let subscription = table.add(component: "C", filter: "t", receiveMode: .receiveAllMessages)
        let delivery = Delivery(
            subscription: subscription, stream: stream, continuation: continuation,
            limits: LocalPubSubLimits(maxQueuedMessagesPerSubscriber: 2, maxQueuedBytesPerSubscriber: 10))
        let four = [UInt8](repeating: 1, count: 4)
        let eight = [UInt8](repeating: 2, count: 8)
        #expect(delivery.offer(four) == .queued)
        #expect(delivery.offer(four) == .queued)
        #expect(delivery.offer(four) == .full, "message bound")
        delivery.dequeued(four)
        #expect(delivery.offer(eight) == .full, "byte bound: 4 + 8 > 10")
        delivery.dequeued(four)
        #expect(delivery.offer([UInt8](repeating: 3, count: 20)) == .queued, "an empty queue takes one oversized message")
        #expect(delivery.offer([1]) == .full)
        delivery.finish()
        delivery.dequeued([UInt8](repeating: 3, count: 20))
        #expect(delivery.offer([1]) == .ended)
        // The consumer side stays alive until here: a dropped stream would end the queue early.
        withExtendedLifetime(events) {}
    }
}
