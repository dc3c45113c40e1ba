import GreengrassJSON
import Synchronization

/// The live authorization state of the nucleus: the current ``AuthorizationPolicies`` behind a lock.
///
/// The nucleus calls ``update(configurations:)`` whenever a deployment (or `--update-config`) changes any
/// component's `accessControl`; the new policies replace the old ones in one step, so the very next IPC call is
/// decided by the new configuration — no restart, and no call ever sees a half-loaded policy set.
public final class AuthorizationEngine: Sendable {
    private let state: Mutex<AuthorizationPolicies>
    private let thingName: String?
    private let builtInPolicies: [AuthorizationPolicy]
    private let catalog: AuthorizationServiceCatalog

    /// Creates the engine and loads the initial configurations.
    ///
    /// - Parameters:
    ///   - configurations: component name → its `configuration` (only `accessControl` is read).
    ///   - thingName: replaces `{iot:thingName}` in resources.
    ///   - builtInPolicies: grants that are always in force, whatever the configurations say (for example
    ///     `*`/`*` on pub/sub for `greengrass-cli#…` identities, as the Greengrass CLI component injects).
    ///   - catalog: the services and operations policies may name.
    public init(
        configurations: [String: JSONValue] = [:],
        thingName: String? = nil,
        builtInPolicies: [AuthorizationPolicy] = [],
        catalog: AuthorizationServiceCatalog = .greengrass
    ) {
        self.thingName = thingName
        self.builtInPolicies = builtInPolicies
        self.catalog = catalog
        state = Mutex(AuthorizationPolicies(
            configurations: configurations, thingName: thingName, builtInPolicies: builtInPolicies, catalog: catalog))
    }

    /// Replaces every policy with the ones in `configurations` (the complete set of component configurations,
    /// not a delta) and returns the problems found, for the caller to log.
    @discardableResult
    public func update(configurations: [String: JSONValue]) -> [AuthorizationPolicyIssue] {
        // Parse outside the lock: callers deciding IPC calls never wait for a reload.
        let loaded = AuthorizationPolicies(
            configurations: configurations, thingName: thingName, builtInPolicies: builtInPolicies, catalog: catalog)
        state.withLock { $0 = loaded }
        return loaded.issues
    }

    /// The policies currently in force (a snapshot).
    public var policies: AuthorizationPolicies {
        state.withLock { $0 }
    }

    /// Whether `principal` may call `operation` of `service` on `resource` under the current policies.
    public func isAuthorized(principal: String, service: String, operation: String, resource: String?) -> Bool {
        state.withLock { $0.isAuthorized(principal: principal, service: service, operation: operation, resource: resource) }
    }

    /// The policy that allows the call under the current policies, or nil when it is denied (for access logs).
    public func authorizingPolicy(principal: String, service: String, operation: String, resource: String?) -> AuthorizationPolicy? {
        state.withLock {
            $0.authorizingPolicy(principal: principal, service: service, operation: operation, resource: resource)
        }
    }

    /// The Greengrass `UnauthorizedError` message for a denied call; see ``AuthorizationPolicies/denialMessage(principal:service:operation:resource:)``.
    public func denialMessage(principal: String, service: String, operation: String, resource: String?) -> String {
        AuthorizationPolicies.denialMessage(principal: principal, service: service, operation: operation, resource: resource)
    }
}
