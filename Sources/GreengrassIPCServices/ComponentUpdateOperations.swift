import EventStreamRPCServer
import GreengrassIPCModel
import Synchronization

/// `SubscribeToComponentUpdates` and `DeferComponentUpdate` (`LifecycleIPCEventStreamAgent`), and the deployment
/// side: ``notifyAndWait(deploymentID:isGgcRestarting:timeout:clock:)`` before a `NOTIFY_COMPONENTS` deployment
/// changes anything, ``updateFinished(deploymentID:)`` after. No authorization (as Greengrass); a component
/// subscribes for itself and must be deployed.
public final class ComponentUpdateOperations: Sendable {
    static let subscribeOperation = IPCOperationName.subscribeToComponentUpdates
    static let deferOperation = IPCOperationName.deferComponentUpdate

    enum Signal: Sendable {
        case answer(component: String, recheckAfterMs: Int64)
        case gone(component: String)
        case tick
    }

    struct State: Sendable {
        var subscribers: [UInt64: (component: String, stream: IPCStream)] = [:]
        var nextID: UInt64 = 1
        /// The deployment waiting for answers, the components it still waits for this round, and where answers go.
        var waiting: (deploymentID: String, awaited: Set<String>, signals: AsyncStream<Signal>.Continuation)?
    }

    private let isDeployed: @Sendable (String) async -> Bool
    private let state = Mutex(State())

    /// - Parameter isDeployed: whether a principal is a deployed component (others get ResourceNotFoundError).
    public init(isDeployed: @escaping @Sendable (String) async -> Bool) {
        self.isDeployed = isDeployed
    }

    public func register(on router: inout IPCRouter) {
        router.register(Self.subscribeOperation) { await self.subscribe($0) }
        router.register(Self.deferOperation) { await self.deferUpdate($0) }
    }

    /// Components with an open `SubscribeToComponentUpdates` stream.
    public var subscribedComponents: Set<String> {
        state.withLock { Set($0.subscribers.values.map(\.component)) }
    }

    func subscribe(_ call: IPCCall) async -> IPCReply {
        let component = call.principal
        guard await isDeployed(component) else {
            return .error(.resourceNotFound(
                "Component with given name not found currently in Greengrass", resourceType: "Component", resourceName: component))
        }
        let id = state.withLock { state in
            let id = state.nextID
            state.nextID += 1
            state.subscribers[id] = (component, call.stream)
            return id
        }
        call.stream.onTermination { [weak self] _ in self?.removeSubscriber(id) }
        return .streamOpened(shape: "aws.greengrass#SubscribeToComponentUpdatesResponse", json: Array("{}".utf8))
    }

    /// A component whose last stream ended can no longer answer: the waiting deployment stops waiting for it.
    private func removeSubscriber(_ id: UInt64) {
        state.withLock { state in
            guard let removed = state.subscribers.removeValue(forKey: id),
                !state.subscribers.values.contains(where: { $0.component == removed.component }),
                var waiting = state.waiting, waiting.awaited.remove(removed.component) != nil
            else { return }
            state.waiting = waiting
            waiting.signals.yield(.gone(component: removed.component))
        }
    }

    func deferUpdate(_ call: IPCCall) async -> IPCReply {
        do throws(IPCModeledError) {
            let request = try IPCJSON.decode(DeferComponentUpdateRequest.self, from: call.payload)
            let component = call.principal
            try state.withLock { state throws(IPCModeledError) in
                guard state.subscribers.values.contains(where: { $0.component == component }) else {
                    throw .invalidArguments("Component is not subscribed to component update events")
                }
                guard let deploymentID = request.deploymentId else {
                    throw .invalidArguments("Cannot defer the update, the deployment ID provided was null")
                }
                guard var waiting = state.waiting, waiting.deploymentID == deploymentID,
                    waiting.awaited.remove(component) != nil
                else {
                    throw .serviceError("Time limit to respond to PreComponentUpdateEvent exceeded")
                }
                state.waiting = waiting
                waiting.signals.yield(.answer(component: component, recheckAfterMs: max(0, request.recheckAfterMs ?? 0)))
            }
            return .response(shape: "aws.greengrass#DeferComponentUpdateResponse", json: Array("{}".utf8))
        } catch {
            return .error(error)
        }
    }

