import EventStreamRPCServer
import GreengrassIPCModel
import GreengrassJSON
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Where component configurations live (the nucleus backs it with its store).
public protocol ComponentConfigurationStore: Sendable {
    /// The configuration of a deployed component, or nil if there is no such component.
    func configuration(of component: String) async -> JSONValue?
    /// Replaces a component's configuration.
    func setConfiguration(_ configuration: JSONValue, of component: String) async throws
}

/// What `UpdateState` needs from the supervisor.
public protocol ComponentStateReporting: Sendable {
    /// Applies a state a component reports about itself (RUNNING or ERRORED); false if not allowed now.
    func report(component: String, state: String) async -> Bool
}

/// `GetConfiguration`, `UpdateConfiguration`, `SubscribeToConfigurationUpdate`,
/// `SubscribeToValidateConfigurationUpdates`, `SendConfigurationValidityReport` and `UpdateState`, with the Java
/// nucleus's semantics (reference eventstream-rpc §8.2): any component may read any configuration, a component
/// updates only its own, never under `accessControl`, and an update older than the last one at that path is
/// rejected.
public final class ConfigurationOperations: Sendable {
    struct Subscription: Sendable {
        var subscriber: String
        var component: String
        var keyPath: [String]
        var stream: IPCStream
    }

    struct State: Sendable {
        var subscriptions: [UInt64: Subscription] = [:]
        var validators: [UInt64: (component: String, stream: IPCStream)] = [:]
        var nextID: UInt64 = 1
        /// Last accepted `UpdateConfiguration` timestamp per component and key path.
        var timestamps: [String: Double] = [:]
        /// Validations a deployment waits for, by ``ConfigurationOperations/reportKey(deploymentID:component:)``.
        var pendingReports: [String: AsyncStream<ValidityReport>.Continuation] = [:]
    }

    /// A component's answer to a `ValidateConfigurationUpdateEvents` event.
    struct ValidityReport: Sendable {
        var accepted: Bool
        var message: String?
    }

    private let store: any ComponentConfigurationStore
    private let states: any ComponentStateReporting
    private let onChange: @Sendable (String) async -> Void
    private let state = Mutex(State())

    /// - Parameter onChange: called after a component's configuration changed (the nucleus reloads
    ///   authorization policies from it).
    public init(
        store: any ComponentConfigurationStore, states: any ComponentStateReporting,
        onChange: @escaping @Sendable (String) async -> Void = { _ in }
    ) {
        self.store = store
        self.states = states
        self.onChange = onChange
    }

    public func register(on router: inout IPCRouter) {
        router.register(IPCOperationName.getConfiguration) { await self.getConfiguration($0) }
        router.register(IPCOperationName.updateConfiguration) { await self.updateConfiguration($0) }
        router.register(IPCOperationName.subscribeToConfigurationUpdate) { await self.subscribeToUpdates($0) }
        router.register(IPCOperationName.subscribeToValidateConfigurationUpdates) { await self.subscribeToValidation($0) }
        router.register(IPCOperationName.sendConfigurationValidityReport) { await self.validityReport($0) }
        router.register(IPCOperationName.updateState) { await self.updateState($0) }
    }

    // MARK: Requests

    struct GetRequest: Decodable { var componentName: String?; var keyPath: [String]? }
    struct GetResponse: Encodable { var componentName: String; var value: JSONValue }
    struct UpdateRequest: Decodable { var keyPath: [String]?; var timestamp: Double?; var valueToMerge: JSONValue? }
    struct SubscribeRequest: Decodable { var componentName: String?; var keyPath: [String]? }
    struct UpdateEvent: Encodable {
        struct Body: Encodable { var componentName: String; var keyPath: [String] }
        var configurationUpdateEvent: Body
    }
    struct ValidityReportRequest: Decodable {
        struct Report: Decodable { var status: String?; var deploymentId: String?; var message: String? }
        var configurationValidityReport: Report?
    }
    struct UpdateStateRequest: Decodable { var state: String? }

    func getConfiguration(_ call: IPCCall) async -> IPCReply {
        do throws(IPCModeledError) {
            let request = try IPCJSON.decode(GetRequest.self, from: call.payload)
            let component = request.componentName ?? call.principal
            guard let configuration = await store.configuration(of: component) else {
                throw .resourceNotFound("Component \(component) not found", resourceType: "Component", resourceName: component)
            }
            let keyPath = request.keyPath ?? []
            guard let node = configuration.value(at: JSONPointer(tokens: keyPath)) else {
                throw .resourceNotFound(
                    "Key \(keyPath.joined(separator: ".")) not found in the configuration of \(component)",
                    resourceType: "Configuration", resourceName: keyPath.joined(separator: "."))
            }
            // A leaf comes back as a one-entry object {leafName: value}, a container as itself (Java nucleus).
            let value: JSONValue = node.isContainer || keyPath.isEmpty ? node : .object([keyPath.last!: node])
            return .response(
                shape: "aws.greengrass#GetConfigurationResponse",
                json: try IPCJSON.encode(GetResponse(componentName: component, value: value)))
        } catch {
            return .error(error)
        }
    }

