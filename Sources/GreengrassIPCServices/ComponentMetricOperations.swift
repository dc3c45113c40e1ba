import EventStreamRPCServer
import GreengrassIPCModel
import Synchronization

/// The units the Java nucleus accepts for `PutComponentMetric` (its `TelemetryUnit`), matched as it matches
/// them: case-insensitively after dropping every non-alphanumeric character, so `BYTES_PER_SECOND`,
/// `BytesPerSecond` and `bytes-per-second` are one unit.
public enum ComponentMetricUnit: String, Sendable, CaseIterable {
    case bytes = "Bytes"
    case bytesPerSecond = "BytesPerSecond"
    case count = "Count"
    case countPerSecond = "CountPerSecond"
    case megabytes = "Megabytes"
    case none = "None"
    case percent = "Percent"
    case seconds = "Seconds"

    public init?(requested: String) {
        let key = String(requested.unicodeScalars.filter { $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0)) })
            .lowercased()
        guard let unit = Self.allCases.first(where: { $0.rawValue.lowercased() == key }) else { return nil }
        self = unit
    }
}

/// One metric a component put, after validation.
public struct ValidatedMetric: Sendable, Equatable {
    public var name: String
    public var unit: ComponentMetricUnit
    public var value: Double

    public init(name: String, unit: ComponentMetricUnit, value: Double) {
        self.name = name
        self.unit = unit
        self.value = value
    }
}

/// `PutComponentMetric` request validation, as `ComponentMetricIPCEventStreamAgent` does it: a non-empty list;
/// each name 1…32 UTF-8 bytes, a unit, a value ≥ 0 (else "Invalid argument found in PutComponentMetricRequest");
/// then the unit must be a known one.
public enum ComponentMetricValidation {
    public static let maximumNameBytes = 32

    public static func validate(_ request: PutComponentMetricRequest) throws(IPCModeledError) -> [ValidatedMetric] {
        guard let metrics = request.metrics, !metrics.isEmpty else {
            throw .invalidArguments("Null or Empty list of metrics found in PutComponentMetricRequest")
        }
        var validated: [ValidatedMetric] = []
        for metric in metrics {
            guard let name = metric.name, !name.isEmpty, name.utf8.count <= maximumNameBytes,
                let unitText = metric.unit, !unitText.isEmpty, let value = metric.value, value >= 0, value.isFinite
            else {
                throw .invalidArguments("Invalid argument found in PutComponentMetricRequest")
            }
            guard let unit = ComponentMetricUnit(requested: unitText) else {
                throw .invalidArguments("Invalid telemetry unit: No matching TelemetryUnit type found")
            }
            validated.append(ValidatedMetric(name: name, unit: unit, value: value))
        }
        return validated
    }
}

/// The latest value of each component's metrics, bounded: at most `maximumMetrics` (component, metric) pairs;
/// a new pair beyond that evicts the least recently put one. A later issue exposes them.
public struct ComponentMetricTable: Sendable, Equatable {
    public struct Key: Hashable, Sendable {
        public var component: String
        public var metric: String
    }

    public struct Entry: Sendable, Equatable {
        public var unit: ComponentMetricUnit
        public var value: Double
        public var timestampMs: Int64
        fileprivate var sequence: UInt64
    }

    public let maximumMetrics: Int
    public private(set) var entries: [Key: Entry] = [:]
    private var nextSequence: UInt64 = 0

    public init(maximumMetrics: Int = 1000) {
        self.maximumMetrics = max(1, maximumMetrics)
    }

    public mutating func put(component: String, _ metric: ValidatedMetric, timestampMs: Int64) {
        let key = Key(component: component, metric: metric.name)
        if entries[key] == nil, entries.count >= maximumMetrics,
            let oldest = entries.min(by: { $0.value.sequence < $1.value.sequence })?.key
        {
            entries[oldest] = nil
        }
        nextSequence += 1
        entries[key] = Entry(unit: metric.unit, value: metric.value, timestampMs: timestampMs, sequence: nextSequence)
    }

    public func latest(component: String, metric: String) -> Entry? {
        entries[Key(component: component, metric: metric)]
    }
}

/// `PutComponentMetric`: only components whose name starts with `aws.` may call it (as the Java nucleus), each
/// metric name must be allowed under `aws.greengrass.ipc.componentmetric` (`aws.greengrass.StreamManager` needs
/// no policy); accepted values are kept
/// (``ComponentMetricTable``) and handed to `onAccepted` (the nucleus logs them).
public final class ComponentMetricOperations: Sendable {
    public static let authorizationService = "aws.greengrass.ipc.componentmetric"
    static let operation = IPCOperationName.putComponentMetric
    static let streamManager = "aws.greengrass.StreamManager"

    private let authorizer: any IPCAuthorizer
    private let onAccepted: @Sendable (_ component: String, _ metric: ValidatedMetric) -> Void
    private let now: @Sendable () -> Int64
    private let table: Mutex<ComponentMetricTable>

    public init(
        authorizer: any IPCAuthorizer, maximumMetrics: Int = 1000, now: @escaping @Sendable () -> Int64,
        onAccepted: @escaping @Sendable (_ component: String, _ metric: ValidatedMetric) -> Void = { _, _ in }
    ) {
        self.authorizer = authorizer
        self.onAccepted = onAccepted
        self.now = now
        self.table = Mutex(ComponentMetricTable(maximumMetrics: maximumMetrics))
    }

    public func register(on router: inout IPCRouter) {
        router.register(Self.operation) { await self.put($0) }
    }

    /// The metrics kept so far.
    public var metrics: ComponentMetricTable { table.withLock { $0 } }

    func put(_ call: IPCCall) async -> IPCReply {
        do throws(IPCModeledError) {
            let component = call.principal
            guard component.hasPrefix("aws.") else {
                throw .unauthorized("Principal \(component) is not authorized to perform \(Self.authorizationService):\(Self.operation) ")
            }
            let request = try IPCJSON.decode(PutComponentMetricRequest.self, from: call.payload)
            let metrics = try ComponentMetricValidation.validate(request)
            // Stream Manager reports its own metrics without a policy (the Java nucleus's agent skips the check).
            for metric in metrics where component != Self.streamManager {
                guard await authorizer.isAuthorized(
                    principal: component, service: Self.authorizationService, operation: Self.operation, resource: metric.name)
                else {
                    throw .unauthorized(
                        "Principal \(component) is not authorized to perform \(Self.authorizationService):\(Self.operation) with metric name \(metric.name)")
                }
            }
            let timestamp = now()
            table.withLock { table in
                for metric in metrics { table.put(component: component, metric, timestampMs: timestamp) }
            }
            for metric in metrics { onAccepted(component, metric) }
            return .response(shape: "aws.greengrass#PutComponentMetricResponse", json: Array("{}".utf8))
        } catch {
            return .error(error)
        }
    }
}
