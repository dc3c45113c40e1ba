import GreengrassLogFormat
import GreengrassLogging
import Testing

@Suite("GreengrassLogConfiguration defaults and string values")
struct ConfigurationTests {
    @Test("defaults are Greengrass's")
    func defaults() {
        let configuration = GreengrassLogConfiguration(rootPath: "/greengrass/v2")
        #expect(configuration.outputDirectory == "/greengrass/v2/logs")
        #expect(GreengrassLogConfiguration(rootPath: "/root/").outputDirectory == "/root/logs")
        #expect(configuration.level == .info)
        #expect(configuration.format == .text)
        #expect(configuration.outputType == .file)
        #expect(configuration.fileSizeKB == 1024)
        #expect(configuration.totalLogsSizeKB == 10240)
        #expect(configuration.contextOrder == .greengrass)
        #expect(configuration.rotationPolicy == LogRotationPolicy(fileSizeKB: 1024, totalLogsSizeKB: 10240, rollsHourly: true))
        #expect(configuration.rotationPolicy.maxFileBytes == 1_048_576)
    }

    @Test("apply sets every documented key and ignores unknown ones")
    func apply() throws {
        var configuration = GreengrassLogConfiguration(rootPath: "/gg")
        try configuration.apply([
            "level": " debug ", "format": "JSON", "outputType": "console", "fileSizeKB": "2048", "totalLogsSizeKB": "4096",
            "outputDirectory": "/var/log/gg", "somethingElse": "x",
        ])
        #expect(configuration.level == .debug)
        #expect(configuration.format == .json)
        #expect(configuration.outputType == .console)
        #expect(configuration.fileSizeKB == 2048)
        #expect(configuration.totalLogsSizeKB == 4096)
        #expect(configuration.outputDirectory == "/var/log/gg")
    }

    @Test(
        "invalid values are refused with the key named and nothing changed",
        arguments: [
            ("level", "verbose"), ("format", "xml"), ("outputType", "syslog"), ("fileSizeKB", "0"), ("fileSizeKB", "-5"),
            ("totalLogsSizeKB", "lots"), ("fileSizeKB", "99999999999999999999"), ("outputDirectory", "  "),
        ])
    func invalid(key: String, value: String) {
        var configuration = GreengrassLogConfiguration(rootPath: "/gg")
        let before = configuration
        // A valid key alongside must not be applied either (all or nothing).
        var values = ["format": "JSON"]
        values[key] = value
        #expect {
            try configuration.apply(values)
        } throws: { error in
            (error as? GreengrassLogConfigurationError)?.key == key && "\(error)".contains("logging.\(key)")
        }
        #expect(configuration == before)
    }
}
