import GreengrassJSON

/// Every `accessControl` policy in force, indexed for lookup, plus what was wrong with the ones that were not loaded.
///
/// A pure value: build it from the components' configurations (``init(configurations:thingName:builtInPolicies:catalog:)``)
/// and ask ``isAuthorized(principal:service:operation:resource:)``. Policies only ever allow (there is no deny);
/// the union of all of them is in force.
public struct AuthorizationPolicies: Sendable {
    /// The services and operations policies may name.
    public let catalog: AuthorizationServiceCatalog
    /// The thing name substituted for `{iot:thingName}` in configured resources.
    public private(set) var thingName: String?
    /// The policies in force, in load order (built-in first, then components by name, services and ids sorted).
    public private(set) var policies: [AuthorizationPolicy] = []
    /// Problems found while loading; each names the component, service, policy id and field.
    public private(set) var issues: [AuthorizationPolicyIssue] = []
    /// service → principal → operation → indexes into `policies`.
    private var index: [String: [String: [String: [Int]]]] = [:]

    /// The operation and principal wildcard.
    public static let any = "*"

    /// Policies given directly (e.g. built-in grants); invalid ones are reported in ``issues`` and skipped.
    public init(policies: [AuthorizationPolicy], catalog: AuthorizationServiceCatalog = .greengrass) {
        self.catalog = catalog
        for policy in policies { add(policy, component: policy.principal) }
    }

    /// Loads the `accessControl` member of every component's configuration.
    ///
    /// - Parameters:
    ///   - configurations: component name → that component's `configuration` object. `accessControl` may be an
    ///     object or a string holding JSON (Greengrass accepts both).
    ///   - thingName: substituted for `{iot:thingName}` in resources.
    ///   - builtInPolicies: grants that do not come from any configuration (kept across reloads by the engine).
    public init(
        configurations: [String: JSONValue],
        thingName: String? = nil,
        builtInPolicies: [AuthorizationPolicy] = [],
        catalog: AuthorizationServiceCatalog = .greengrass
    ) {
        self.init(policies: builtInPolicies, catalog: catalog)
        self.thingName = thingName
        var owners: [String: [String: String]] = [:]  // service → policy id → first component using it
        for (component, configuration) in configurations.sorted(by: { $0.key < $1.key }) {
            guard let accessControl = Self.accessControl(of: configuration, component: component, issues: &issues) else { continue }
            for (service, table) in accessControl.sorted(by: { $0.key < $1.key }) {
                guard let policies = serviceTable(table, component: component, service: service) else { continue }
                for (policyID, body) in policies.sorted(by: { $0.key < $1.key }) {
                    guard let policy = parsePolicy(body, id: policyID, component: component, service: service) else { continue }
                    if let owner = owners[service]?[policyID] {
                        issues.append(AuthorizationPolicyIssue(
                            component: component, service: service, policyID: policyID,
                            problem: "policy id is also used by component \(owner); policy ids should be unique", effect: .reportedOnly))
                    } else {
                        owners[service, default: [:]][policyID] = component
                    }
                    add(policy, component: component)
                }
            }
        }
    }

    // MARK: Decisions

    /// The first policy that allows the call, searching (principal, operation), (principal, `*`),
    /// (`*`, operation), (`*`, `*`) in that order as Greengrass does; nil when the call is denied.
    ///
    /// - Parameter resource: the topic, component name, … the call acts on; nil for calls that have none.
    ///   An empty resource is never allowed.
    public func authorizingPolicy(principal: String, service: String, operation: String, resource: String?) -> AuthorizationPolicy? {
        authorizingPosition(principal: principal, service: service, operation: operation, resource: resource).map { policies[$0] }
    }

    /// Whether `principal` may call `operation` of `service` on `resource`.
    public func isAuthorized(principal: String, service: String, operation: String, resource: String?) -> Bool {
        // Asked on every IPC call: answered without copying the policy out.
        authorizingPosition(principal: principal, service: service, operation: operation, resource: resource) != nil
    }

    /// Where in `policies` the policy that allows the call is.
    private func authorizingPosition(principal: String, service: String, operation: String, resource: String?) -> Int? {
        guard !principal.isEmpty, !operation.isEmpty, operation != Self.any,
            let registered = catalog.operations[service], registered.contains(operation),
            let byPrincipal = index[service]
        else { return nil }
        let style = catalog.matchingStyle(for: service)
        func allowing(_ who: String, _ what: String) -> Int? {
            byPrincipal[who]?[what]?.first { policies[$0].allows(resource: resource, style: style) }
        }
        // Most specific first; spelled out rather than looped over an array literal, which allocates per call.
        return allowing(principal, operation) ?? allowing(principal, Self.any) ?? allowing(Self.any, operation)
            ?? allowing(Self.any, Self.any)
    }

    /// The `UnauthorizedError` message for a denied call, worded as the Greengrass nucleus words it
    /// (a call without a resource reads `on resource null`, as in Java).
    public static func denialMessage(principal: String, service: String, operation: String, resource: String?) -> String {
        "Principal \(principal) is not authorized to perform \(service):\(operation) on resource \(resource ?? "null")"
    }

    // MARK: Loading

