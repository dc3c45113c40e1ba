import GreengrassConfig
import GreengrassJSON
import Testing

@Suite("Nucleus configuration")
struct NucleusSettingsTests {
    @Test func defaultsMatchGreengrass() throws {
        let settings = try NucleusSettings(tree: [:])
        #expect(settings.mqtt.port == 8883)
        #expect(settings.mqtt.version == "mqtt5")
        #expect(settings.mqtt.keepAliveTimeoutMs == 60_000)
        #expect(settings.mqtt.spoolerMaxSizeInBytes == 2_621_440)
        #expect(settings.logging.fileSizeKB == 1024)
        #expect(settings.logging.totalLogsSizeKB == 10_240)
        #expect(settings.logging.level == "INFO")
        #expect(settings.posixShell == "sh")
        #expect(settings.defaultPosixUser == nil)
        #expect(settings.gracefulShutdownTimeoutSeconds == 60)
        #expect(settings.componentStopGracePeriodSeconds == 5)
    }

    @Test("spooler: Memory by default; storageType Disk (any case) selects the disk spool; pluginName is accepted")
    func spoolerStorageType() throws {
        let spooler = ["services", "aws.greengrass.Nucleus", "configuration", "mqtt", "spooler"]
        #expect(try NucleusSettings(tree: [:]).mqtt.spoolerUsesDisk == false)
        var tree: JSONValue = [:]
        try tree.setValue("Disk", at: JSONPointer(tokens: spooler + ["storageType"]), createIntermediates: true)
        try tree.setValue("aws.greengrass.DiskSpooler", at: JSONPointer(tokens: spooler + ["pluginName"]), createIntermediates: true)
        try tree.setValue(104_857_600, at: JSONPointer(tokens: spooler + ["maxSizeInBytes"]), createIntermediates: true)
        try tree.setValue(true, at: JSONPointer(tokens: spooler + ["keepQos0WhenOffline"]), createIntermediates: true)
        let settings = try NucleusSettings(tree: tree)
        #expect(settings.mqtt.spoolerUsesDisk)
        #expect(settings.mqtt.spoolerPluginName == "aws.greengrass.DiskSpooler")
        #expect(settings.mqtt.spoolerMaxSizeInBytes == 104_857_600)
        #expect(settings.mqtt.spoolerKeepQos0WhenOffline)
        try tree.setValue("disk", at: JSONPointer(tokens: spooler + ["storageType"]), createIntermediates: true)
        #expect(try NucleusSettings(tree: tree).mqtt.spoolerUsesDisk)
        try tree.setValue("Memory", at: JSONPointer(tokens: spooler + ["storageType"]), createIntermediates: true)
        #expect(try NucleusSettings(tree: tree).mqtt.spoolerUsesDisk == false)
    }

    @Test func reloadReportsWhatNeedsARestartButNotTheLogLevel() throws {
        let nucleus = ["services", "aws.greengrass.Nucleus", "configuration"]
        var tree: JSONValue = [:]
        let before = try NucleusSettings(tree: tree)
        #expect(before.changesRequiringRestart(since: before).isEmpty)

        try tree.setValue("DEBUG", at: JSONPointer(tokens: nucleus + ["logging", "level"]), createIntermediates: true)
        #expect(try NucleusSettings(tree: tree).changesRequiringRestart(since: before).isEmpty)

        try tree.setValue(1884, at: JSONPointer(tokens: nucleus + ["mqtt", "port"]), createIntermediates: true)
        try tree.setValue("edge-1", at: JSONPointer(tokens: ["system", "thingName"]), createIntermediates: true)
        try tree.setValue("u:g", at: JSONPointer(tokens: nucleus + ["runWithDefault", "posixUser"]), createIntermediates: true)
        let after = try NucleusSettings(tree: tree)
        #expect(after.changesRequiringRestart(since: before) == ["system.thingName", "mqtt", "runWithDefault.posixUser"])
    }

    static let awsInstallerConfig = """
        ---
        system:
          certificateFilePath: "/greengrass/v2/device.pem.crt"
          privateKeyPath: "/greengrass/v2/private.pem.key"
          rootCaPath: "/greengrass/v2/AmazonRootCA1.pem"
          rootpath: "/greengrass/v2"
          thingName: "MyGreengrassCore"
        services:
          aws.greengrass.Nucleus:
            componentType: "NUCLEUS"
            version: "2.14.0"
            configuration:
              awsRegion: "us-west-2"
              iotDataEndpoint: "abc-ats.iot.us-west-2.amazonaws.com"
              runWithDefault:
                posixUser: ggc_user:ggc_group
              mqtt:
                port: 1883
                version: mqtt3
              logging:
                level: debug
        setenv:
          HTTPS_PROXY: http://proxy:3128
        """

    @Test func awsInstallerShapeParses() throws {
        let tree = try ConfigurationFile.merge(contents: Self.awsInstallerConfig, fileName: "config.yaml", onto: [:])
        let settings = try NucleusSettings(tree: tree)
        #expect(settings.thingName == "MyGreengrassCore")
        #expect(settings.rootCaPath == "/greengrass/v2/AmazonRootCA1.pem")
        #expect(settings.iotDataEndpoint == "abc-ats.iot.us-west-2.amazonaws.com")
        #expect(settings.defaultPosixUser == "ggc_user:ggc_group")
        #expect(settings.mqtt.port == 1883)
        #expect(settings.mqtt.version == "mqtt3")
        #expect(settings.logging.level == "DEBUG")
        #expect(settings.setenv == ["HTTPS_PROXY": "http://proxy:3128"])
        #expect(settings.awsRegion == "us-west-2")
    }

