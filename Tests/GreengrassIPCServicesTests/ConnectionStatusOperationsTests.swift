import EventStream
import EventStreamRPCServer
import GreengrassIPCServices
import GreengrassJSON
import NIOCore
import NIOEmbedded
import Synchronization
import Testing

@Suite("SubscribeToIoTCoreConnectionStatus")
struct ConnectionStatusOperationsTests {
    final class Events: Sendable {
        let received = Mutex<[JSONValue]>([])
        var all: [JSONValue] { received.withLock { $0 } }
    }

    func subscribe(_ operations: ConnectionStatusOperations, events: Events) async -> IPCReply {
        var router = IPCRouter()
        operations.register(on: &router)
        let operation = "aws.greengrass#SubscribeToIoTCoreConnectionStatus"
        let stream = IPCStream.detached(operation: operation, eventLoop: EmbeddedEventLoop()) { output in
            guard case .event(let shape, let json) = output, shape == "aws.greengrass#IoTCoreConnectionStatusEvent",
                let value = try? JSONValue(parsing: Array(buffer: json))
            else { return }
            events.received.withLock { $0.append(value) }
        }
        return await router.handle(IPCCall(principal: "com.example.Any", operation: operation, payload: Array("{}".utf8), stream: stream))
    }

    static func status(_ text: String) -> JSONValue { ["connectionStatusEvent": ["status": .string(text)]] }

    @Test func theObserverHearsEachChangeOnce() async {
        let changes = Mutex<[Bool]>([])
        let operations = ConnectionStatusOperations(onChange: { connected in changes.withLock { $0.append(connected) } })
        await operations.setConnected(true)
        await operations.setConnected(true)
        await operations.setConnected(false)
        await operations.setConnected(false)
        await operations.setConnected(true)
        #expect(changes.withLock { $0 } == [true, false, true])
    }

    @Test func currentStateFirstThenEveryChange() async {
        let operations = ConnectionStatusOperations()
        await operations.setConnected(true)
        let events = Events()
        let reply = await subscribe(operations, events: events)
        #expect(reply == .streamOpened(shape: "aws.greengrass#SubscribeToIoTCoreConnectionStatusResponse", json: Array("{}".utf8)))
        #expect(events.all == [Self.status("CONNECTED")])
        await operations.setConnected(false)
        await operations.setConnected(false)  // no change, no event
        await operations.setConnected(true)
        #expect(events.all == [Self.status("CONNECTED"), Self.status("DISCONNECTED"), Self.status("CONNECTED")])
    }

    @Test func offlineOrNotYetConnectedIsDisconnected() async {
        let events = Events()
        _ = await subscribe(ConnectionStatusOperations(), events: events)
        #expect(events.all == [Self.status("DISCONNECTED")])
    }
}
