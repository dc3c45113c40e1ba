/// Polls `condition` every `interval` of `clock` until it holds or `timeout` has passed on that clock; returns
/// whether it held. Bounded in time by the deadline and in polls by `timeout / interval`, so even a clock that
/// barely moves cannot keep it polling forever. The one polling wait every test target uses.
public func eventually<C: Clock>(
    timeout: Duration = .seconds(30),
    every interval: Duration = .milliseconds(20),
    clock: C = ContinuousClock(),
    _ condition: () async throws -> Bool
) async rethrows -> Bool where C.Duration == Duration {
    let deadline = clock.now.advanced(by: timeout)
    let polls = max(1, Int((timeout / interval).rounded(.up)))
    for _ in 0..<polls {
        if try await condition() { return true }
        if clock.now >= deadline { break }
        try? await clock.sleep(for: interval)
    }
    return try await condition()
}