    @Test func fileMergesOntoPersistedConfiguration() throws {
        let base: JSONValue = ["system": ["thingName": "old", "rootCaPath": "/ca.pem"]]
        let tree = try ConfigurationFile.merge(contents: "system:\n  thingName: new\n", fileName: "c.yaml", onto: base)
        #expect(tree == ["system": ["thingName": "new", "rootCaPath": "/ca.pem"]])
    }

    @Test(arguments: [
        ("services:\n  aws.greengrass.Nucleus:\n    configuration:\n      mqtt:\n        port: abc\n", "services.aws.greengrass.Nucleus.configuration.mqtt.port", 5),
        ("services:\n  aws.greengrass.Nucleus:\n    configuration:\n      mqtt:\n        port: 70000\n", "services.aws.greengrass.Nucleus.configuration.mqtt.port", 5),
        ("services:\n  aws.greengrass.Nucleus:\n    configuration:\n      logging:\n        level: LOUD\n", "services.aws.greengrass.Nucleus.configuration.logging.level", 5),
        ("system:\n  thingName: x\nsystems: 1\n", "systems", 3),
        ("system: [unclosed\n", nil, nil),
    ] as [(String, String?, Int?)])
    func badFilesNameTheKeyAndLine(contents: String, key: String?, line: Int?) {
        do {
            _ = try ConfigurationFile.merge(contents: contents, fileName: "bad.yaml", onto: [:])
            Issue.record("expected an error")
        } catch {
            #expect(error.file == "bad.yaml")
            if let key { #expect(error.key == key) }
            if let line { #expect(error.line == line) }
            #expect(error.description.hasPrefix("bad.yaml:"))
        }
    }

    /// Issue #11: the nucleus reads its configuration with the recipe reader, but must not call it a recipe.
    @Test(arguments: ["", "  \n\n", "# only a comment\n"])
    func emptyFileIsCalledAConfigurationFile(contents: String) {
        let error = configurationError { () throws(ConfigurationError) in
            _ = try ConfigurationFile.merge(contents: contents, fileName: "empty.yaml", onto: [:])
        }
        #expect(error?.reason == "the configuration file is empty")
        #expect(error?.description.contains("recipe") == false)
    }

    @Test func oversizedAndNonUTF8FilesAreCalledConfigurationFiles() {
        let cases: [([UInt8], String)] = [
            ([UInt8](repeating: UInt8(ascii: "#"), count: 5 << 20), "huge.yaml: (document): the configuration file is 5242880 bytes, more than the limit of 4194304"),
            (Array("system:\n  thingName: ".utf8) + [0xC3, 0x28], "bin.yaml:2:14: (document): the configuration file is not valid UTF-8"),
        ]
        for (bytes, message) in cases {
            let error = configurationError { () throws(ConfigurationError) in
                _ = try ConfigurationFile.merge(bytes: bytes, fileName: String(message.prefix { $0 != ":" }), onto: [:])
            }
            #expect(error?.description == message)
        }
    }

    @Test(arguments: [
        ("system: [unclosed\n", 2, 1),
        ("system:\n  thingName: x\nsystems: 1\n", 3, 10),
        ("services:\n  aws.greengrass.Nucleus:\n    configuration:\n      mqtt:\n        port: abc\n", 5, 15),
        ("system:\n  a: 1\n\tb: 2\n", 3, 1),
    ])
    func errorsNameLineAndColumn(contents: String, line: Int, column: Int) {
        let error = configurationError { () throws(ConfigurationError) in
            _ = try ConfigurationFile.merge(contents: contents, fileName: "bad.yaml", onto: [:])
        }
        #expect(error?.line == line && error?.column == column, "\(String(describing: error))")
        #expect(error?.description.hasPrefix("bad.yaml:\(line):\(column): ") == true, "\(String(describing: error))")
    }

    @Test func keepAliveMustExceedPingTimeout() {
        #expect(throws: ConfigurationError.self) {
            try NucleusSettings(tree: ["services": ["aws.greengrass.Nucleus": ["configuration": ["mqtt": ["keepAliveTimeoutMs": 1000, "pingTimeoutMs": 2000]]]]])
        }
    }
}

/// The error `body` throws; records an issue when it throws none.
private func configurationError(
    _ body: () throws(ConfigurationError) -> Void, sourceLocation: SourceLocation = #_sourceLocation
) -> ConfigurationError? {
    do {
        try body()
        Issue.record("expected a ConfigurationError", sourceLocation: sourceLocation)
        return nil
    } catch {
        return error
    }
}

@Suite("runWithDefault.systemResourceLimits")
struct DefaultResourceLimitsTests {
    func settings(_ limits: JSONValue) throws -> NucleusSettings {
        try NucleusSettings(tree: [
            "services": ["aws.greengrass.Nucleus": ["configuration": ["runWithDefault": ["systemResourceLimits": limits]]]],
        ])
    }

    @Test func memoryAndCpusAreRead() throws {
        let read = try settings(["memory": 102400, "cpus": 0.5])
        #expect(read.defaultMemoryKilobytes == 102400)
        #expect(read.defaultCpus == 0.5)
        let none = try NucleusSettings(tree: [:])
        #expect(none.defaultMemoryKilobytes == nil && none.defaultCpus == nil)
    }

    @Test func badValuesNameTheKey() {
        #expect { try settings(["memory": -1]) } throws: { "\($0)".contains("memory") }
        #expect { try settings(["cpus": "many"]) } throws: { "\($0)".contains("cpus") }
    }
}
