import EventStreamRPCServer
import GreengrassIPCModel
import Synchronization

/// `SubscribeToIoTCoreConnectionStatus` (Java nucleus `MqttProxyIPCAgent`, PR #1813): the current state of the
/// upstream link as the first event, then one event per connect and disconnect. No authorization, as in Java:
/// it exposes no topic data. Offline devices (no `iotDataEndpoint`) are simply DISCONNECTED.
public final class ConnectionStatusOperations: Sendable {
    static let operation = IPCOperationName.subscribeToIoTCoreConnectionStatus

    struct State: Sendable {
        var connected = false
        var subscribers: [UInt64: IPCStream] = [:]
        var nextID: UInt64 = 1
    }

    private let state = Mutex(State())
    /// Told each change of the link (`true`: connected), after subscribers were.
    private let onChange: @Sendable (Bool) -> Void

    public init(onChange: @escaping @Sendable (Bool) -> Void = { _ in }) {
        self.onChange = onChange
    }

    public func register(on router: inout IPCRouter) {
        router.register(Self.operation) { await self.subscribe($0) }
    }

    public var isConnected: Bool { state.withLock { $0.connected } }

    func subscribe(_ call: IPCCall) async -> IPCReply {
        let (id, connected) = state.withLock { state in
            let id = state.nextID
            state.nextID += 1
            state.subscribers[id] = call.stream
            return (id, state.connected)
        }
        call.stream.onTermination { [weak self] _ in _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) } }
        // Sent before the response is returned: the stream holds events until its response went out, so the
        // client sees the response, then the current state.
        await send(connected ? .connected : .disconnected, to: [call.stream])
        return .streamOpened(shape: "aws.greengrass#SubscribeToIoTCoreConnectionStatusResponse", json: Array("{}".utf8))
    }

    /// The upstream link connected (`true`) or went away (`false`); subscribers hear only changes.
    public func setConnected(_ connected: Bool) async {
        let streams: [IPCStream]? = state.withLock { state in
            guard state.connected != connected else { return nil }
            state.connected = connected
            return Array(state.subscribers.values)
        }
        guard let streams else { return }
        await send(connected ? .connected : .disconnected, to: streams)
        onChange(connected)
    }

    private func send(_ status: ConnectionStatus, to streams: [IPCStream]) async {
        guard let json = try? IPCJSON.encode(IoTCoreConnectionStatusEvent(status: status)) else { return }
        for stream in streams {
            try? await stream.send(event: IoTCoreConnectionStatusEvent.shape, json: json)
        }
    }
}
