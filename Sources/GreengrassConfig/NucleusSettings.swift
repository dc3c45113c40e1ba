import GreengrassJSON

/// The typed view of the nucleus configuration tree (the Greengrass `config.yaml` shape):
/// `system.*`, `services.aws.greengrass.Nucleus.configuration.*` and `setenv`. Defaults are Greengrass's
/// (reference §3); every value is validated once, here, with an error naming the key.
public struct NucleusSettings: Sendable, Equatable {
    public static let nucleusComponentName = "aws.greengrass.Nucleus"

    public var thingName: String
    public var certificateFilePath: String?
    public var privateKeyPath: String?
    public var rootCaPath: String?
    public var iotDataEndpoint: String?
    public var awsRegion: String?
    public var mqtt: MQTTSettings
    public var logging: LoggingSettings
    public var defaultPosixUser: String?
    public var posixShell: String
    /// `runWithDefault.systemResourceLimits.memory` (KB) and `.cpus`: limits of components whose `runWith` sets none.
    public var defaultMemoryKilobytes: Int?
    public var defaultCpus: Double?
    public var interpolateComponentConfiguration: Bool
    public var platformOverride: [String: String]
    /// Global `setenv`: environment variables for every component.
    public var setenv: [String: String]
    /// Our extension: the bound on stopping everything at SIGTERM (systemd's `TimeoutStopSec` must exceed it).
    public var gracefulShutdownTimeoutSeconds: Int
    /// Our extension: how long a component's processes get between SIGTERM and SIGKILL when it stops.
    public var componentStopGracePeriodSeconds: Int

    public struct MQTTSettings: Sendable, Equatable {
        public var port: Int = 8883
        public var version: String = "mqtt5"
        public var keepAliveTimeoutMs: Int = 60_000
        public var pingTimeoutMs: Int = 30_000
        public var socketTimeoutMs: Int = 3_000
        public var operationTimeoutMs: Int = 30_000
        public var maxInFlightPublishes: Int = 5
        public var maxMessageSizeInBytes: Int = 131_072
        public var maxPublishRetry: Int = 100
        public var receiveMaximum: Int = 100
        public var sessionExpirySeconds: Int = 604_800
        public var minimumReconnectDelaySeconds: Double = 1
        public var maximumReconnectDelaySeconds: Double = 120
        public var spoolerMaxSizeInBytes: Int = 2_621_440
        public var spoolerKeepQos0WhenOffline: Bool = false
        public var spoolerStorageType: String = "Memory"
        /// Greengrass names the disk spooler plugin here (`aws.greengrass.DiskSpooler`); accepted for compatibility,
        /// the disk spool is built in.
        public var spoolerPluginName: String?

        /// `storageType: Disk` (any case): QoS 1 messages are spooled to disk before the component is answered.
        public var spoolerUsesDisk: Bool { spoolerStorageType.lowercased() == "disk" }
    }

    public struct LoggingSettings: Sendable, Equatable {
        public var level: String = "INFO"
        public var format: String = "TEXT"
        public var outputType: String = "FILE"
        public var fileSizeKB: Int = 1024
        public var totalLogsSizeKB: Int = 10_240
        public var outputDirectory: String?
    }

