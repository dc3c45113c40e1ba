import GreengrassConfig
import GreengrassDeployment
import GreengrassJSON
import GreengrassLogFormat
import GreengrassLogging
import GreengrassStore
import Logging

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Where the nucleus keeps its configuration tree in the store.
enum NucleusConfigurationStore {
    static let documentName = "nucleus"
}

/// The configuration files: `--config` (or `<root>/config/config.yaml`) merged into the persisted tree at start-up
/// and on SIGHUP, and `effectiveConfig.yaml` written from it.
enum ConfigurationFiles {
    /// Persisted configuration, with `--config` merged on top (and saved) when given.
    static func load(options: NucleusOptions, store: NucleusStore, paths: NucleusPaths) throws -> JSONValue {
        let persisted = try? store.document(named: NucleusConfigurationStore.documentName)
        // Like the Java nucleus, a first start without --config takes `<root>/config/config.yaml` when present
        // (scripts/install.sh --init-config puts it there).
        let initialFile = paths.configDirectory + "/config.yaml"
        let configFile = options.configFile ?? (persisted == nil && FileManager.default.fileExists(atPath: initialFile) ? initialFile : nil)
        let tree = try merged(persisted: persisted, file: configFile, paths: paths)
        // An unchanged configuration (every restart without --config) costs no store commit and no fsync.
        if tree != persisted {
            try save(tree, store: store, paths: paths)
        } else {
            EffectiveConfiguration.write(tree, to: paths.effectiveConfig)
        }
        return tree
    }

    /// `persisted` with `file` (config.yaml shape) merged on top; validates nothing beyond the file's own shape.
    static func merged(persisted: JSONValue?, file: String?, paths: NucleusPaths) throws -> JSONValue {
        var tree = persisted ?? [:]
        if let file {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw NucleusStartupError("Cannot read the configuration file \(file)")
            }
            do {
                tree = try ConfigurationFile.merge(bytes: data, fileName: file, onto: tree)
            } catch {
                throw NucleusStartupError("Invalid configuration: \(error)")
            }
        }
        if tree.objectValue == nil { tree = [:] }
        try? tree.setValue(.string(paths.root), at: JSONPointer(tokens: ["system", "rootpath"]), createIntermediates: true)
        return tree
    }

    static func save(_ tree: JSONValue, store: NucleusStore, paths: NucleusPaths) throws {
        do {
            try store.setDocument(tree, named: NucleusConfigurationStore.documentName)
        } catch {
            throw NucleusStartupError("Cannot save the configuration: \(error)")
        }
        EffectiveConfiguration.write(tree, to: paths.effectiveConfig)
    }

    /// SIGHUP: merges the configuration file again (`--config`, else `<root>/config/config.yaml` when present)
    /// into the persisted configuration and applies what can change while running: the log level, access-control
    /// policies, `effectiveConfig.yaml`. A bad file changes nothing. Returns the systemd status line.
    /// SIGHUP: merges the configuration file again (`--config`, else `<root>/config/config.yaml` when present)
    /// into the persisted configuration and applies what can change while running: the log level, access-control
    /// policies, `effectiveConfig.yaml`. A bad file changes nothing. Returns the systemd status line.
    static func reload(
        options: NucleusOptions, store: NucleusStore, paths: NucleusPaths, running: NucleusSettings,
        logFiles: GreengrassLogFiles, onReloaded: () -> Void, logger: Logger
    ) -> String {
        let initialFile = paths.configDirectory + "/config.yaml"
        let file = options.configFile ?? (FileManager.default.fileExists(atPath: initialFile) ? initialFile : nil)
        logger.info("Reloading the configuration", metadata: ["eventType": "config-reload", "file": "\(file ?? "none")"])
        let reloaded: NucleusSettings
        do {
            let persisted = try? store.document(named: NucleusConfigurationStore.documentName)
            let tree = try merged(persisted: persisted, file: file, paths: paths)
            do {
                reloaded = try NucleusSettings(tree: tree)
            } catch {
                throw NucleusStartupError("Invalid configuration: \(error)")
            }
            try save(tree, store: store, paths: paths)
        } catch {
            logger.error(
                "Configuration reload failed; the previous configuration stays in effect: \(error)",
                metadata: ["eventType": "config-reload-failed"])
            return "Reload failed: \(error)"
        }
        logFiles.setLevel(GreengrassLogLevel(rawValue: reloaded.logging.level) ?? .info)
        logger.debug(
            "Settings in effect after the reload",
            metadata: ["eventType": "config-reload-settings", "thingName": "\(reloaded.thingName)",
                       "iotDataEndpoint": "\(reloaded.iotDataEndpoint ?? "none")", "logging": "\(reloaded.logging)"])
        onReloaded()
        let pending = reloaded.changesRequiringRestart(since: running)
        if !pending.isEmpty {
            logger.warning(
                "Changed settings take effect at the next nucleus restart: \(pending.joined(separator: ", "))",
                metadata: ["eventType": "config-reload-pending-restart"])
        }
        logger.info("Configuration reloaded", metadata: ["eventType": "config-reloaded", "level": "\(reloaded.logging.level)"])
        return "Configuration reloaded" + (pending.isEmpty ? "" : "; at next restart: " + pending.joined(separator: ", "))
    }

    /// The `logging` settings as the log files take them.
    static func logConfiguration(_ settings: NucleusSettings, _ paths: NucleusPaths) -> GreengrassLogConfiguration {
        var configuration = GreengrassLogConfiguration(rootPath: paths.root)
        configuration.outputDirectory = settings.logging.outputDirectory ?? paths.logsDirectory
        configuration.level = GreengrassLogLevel(rawValue: settings.logging.level) ?? .info
        configuration.format = settings.logging.format == "JSON" ? .json : .text
        configuration.outputType = settings.logging.outputType == "CONSOLE" ? .console : .file
        configuration.fileSizeKB = settings.logging.fileSizeKB
        configuration.totalLogsSizeKB = settings.logging.totalLogsSizeKB
        return configuration
    }
}