    func updateConfiguration(_ call: IPCCall) async -> IPCReply {
        do throws(IPCModeledError) {
            let request = try IPCJSON.decode(UpdateRequest.self, from: call.payload)
            guard let timestamp = request.timestamp else { throw .invalidArguments("timestamp is required") }
            guard let valueToMerge = request.valueToMerge, !valueToMerge.isNull else {
                throw .invalidArguments("valueToMerge is required")
            }
            let keyPath = request.keyPath ?? []
            if keyPath.first == "accessControl" || (keyPath.isEmpty && valueToMerge["accessControl"] != nil) {
                throw .invalidArguments("Config update is not allowed for following fields [accessControl]")
            }
            let component = call.principal
            guard var configuration = await store.configuration(of: component) else {
                throw .resourceNotFound("Component \(component) not found", resourceType: "Component", resourceName: component)
            }
            let timestampKey = component + "\u{0}" + keyPath.joined(separator: "\u{0}")
            let stale = state.withLock { state -> Bool in
                if let last = state.timestamps[timestampKey], timestamp < last { return true }
                state.timestamps[timestampKey] = timestamp
                return false
            }
            if stale {
                throw .failedUpdateConditionCheck("Proposed timestamp is older than the config's latest modified timestamp")
            }
            let pointer = JSONPointer(tokens: keyPath)
            var merged = configuration.value(at: pointer) ?? [:]
            if merged.isContainer, valueToMerge.isContainer { merged.merge(valueToMerge) } else { merged = valueToMerge }
            do {
                try configuration.setValue(merged, at: pointer, createIntermediates: true)
                try await store.setConfiguration(configuration, of: component)
            } catch {
                throw .serviceError("Cannot update the configuration of \(component): \(error)")
            }
            await onChange(component)
            await notify(component: component, changedPath: keyPath, value: valueToMerge)
            return .response(shape: "aws.greengrass#UpdateConfigurationResponse", json: Array("{}".utf8))
        } catch {
            return .error(error)
        }
    }

    func subscribeToUpdates(_ call: IPCCall) async -> IPCReply {
        do throws(IPCModeledError) {
            let request = try IPCJSON.decode(SubscribeRequest.self, from: call.payload)
            let component = request.componentName ?? call.principal
            guard await store.configuration(of: component) != nil else {
                throw .resourceNotFound("Component \(component) not found", resourceType: "Component", resourceName: component)
            }
            let id = state.withLock { state in
                let id = state.nextID
                state.nextID += 1
                state.subscriptions[id] = Subscription(
                    subscriber: call.principal, component: component, keyPath: request.keyPath ?? [], stream: call.stream)
                return id
            }
            call.stream.onTermination { [weak self] _ in _ = self?.state.withLock { $0.subscriptions.removeValue(forKey: id) } }
            return .streamOpened(shape: "aws.greengrass#SubscribeToConfigurationUpdateResponse", json: Array("{}".utf8))
        } catch {
            return .error(error)
        }
    }

    func subscribeToValidation(_ call: IPCCall) async -> IPCReply {
        let id = state.withLock { state in
            let id = state.nextID
            state.nextID += 1
            state.validators[id] = (call.principal, call.stream)
            return id
        }
        call.stream.onTermination { [weak self] _ in _ = self?.state.withLock { $0.validators.removeValue(forKey: id) } }
        return .streamOpened(shape: "aws.greengrass#SubscribeToValidateConfigurationUpdatesResponse", json: Array("{}".utf8))
    }

    func validityReport(_ call: IPCCall) async -> IPCReply {
        do throws(IPCModeledError) {
            let request = try IPCJSON.decode(ValidityReportRequest.self, from: call.payload)
            guard let report = request.configurationValidityReport, let status = report.status,
                status == "ACCEPTED" || status == "REJECTED"
            else {
                throw .invalidArguments("configurationValidityReport.status must be ACCEPTED or REJECTED")
            }
            guard let deploymentID = report.deploymentId else {
                throw .invalidArguments("configurationValidityReport.deploymentId is required")
            }
            let key = Self.reportKey(deploymentID: deploymentID, component: call.principal)
            guard let pending = state.withLock({ $0.pendingReports.removeValue(forKey: key) }) else {
                throw .invalidArguments("Validation request either timed out or was never made")
            }
            pending.yield(ValidityReport(accepted: status == "ACCEPTED", message: report.message))
            pending.finish()
            return .response(shape: "aws.greengrass#SendConfigurationValidityReportResponse", json: Array("{}".utf8))
        } catch {
            return .error(error)
        }
    }