    private mutating func add(_ policy: AuthorizationPolicy, component: String) {
        func skip(_ problem: String, field: String) {
            issues.append(AuthorizationPolicyIssue(
                component: component, service: policy.service, policyID: policy.policyID, field: field,
                problem: problem, effect: .policySkipped))
        }
        guard let registered = catalog.operations[policy.service] else {
            return skip("unknown IPC service \(policy.service)", field: "service")
        }
        if policy.principal.isEmpty { return skip("principal is empty", field: "principal") }
        if policy.operations.isEmpty { return skip("operations is empty", field: "operations") }
        for operation in policy.operations.sorted() where operation != Self.any && !registered.contains(operation) {
            return skip(
                "operation \(operation) is not registered with service \(policy.service) "
                    + "(valid: \(registered.sorted().joined(separator: ", ")), *)",
                field: "operations")
        }
        policies.append(policy)
        for operation in policy.operations {
            index[policy.service, default: [:]][policy.principal, default: [:]][operation, default: []].append(policies.count - 1)
        }
    }

    /// The `accessControl` object of one configuration, or nil (with an issue when it exists but is unusable).
    private static func accessControl(
        of configuration: JSONValue,
        component: String,
        issues: inout [AuthorizationPolicyIssue]
    ) -> [String: JSONValue]? {
        guard let members = configuration.objectValue else { return nil }
        // Greengrass configuration keys are case-insensitive.
        let value = members["accessControl"] ?? members.first { $0.key.lowercased() == "accesscontrol" }?.value
        func ignored(_ problem: String) -> [String: JSONValue]? {
            issues.append(AuthorizationPolicyIssue(component: component, problem: problem, effect: .accessControlIgnored))
            return nil
        }
        switch value {
        case nil, .null?:
            return nil
        case .object(let object)?:
            return object
        case .string(let text)?:
            do {
                guard let object = try JSONValue(parsing: text, options: JSONParsingOptions(maximumDepth: 16, maximumInputSize: 1 << 20)).objectValue
                else { return ignored("accessControl string is JSON but not an object") }
                return object
            } catch {
                return ignored("accessControl string is not valid JSON: \(error)")
            }
        case let other?:
            return ignored("accessControl must be an object (or a JSON string), found \(other.kindName)")
        }
    }

    /// `accessControl.<service>`: policy id → policy object.
    private mutating func serviceTable(_ value: JSONValue, component: String, service: String) -> [String: JSONValue]? {
        func ignored(_ problem: String) -> [String: JSONValue]? {
            issues.append(AuthorizationPolicyIssue(component: component, service: service, problem: problem, effect: .serviceIgnored))
            return nil
        }
        guard case .object(let policies) = value else {
            return ignored("must be an object of policy id → policy, found \(value.kindName)")
        }
        guard catalog.operations[service] != nil else {
            return ignored("unknown IPC service (known: \(catalog.operations.keys.sorted().joined(separator: ", ")))")
        }
        return policies
    }

    /// One policy object; nil (with an issue) when it cannot be used.
    private mutating func parsePolicy(_ value: JSONValue, id: String, component: String, service: String) -> AuthorizationPolicy? {
        func issue(_ problem: String, field: String? = nil, _ effect: AuthorizationPolicyIssue.Effect) {
            issues.append(AuthorizationPolicyIssue(
                component: component, service: service, policyID: id, field: field, problem: problem, effect: effect))
        }
        if id.isEmpty {
            issue("policy id is empty", .policySkipped)
            return nil
        }
        guard case .object(let members) = value else {
            issue("policy must be an object with operations and resources, found \(value.kindName)", .policySkipped)
            return nil
        }
        // Field names are case-insensitive, as Greengrass's policy parser reads them.
        var operationsValue: JSONValue?
        var resourcesValue: JSONValue?
        var description: String?
        for (key, member) in members.sorted(by: { $0.key < $1.key }) {
            switch key.lowercased() {
            case "operations": operationsValue = member
            case "resources": resourcesValue = member
            case "policydescription":
                if case .string(let text) = member {
                    description = text
                } else if !member.isNull {
                    issue("policyDescription must be a string, found \(member.kindName)", field: key, .reportedOnly)
                }
            default: issue("unknown field", field: key, .reportedOnly)
            }
        }
        guard let operations = parseOperations(operationsValue, issue: { problem, field in issue(problem, field: field, .policySkipped) })
        else { return nil }
        var resources: [ResourcePattern]?
        switch resourcesValue {
        case nil, .null?:
            resources = nil
        case .array(let items)?:
            resources = []
            for (position, item) in items.enumerated() {
                let field = "resources[\(position)]"
                guard case .string(let text) = item else {
                    issue("resource must be a string, found \(item.kindName)", field: field, .resourceSkipped)
                    continue
                }
                do {
                    resources?.append(try ResourcePattern(text, thingName: thingName))
                } catch {
                    issue("'\(text)': \(error)", field: field, .resourceSkipped)
                }
            }
            // Greengrass treats an empty list like a missing one.
            if items.isEmpty { resources = nil }
        case let other?:
            issue("resources must be a list of strings, found \(other.kindName)", field: "resources", .policySkipped)
            return nil
        }
        return AuthorizationPolicy(
            policyID: id, principal: component, service: service, policyDescription: description,
            operations: operations, resources: resources)
    }

    private func parseOperations(_ value: JSONValue?, issue: (String, String) -> Void) -> Set<String>? {
        guard let value, !value.isNull else {
            issue("operations is missing", "operations")
            return nil
        }
        guard case .array(let items) = value else {
            issue("operations must be a list of operation names, found \(value.kindName)", "operations")
            return nil
        }
        if items.isEmpty {
            issue("operations is empty", "operations")
            return nil
        }
        var operations: Set<String> = []
        for (position, item) in items.enumerated() {
            guard case .string(let name) = item, !name.isEmpty else {
                issue("operation must be a non-empty string, found \(item.kindName == "string" ? "an empty string" : item.kindName)",
                      "operations[\(position)]")
                return nil
            }
            operations.insert(name)
        }
        return operations
    }
}