    /// What ``notifyAndWait(deploymentID:isGgcRestarting:timeout:clock:)`` found.
    public struct WaitResult: Sendable, Equatable {
        public var outcome: ComponentUpdateDeferral.Outcome
        public var notified: Set<String>
        public var deferrals: Int
    }

    /// Sends `PreComponentUpdateEvent` to every subscriber and waits as ``ComponentUpdateDeferral`` decides:
    /// never longer than `timeout`.
    public func notifyAndWait<C: Clock>(
        deploymentID: String, isGgcRestarting: Bool, timeout: Duration, clock: C
    ) async -> WaitResult where C.Duration == Duration {
        let (signals, continuation) = AsyncStream.makeStream(of: Signal.self)
        defer {
            state.withLock { $0.waiting = nil }
            continuation.finish()
        }
        let start = clock.now
        var machine = ComponentUpdateDeferral(timeout: timeout)
        var notified: Set<String> = []
        var iterator = signals.makeAsyncIterator()
        while true {
            let now = start.duration(to: clock.now)
            switch machine.next(now: now) {
            case .proceed(let outcome):
                return WaitResult(outcome: outcome, notified: notified, deferrals: machine.deferrals)
            case .sleep(let until):
                try? await clock.sleep(until: start.advanced(by: until), tolerance: nil)
                if Task.isCancelled { return WaitResult(outcome: .timedOut, notified: notified, deferrals: machine.deferrals) }
            case .notify:
                let subscribers = state.withLock { state in
                    let subscribers = Array(state.subscribers.values)
                    // Registered before the event goes out, so a fast answer is never "not waited for".
                    state.waiting = (deploymentID, Set(subscribers.map(\.component)), continuation)
                    return subscribers
                }
                let json = (try? IPCJSON.encode(ComponentUpdatePolicyEvents(
                    preUpdateEvent: PreComponentUpdateEvent(deploymentId: deploymentID, isGgcRestarting: isGgcRestarting)))) ?? []
                var reached: Set<String> = []
                for subscriber in subscribers {
                    if (try? await subscriber.stream.send(event: ComponentUpdatePolicyEvents.shape, json: json)) != nil {
                        reached.insert(subscriber.component)
                    }
                }
                notified.formUnion(reached)
                machine.beginRound(subscribers: reached)
                // Answers that arrived while the events went out are in `signals` already; a component whose
                // event could not be sent is not waited for.
                state.withLock { state in state.waiting?.awaited.formIntersection(reached) }
            case .awaitAnswers(let deadline):
                let timer = Task {
                    // Cancelled once an answer arrived: no tick then.
                    guard (try? await clock.sleep(until: start.advanced(by: deadline), tolerance: nil)) != nil else { return }
                    continuation.yield(.tick)
                }
                defer { timer.cancel() }
                guard let signal = await iterator.next() else {
                    return WaitResult(outcome: .timedOut, notified: notified, deferrals: machine.deferrals)
                }
                let at = start.duration(to: clock.now)
                switch signal {
                case .answer(let component, let recheckAfterMs): machine.answer(from: component, recheckAfterMs: recheckAfterMs, now: at)
                case .gone(let component): machine.subscriberGone(component)
                case .tick: break
                }
            }
        }
    }

    /// The deployment's update is done (or will not happen): `PostComponentUpdateEvent` to every subscriber.
    public func updateFinished(deploymentID: String) async {
        let streams = state.withLock { $0.subscribers.values.map(\.stream) }
        guard let json = try? IPCJSON.encode(ComponentUpdatePolicyEvents(postUpdateEvent: PostComponentUpdateEvent(deploymentId: deploymentID)))
        else { return }
        for stream in streams {
            try? await stream.send(event: ComponentUpdatePolicyEvents.shape, json: json)
        }
    }
}
