/// The device attributes that recipe manifests are matched against: `os`, `architecture`,
/// optionally `architecture.detail`, plus whatever the nucleus `platformOverride` configuration adds.
public struct Platform: Sendable, Hashable, CustomStringConvertible {
    /// Attribute `os` (`linux` here).
    public static let osKey = "os"
    /// Attribute `architecture` (`amd64`, `x86`, `arm`, `aarch64`, `unknown`).
    public static let architectureKey = "architecture"
    /// Attribute `architecture.detail` (32-bit ARM only, e.g. `armv7l`).
    public static let architectureDetailKey = "architecture.detail"

    /// Attribute name → value, e.g. `["os": "linux", "architecture": "amd64"]`.
    public var attributes: [String: String]

    public init(attributes: [String: String]) {
        self.attributes = attributes
    }

    /// The platform Greengrass reports for a Linux host whose `uname -m` is `machine`:
    /// `x86_64`/`amd64` → `amd64`, `i386`…`i686`/`x86` → `x86`, `aarch64`/`arm64` → `aarch64`, anything
    /// with `arm` → `arm`, else `unknown`; `architecture.detail` is the machine name only for 32-bit ARM
    /// (`armv6l`, `armv7l`, `armv8l` and the `b` variants). `overrides` (the nucleus
    /// `platformOverride` map) replace or add attributes.
    public static func linux(machine: String, overrides: [String: String] = [:]) -> Platform {
        let lower = machine.lowercased()
        let architecture: String
        switch lower {
        case "x86_64", "amd64": architecture = "amd64"
        case "i386", "i486", "i586", "i686", "x86": architecture = "x86"
        case "aarch64", "arm64": architecture = "aarch64"
        case _ where lower.contains("arm"): architecture = "arm"
        default: architecture = "unknown"
        }
        var attributes = [osKey: "linux", architectureKey: architecture]
        if ["armv6l", "armv7l", "armv8l", "armv6b", "armv7b", "armv8b"].contains(lower) {
            attributes[architectureDetailKey] = lower
        }
        attributes.merge(overrides) { _, override in override }
        return Platform(attributes: attributes)
    }

    public var description: String {
        attributes.keys.sorted().map { "\($0)=\(attributes[$0] ?? "")" }.joined(separator: ", ")
    }

    /// Whether a manifest's `Platform` map matches this device: every template must match the attribute
    /// of the same name. A template is `*` (anything, even an absent attribute), `/regex/` (the whole
    /// value must match), `all`/`any` for `os` and `architecture` (legacy wildcards), or an exact value
    /// that starts with a letter or digit. Templates starting with any other symbol never match.
    /// An empty map matches every device.
    public func matches(_ templates: [String: String]) -> Bool {
        templates.allSatisfy { key, template in
            Self.matches(template: template, key: key, value: attributes[key])
        }
    }

    static func matches(template: String, key: String, value: String?) -> Bool {
        if template == "*" { return true }
        if key == osKey || key == architectureKey, template == "all" || template == "any" { return true }
        guard let value else { return false }
        if template.count >= 2, template.hasPrefix("/"), template.hasSuffix("/") {
            let pattern = String(template.dropFirst().dropLast())
            guard let regex = try? Regex(pattern) else { return false }
            return (try? regex.wholeMatch(in: value)) != nil
        }
        guard let first = template.unicodeScalars.first,
              first.isASCII, first.properties.isAlphabetic || ("0"..."9").contains(first)
        else { return false }
        return template == value
    }
}