    /// Reads and validates the settings from a configuration tree. Missing keys take Greengrass's defaults.
    public init(tree: JSONValue) throws(ConfigurationError) {
        let reader = TreeReader(tree: tree)
        let system = ["system"]
        let nucleus = ["services", Self.nucleusComponentName, "configuration"]
        thingName = try reader.string(system + ["thingName"]) ?? "localDevice"
        certificateFilePath = try reader.string(system + ["certificateFilePath"])
        privateKeyPath = try reader.string(system + ["privateKeyPath"])
        rootCaPath = try reader.string(system + ["rootCaPath"])
        iotDataEndpoint = try reader.string(nucleus + ["iotDataEndpoint"])
        awsRegion = try reader.string(nucleus + ["awsRegion"])

        var mqtt = MQTTSettings()
        let mqttPath = nucleus + ["mqtt"]
        mqtt.port = try reader.int(mqttPath + ["port"], range: 1...65535) ?? mqtt.port
        if let version = try reader.string(mqttPath + ["version"]) {
            guard version == "mqtt5" || version == "mqtt3" else {
                throw reader.error(mqttPath + ["version"], "expected mqtt5 or mqtt3, got \"\(version)\"")
            }
            mqtt.version = version
        }
        mqtt.keepAliveTimeoutMs = try reader.int(mqttPath + ["keepAliveTimeoutMs"], range: 0...86_400_000) ?? mqtt.keepAliveTimeoutMs
        mqtt.pingTimeoutMs = try reader.int(mqttPath + ["pingTimeoutMs"], range: 1...86_400_000) ?? mqtt.pingTimeoutMs
        if mqtt.keepAliveTimeoutMs != 0 && mqtt.keepAliveTimeoutMs <= mqtt.pingTimeoutMs {
            throw reader.error(mqttPath + ["keepAliveTimeoutMs"], "must be greater than mqtt.pingTimeoutMs (\(mqtt.pingTimeoutMs)) unless 0")
        }
        mqtt.socketTimeoutMs = try reader.int(mqttPath + ["socketTimeoutMs"], range: 1...600_000) ?? mqtt.socketTimeoutMs
        mqtt.operationTimeoutMs = try reader.int(mqttPath + ["operationTimeoutMs"], range: 1...3_600_000) ?? mqtt.operationTimeoutMs
        mqtt.maxInFlightPublishes = min(100, try reader.int(mqttPath + ["maxInFlightPublishes"], range: 1...65535) ?? mqtt.maxInFlightPublishes)
        mqtt.maxMessageSizeInBytes = try reader.int(mqttPath + ["maxMessageSizeInBytes"], range: 1...268_435_455) ?? mqtt.maxMessageSizeInBytes
        mqtt.maxPublishRetry = try reader.int(mqttPath + ["maxPublishRetry"], range: -1...Int(Int32.max)) ?? mqtt.maxPublishRetry
        mqtt.receiveMaximum = try reader.int(mqttPath + ["receiveMaximum"], range: 1...65535) ?? mqtt.receiveMaximum
        mqtt.sessionExpirySeconds = try reader.int(mqttPath + ["sessionExpirySeconds"], range: 0...Int(UInt32.max)) ?? mqtt.sessionExpirySeconds
        mqtt.minimumReconnectDelaySeconds = try reader.double(mqttPath + ["minimumReconnectDelaySeconds"], minimum: 0) ?? mqtt.minimumReconnectDelaySeconds
        mqtt.maximumReconnectDelaySeconds = try reader.double(mqttPath + ["maximumReconnectDelaySeconds"], minimum: 0) ?? mqtt.maximumReconnectDelaySeconds
        if mqtt.maximumReconnectDelaySeconds < mqtt.minimumReconnectDelaySeconds {
            throw reader.error(mqttPath + ["maximumReconnectDelaySeconds"], "must not be below mqtt.minimumReconnectDelaySeconds")
        }
        mqtt.spoolerMaxSizeInBytes = try reader.int(mqttPath + ["spooler", "maxSizeInBytes"], range: 0...Int(Int32.max)) ?? mqtt.spoolerMaxSizeInBytes
        mqtt.spoolerKeepQos0WhenOffline = try reader.bool(mqttPath + ["spooler", "keepQos0WhenOffline"]) ?? mqtt.spoolerKeepQos0WhenOffline
        mqtt.spoolerStorageType = try reader.string(mqttPath + ["spooler", "storageType"]) ?? mqtt.spoolerStorageType
        mqtt.spoolerPluginName = try reader.string(mqttPath + ["spooler", "pluginName"])
        self.mqtt = mqtt

        var logging = LoggingSettings()
        let loggingPath = nucleus + ["logging"]
        if let level = try reader.string(loggingPath + ["level"]) {
            guard ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"].contains(level.uppercased()) else {
                throw reader.error(loggingPath + ["level"], "expected one of TRACE, DEBUG, INFO, WARN, ERROR, got \"\(level)\"")
            }
            logging.level = level.uppercased()
        }
        if let format = try reader.string(loggingPath + ["format"]) {
            guard ["TEXT", "JSON"].contains(format.uppercased()) else {
                throw reader.error(loggingPath + ["format"], "expected TEXT or JSON, got \"\(format)\"")
            }
            logging.format = format.uppercased()
        }
        if let output = try reader.string(loggingPath + ["outputType"]) {
            guard ["FILE", "CONSOLE"].contains(output.uppercased()) else {
                throw reader.error(loggingPath + ["outputType"], "expected FILE or CONSOLE, got \"\(output)\"")
            }
            logging.outputType = output.uppercased()
        }
        logging.fileSizeKB = try reader.int(loggingPath + ["fileSizeKB"], range: 1...Int(Int32.max)) ?? logging.fileSizeKB
        logging.totalLogsSizeKB = try reader.int(loggingPath + ["totalLogsSizeKB"], range: 1...Int(Int32.max)) ?? logging.totalLogsSizeKB
        logging.outputDirectory = try reader.string(loggingPath + ["outputDirectory"])
        self.logging = logging

        defaultPosixUser = try reader.string(nucleus + ["runWithDefault", "posixUser"])
        posixShell = try reader.string(nucleus + ["runWithDefault", "posixShell"]) ?? "sh"
        let limits = nucleus + ["runWithDefault", "systemResourceLimits"]
        defaultMemoryKilobytes = try reader.int(limits + ["memory"], range: 1...Int(Int64.max / 1024))
        defaultCpus = try reader.double(limits + ["cpus"], minimum: 0)
        interpolateComponentConfiguration = try reader.bool(nucleus + ["interpolateComponentConfiguration"]) ?? false
        platformOverride = try reader.stringMap(nucleus + ["platformOverride"])
        setenv = try reader.stringMap(["setenv"])
        gracefulShutdownTimeoutSeconds = try reader.int(nucleus + ["gracefulShutdownTimeoutSeconds"], range: 1...3600) ?? 60
        componentStopGracePeriodSeconds = try reader.int(nucleus + ["componentStopGracePeriodSeconds"], range: 0...600) ?? 5
    }
}

