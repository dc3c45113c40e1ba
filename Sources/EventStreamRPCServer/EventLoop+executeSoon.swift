import NIOCore

extension EventLoop {
    /// Runs `body` now if already on this loop, else schedules it — saves a hop when a handler's continuation
    /// happens to resume on its connection's loop thread.
    func executeSoon(_ body: @escaping @Sendable () -> Void) {
        if inEventLoop { body() } else { execute(body) }
    }
}
