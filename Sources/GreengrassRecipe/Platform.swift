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
        case _ where LiteralSearch.firstRange(of: "arm", in: lower[...]) != nil: architecture = "arm"
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
    /// of the same name (see `PlatformTemplate`). An empty map matches every device.
    public func matches(_ templates: [String: PlatformTemplate]) -> Bool {
        templates.allSatisfy { key, template in
            template.matches(key: key, value: attributes[key])
        }
    }
}

/// One value of a manifest's `Platform` map.
///
/// Matching follows Greengrass's `PlatformHelper`: `*` matches anything, even an absent attribute;
/// `//` any present value; `/regex/` a present value the regex matches entirely; `all`/`any` are
/// legacy wildcards for `os` and `architecture`; otherwise the template must start with a letter or
/// digit and equal the value (templates starting with other symbols are reserved and never match).
/// An explicit null matches only an absent attribute, and a list matches when any element does.
public enum PlatformTemplate: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringLiteral {
    /// YAML/JSON `null`: the attribute must be absent.
    case absent
    /// A single template string.
    case value(String)
    /// A list of alternatives.
    case anyOf([PlatformTemplate])

    public init(stringLiteral value: String) { self = .value(value) }

    public var description: String {
        switch self {
        case .absent: return "null"
        case .value(let text): return text
        case .anyOf(let alternatives): return "[" + alternatives.map(\.description).joined(separator: ", ") + "]"
        }
    }

    /// Whether the device attribute `key`, whose value is `value` (`nil` if the device lacks it), matches.
    public func matches(key: String, value: String?) -> Bool {
        switch self {
        case .absent:
            return value == nil
        case .anyOf(let alternatives):
            return alternatives.contains { $0.matches(key: key, value: value) }
        case .value(let template):
            if template == "*" { return true }
            guard let value else { return false }
            if template == "//" { return true }
            if template.count > 2, template.hasPrefix("/"), template.hasSuffix("/") {
                let pattern = String(template.dropFirst().dropLast())
                guard let regex = try? Regex(pattern) else { return false }
                return (try? regex.wholeMatch(in: value)) != nil
            }
            if key == Platform.osKey || key == Platform.architectureKey, template == "all" || template == "any" {
                return true
            }
            guard let first = template.unicodeScalars.first,
                  first.isASCII, first.properties.isAlphabetic || ("0"..."9").contains(first)
            else { return false }
            return template == value
        }
    }
}