/// A configuration value that is missing, mistyped or out of range.
public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// Dotted key path, e.g. `services.aws.greengrass.Nucleus.configuration.mqtt.port`.
    public var key: String
    public var reason: String
    /// The file, line and column the value came from, when known (filled in by the loader).
    public var file: String?
    public var line: Int?
    public var column: Int?

    public init(key: String, reason: String, file: String? = nil, line: Int? = nil, column: Int? = nil) {
        self.key = key
        self.reason = reason
        self.file = file
        self.line = line
        self.column = column
    }

    public var description: String {
        let location = [file, line.map(String.init), line.flatMap { _ in column.map(String.init) }]
            .compactMap { $0 }.joined(separator: ":")
        return (location.isEmpty ? "" : location + ": ") + "\(key): \(reason)"
    }
}

/// Typed lookups in a JSON tree, with errors naming the dotted key.
struct TreeReader {
    let tree: JSONValue

    func value(_ path: [String]) -> JSONValue? {
        var node = tree
        for key in path {
            guard let next = node[key], !next.isNull else { return nil }
            node = next
        }
        return node
    }

    func error(_ path: [String], _ reason: String) -> ConfigurationError {
        ConfigurationError(key: path.joined(separator: "."), reason: reason)
    }

    func string(_ path: [String]) throws(ConfigurationError) -> String? {
        guard let value = value(path) else { return nil }
        switch value {
        case .string(let text): return text
        case .int, .double, .bool: return value.plainText
        default: throw error(path, "expected a string, got \(value.kindName)")
        }
    }

    func int(_ path: [String], range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
        guard let value = value(path) else { return nil }
        let number: Int?
        switch value {
        case .string(let text): number = Int(text)
        default: number = value.intValue
        }
        guard let number else { throw error(path, "expected an integer, got \(value.kindName) \(value.serialized())") }
        guard range.contains(number) else {
            throw error(path, "\(number) is out of range \(range.lowerBound)...\(range.upperBound)")
        }
        return number
    }

    func double(_ path: [String], minimum: Double) throws(ConfigurationError) -> Double? {
        guard let value = value(path) else { return nil }
        let number: Double?
        switch value {
        case .string(let text): number = Double(text)
        default: number = value.doubleValue
        }
        guard let number, number.isFinite else { throw error(path, "expected a number, got \(value.kindName) \(value.serialized())") }
        guard number >= minimum else { throw error(path, "\(number) is below the minimum \(minimum)") }
        return number
    }

    func bool(_ path: [String]) throws(ConfigurationError) -> Bool? {
        guard let value = value(path) else { return nil }
        switch value {
        case .bool(let flag): return flag
        case .string(let text) where text.lowercased() == "true": return true
        case .string(let text) where text.lowercased() == "false": return false
        default: throw error(path, "expected true or false, got \(value.kindName) \(value.serialized())")
        }
    }

    func stringMap(_ path: [String]) throws(ConfigurationError) -> [String: String] {
        guard let value = value(path) else { return [:] }
        guard let object = value.objectValue else { throw error(path, "expected a map, got \(value.kindName)") }
        var result: [String: String] = [:]
        for (key, member) in object {
            guard let text = try string(path + [key]) else { continue }
            _ = member
            result[key] = text
        }
        return result
    }
}

extension NucleusSettings {
    /// The configuration keys whose new value differs from `previous` and that only take effect when the nucleus
    /// restarts (everything except `logging.level`, which a SIGHUP reload applies at once). Used to tell the
    /// operator, after a reload, what is still running with the old value.
    public func changesRequiringRestart(since previous: NucleusSettings) -> [String] {
        var changed: [String] = []
        func check<Value: Equatable>(_ key: String, _ keyPath: KeyPath<NucleusSettings, Value>) {
            if self[keyPath: keyPath] != previous[keyPath: keyPath] { changed.append(key) }
        }
        check("system.thingName", \.thingName)
        check("system.certificateFilePath", \.certificateFilePath)
        check("system.privateKeyPath", \.privateKeyPath)
        check("system.rootCaPath", \.rootCaPath)
        check("iotDataEndpoint", \.iotDataEndpoint)
        check("awsRegion", \.awsRegion)
        check("mqtt", \.mqtt)
        check("logging.format", \.logging.format)
        check("logging.outputType", \.logging.outputType)
        check("logging.fileSizeKB", \.logging.fileSizeKB)
        check("logging.totalLogsSizeKB", \.logging.totalLogsSizeKB)
        check("logging.outputDirectory", \.logging.outputDirectory)
        check("runWithDefault.posixUser", \.defaultPosixUser)
        check("runWithDefault.posixShell", \.posixShell)
        check("interpolateComponentConfiguration", \.interpolateComponentConfiguration)
        check("platformOverride", \.platformOverride)
        check("setenv", \.setenv)
        check("gracefulShutdownTimeoutSeconds", \.gracefulShutdownTimeoutSeconds)
        check("componentStopGracePeriodSeconds", \.componentStopGracePeriodSeconds)
        return changed
    }
}
