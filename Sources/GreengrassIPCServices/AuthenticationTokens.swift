import Synchronization

/// Issues and resolves the IPC auth tokens (`SVCUID` for components, the CLI's token file).
///
/// Tokens are 128 random bits from the system CSPRNG (`getrandom(2)` via `SystemRandomNumberGenerator`), rendered
/// as 32 lowercase hex characters; they exist only in memory and are re-issued at every nucleus start, as in
/// Greengrass. Re-issuing a principal's token revokes its previous one, so a removed or restarted component's old
/// token stops working.
public final class AuthenticationTokens: Sendable {
    private struct State {
        var principalByToken: [String: String] = [:]
        var tokenByPrincipal: [String: String] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// Returns a fresh token for `principal`, revoking any earlier one.
    public func issue(for principal: String) -> String {
        var generator = SystemRandomNumberGenerator()
        let token = Self.render(generator.next() as UInt64, generator.next() as UInt64)
        state.withLock { state in
            if let old = state.tokenByPrincipal[principal] { state.principalByToken[old] = nil }
            state.tokenByPrincipal[principal] = token
            state.principalByToken[token] = principal
        }
        return token
    }

    /// The token currently valid for `principal`, issuing one if there is none.
    public func token(for principal: String) -> String {
        if let existing = state.withLock({ $0.tokenByPrincipal[principal] }) { return existing }
        return issue(for: principal)
    }

    /// Revokes `principal`'s token (component removed).
    public func revoke(principal: String) {
        state.withLock { state in
            if let token = state.tokenByPrincipal.removeValue(forKey: principal) {
                state.principalByToken[token] = nil
            }
        }
    }

    /// The principal a token belongs to, or nil for an unknown or revoked token.
    public func principal(forToken token: String) -> String? {
        state.withLock { $0.principalByToken[token] }
    }

    static func render(_ high: UInt64, _ low: UInt64) -> String {
        func hex(_ value: UInt64) -> String {
            let digits = String(value, radix: 16)
            return String(repeating: "0", count: 16 - digits.count) + digits
        }
        return hex(high) + hex(low)
    }
}