    func updateState(_ call: IPCCall) async -> IPCReply {
        do throws(IPCModeledError) {
            let request = try IPCJSON.decode(UpdateStateRequest.self, from: call.payload)
            guard let reported = request.state, reported == "RUNNING" || reported == "ERRORED" else {
                throw .invalidArguments("state must be RUNNING or ERRORED")
            }
            guard await store.configuration(of: call.principal) != nil else {
                throw .resourceNotFound("Component \(call.principal) not found", resourceType: "Component", resourceName: call.principal)
            }
            _ = await states.report(component: call.principal, state: reported)
            return .response(shape: "aws.greengrass#UpdateStateResponse", json: Array("{}".utf8))
        } catch {
            return .error(error)
        }
    }

    // MARK: Deployment-time validation

    struct ValidateEvents: Encodable {
        struct Body: Encodable { var configuration: JSONValue; var deploymentId: String }
        var validateConfigurationUpdateEvent: Body
    }

    static func reportKey(deploymentID: String, component: String) -> String { deploymentID + "\u{0}" + component }

    /// Asks the components that subscribed with `SubscribeToValidateConfigurationUpdates` whether they accept the
    /// configuration a deployment proposes (component → new configuration), as the Java nucleus does before it
    /// merges a deployment: components without a validator are not asked; every asked one must answer with
    /// `SendConfigurationValidityReport` within `timeout`.
    ///
    /// - Returns: `nil` when every asked component accepted (or none was asked), else the failure message
    ///   Greengrass reports for the deployment.
    public func validateConfiguration<C: Clock>(
        deploymentID: String, proposals: [String: JSONValue], timeout: Duration, clock: C
    ) async -> String? where C.Duration == Duration {
        var waits: [(component: String, reports: AsyncStream<ValidityReport>)] = []
        var requested: [String] = []
        for (component, configuration) in proposals.sorted(by: { $0.key < $1.key }) {
            let validators = state.withLock { $0.validators.values.filter { $0.component == component }.map(\.stream) }
            guard !validators.isEmpty,
                let json = try? IPCJSON.encode(
                    ValidateEvents(validateConfigurationUpdateEvent: .init(configuration: configuration, deploymentId: deploymentID)))
            else { continue }
            let (reports, continuation) = AsyncStream.makeStream(of: ValidityReport.self, bufferingPolicy: .bufferingNewest(1))
            let key = Self.reportKey(deploymentID: deploymentID, component: component)
            // Registered before the event goes out, so a fast answer is never "not requested".
            state.withLock { $0.pendingReports[key] = continuation }
            requested.append(key)
            var delivered = false
            for validator in validators {
                if (try? await validator.send(event: "aws.greengrass#ValidateConfigurationUpdateEvents", json: json)) != nil {
                    delivered = true
                }
            }
            if delivered { waits.append((component, reports)) }
        }
        let keys = requested
        let abandon = { @Sendable [weak self] in
            guard let self else { return }
            for continuation in self.state.withLock({ state in keys.compactMap { state.pendingReports.removeValue(forKey: $0) } }) {
                continuation.finish()
            }
        }
        defer { abandon() }
        guard !waits.isEmpty else { return nil }

        let timer = Task {
            try? await clock.sleep(for: timeout)
            abandon()
        }
        defer { timer.cancel() }
        var silent: [String] = []
        var rejections: [String] = []
        for wait in waits {
            var iterator = wait.reports.makeAsyncIterator()
            guard let report = await iterator.next() else {
                silent.append(wait.component)
                continue
            }
            if !report.accepted { rejections.append("{ name = \(wait.component), message = \(report.message ?? "") }") }
        }
        if !silent.isEmpty {
            return "Error while waiting for validation report for one or more components: no report from "
                + silent.joined(separator: ", ") + " within \(timeout)"
        }
        if !rejections.isEmpty {
            return "Components reported that their to-be-deployed configuration is invalid " + rejections.joined(separator: " ")
        }
        return nil
    }

    // MARK: Notifications

    /// Tells subscribers whose key path overlaps the change (one is a prefix of the other).
    func notify(component: String, changedPath: [String], value: JSONValue) async {
        let targets = state.withLock { state in
            state.subscriptions.values.filter { subscription in
                subscription.component == component
                    && (subscription.keyPath.starts(with: changedPath) || changedPath.starts(with: subscription.keyPath))
            }
        }
        for target in targets {
            // Report the most specific path that changed inside what the subscriber watches.
            let path = target.keyPath.count > changedPath.count ? target.keyPath : changedPath
            let event = UpdateEvent(configurationUpdateEvent: .init(componentName: component, keyPath: path))
            guard let json = try? IPCJSON.encode(event) else { continue }
            try? await target.stream.send(event: "aws.greengrass#ConfigurationUpdateEvents", json: json)
        }
    }

    /// A deployment changed a component's configuration: tell its subscribers (the whole configuration changed).
    public func configurationReplaced(component: String) async {
        await notify(component: component, changedPath: [], value: .null)
    }
}
