import GreengrassJSON

/// What the interpolator knows about one component: identity, configuration and paths.
public struct InterpolationComponent: Sendable, Hashable {
    public var name: String
    public var version: String
    /// The component's resolved configuration (defaults merged with deployment updates).
    public var configuration: JSONValue
    /// `{artifacts:path}`: `<root>/packages/artifacts/<Name>/<Version>`.
    public var artifactsPath: String
    /// `{artifacts:decompressedPath}`: `<root>/packages/artifacts-unarchived/<Name>/<Version>`.
    public var decompressedPath: String
    /// `{work:path}`: `<root>/work/<Name>`.
    public var workPath: String

    public init(name: String, version: String, configuration: JSONValue, artifactsPath: String,
                decompressedPath: String, workPath: String) {
        self.name = name
        self.version = version
        self.configuration = configuration
        self.artifactsPath = artifactsPath
        self.decompressedPath = decompressedPath
        self.workPath = workPath
    }

    /// Paths laid out as Greengrass lays them out under `rootPath` (which should be absolute).
    public static func standard(rootPath: String, name: String, version: String,
                                configuration: JSONValue) -> InterpolationComponent {
        let root = rootPath.hasSuffix("/") && rootPath.count > 1 ? String(rootPath.dropLast()) : rootPath
        return InterpolationComponent(
            name: name, version: version, configuration: configuration,
            artifactsPath: "\(root)/packages/artifacts/\(name)/\(version)",
            decompressedPath: "\(root)/packages/artifacts-unarchived/\(name)/\(version)",
            workPath: "\(root)/work/\(name)")
    }
}

/// A placeholder left as written, and why.
public struct UnresolvedVariable: Error, Sendable, Hashable, CustomStringConvertible {
    /// Why a placeholder stayed, coarsely: callers may log `unknownNamespace` (often shell syntax such
    /// as `${VAR:-default}`) more quietly than the others.
    public enum Kind: Sendable, Hashable {
        /// Not one of `configuration`, `artifacts`, `work`, `kernel`, `iot`.
        case unknownNamespace
        /// A known namespace with an unknown key (`{artifacts:other}`).
        case unknownKey
        /// `{configuration:/p}` with no value at `p` (or `p` not a JSON pointer).
        case missingValue
        /// `{Other:…}` where `Other` is not a direct dependency.
        case notADirectDependency
        /// The value does not exist on this device (`{iot:thingName}` without a thing name), or the
        /// variable is not interpolated in this context (configuration interpolation).
        case unavailable
    }

    /// The placeholder text, e.g. `{configuration:/missing}`.
    public var placeholder: String
    /// The category of `reason`.
    public var kind: Kind
    /// Why it was not replaced.
    public var reason: String
    /// Where the string holding it is, relative to the interpolated tree (`Run.Script`), when a located
    /// tree was interpolated.
    public var field: String?
    /// The position of that string in the recipe, when known.
    public var location: SourcePosition?

    public init(placeholder: String, kind: Kind, reason: String, field: String? = nil, location: SourcePosition? = nil) {
        self.placeholder = placeholder
        self.kind = kind
        self.reason = reason
        self.field = field
        self.location = location
    }

    public var description: String { "\(placeholder): \(reason)" }
}

/// An interpolated value and the placeholders that could not be resolved.
public struct Interpolated<Value: Sendable & Hashable>: Sendable, Hashable {
    public var value: Value
    public var unresolved: [UnresolvedVariable]
}

/// Substitutes Greengrass recipe variables the way the Java nucleus's `KernelConfigResolver` does.
///
/// First pass, on the original text: each `{namespace:key}` (namespace `[.\w-]+`, key without `:` or
/// `}`) is replaced everywhere it occurs when it resolves: `configuration` (JSON pointer into this
/// component's configuration; scalars as text, objects/arrays as compact JSON with sorted keys),
/// `artifacts:path`, `artifacts:decompressedPath`, `work:path`, `kernel:rootPath`, `iot:thingName`.
/// Second pass, on the result: `{Component:namespace:key}` for a DIRECT dependency only. Anything that
/// does not resolve is left as written and reported in `unresolved`.
public struct RecipeInterpolator: Sendable {
    /// `{kernel:rootPath}`.
    public var rootPath: String
    /// `{iot:thingName}`; `nil` leaves the variable unresolved.
    public var thingName: String?
    /// The component whose recipe is being interpolated.
    public var component: InterpolationComponent
    /// Its direct dependencies by name (`{Dep:…}` works only for these).
    public var dependencies: [String: InterpolationComponent]

    public init(rootPath: String, thingName: String?, component: InterpolationComponent,
                dependencies: [String: InterpolationComponent] = [:]) {
        self.rootPath = rootPath
        self.thingName = thingName
        self.component = component
        self.dependencies = dependencies
    }

    // MARK: Public entry points

    /// Interpolates one string.
    public func interpolate(_ text: String) -> Interpolated<String> {
        var unresolved: [UnresolvedVariable] = []
        let result = substitute(text, systemOnly: false, unresolved: &unresolved)
        return Interpolated(value: result, unresolved: unresolved)
    }

    /// Interpolates every string in a value (object members and array elements, at any depth; keys
    /// are left alone). This is what Greengrass does to the lifecycle.
    public func interpolate(_ value: JSONValue) -> Interpolated<JSONValue> {
        var unresolved: [UnresolvedVariable] = []
        let result = walk(value, systemOnly: false, unresolved: &unresolved)
        return Interpolated(value: result, unresolved: unresolved)
    }

    /// Interpolates every string of a located lifecycle tree, keeping positions for later errors.
    public func interpolate(_ node: RecipeNode) -> Interpolated<RecipeNode> {
        var unresolved: [UnresolvedVariable] = []
        let result = walk(node, path: "", unresolved: &unresolved)
        return Interpolated(value: result, unresolved: unresolved)
    }

    /// Interpolates a component's configuration as Greengrass does when the nucleus option
    /// `interpolateComponentConfiguration` is on: system variables only (`artifacts`, `work`, `kernel`,
    /// `iot`); `configuration` and cross-component variables stay as written and are reported.
    public func interpolateConfiguration(_ configuration: JSONValue) -> Interpolated<JSONValue> {
        var unresolved: [UnresolvedVariable] = []
        let result = walk(configuration, systemOnly: true, unresolved: &unresolved)
        return Interpolated(value: result, unresolved: unresolved)
    }

    /// Whether `text` contains something shaped like a recipe variable.
    public static func containsPlaceholder(_ text: String) -> Bool {
        !PlaceholderScanner.matches(in: text, segments: 2).isEmpty
            || !PlaceholderScanner.matches(in: text, segments: 3).isEmpty
    }

    // MARK: Walking values

    private func walk(_ value: JSONValue, systemOnly: Bool, unresolved: inout [UnresolvedVariable]) -> JSONValue {
        switch value {
        case .string(let text):
            return .string(substitute(text, systemOnly: systemOnly, unresolved: &unresolved))
        case .array(let elements):
            return .array(elements.map { walk($0, systemOnly: systemOnly, unresolved: &unresolved) })
        case .object(let members):
            return .object(members.mapValues { walk($0, systemOnly: systemOnly, unresolved: &unresolved) })
        case .null, .bool, .int, .double:
            return value
        }
    }

    private func walk(_ node: RecipeNode, path: String, unresolved: inout [UnresolvedVariable]) -> RecipeNode {
        var copy = node
        switch node.content {
        case .scalar(let value, _):
            if case .string(let text) = value {
                let first = unresolved.count
                let result = substitute(text, systemOnly: false, unresolved: &unresolved)
                copy.content = .scalar(.string(result), text: result)
                for index in first..<unresolved.count {
                    unresolved[index].field = path
                    unresolved[index].location = node.location
                }
            }
        case .sequence(let elements):
            copy.content = .sequence(elements.enumerated().map { index, element in
                walk(element, path: path + "[\(index)]", unresolved: &unresolved)
            })
        case .mapping(let members):
            copy.content = .mapping(members.map { member in
                let childPath = path.isEmpty ? member.key : path + "." + member.key
                return RecipeNode.Member(key: member.key, value: walk(member.value, path: childPath, unresolved: &unresolved))
            })
        }
        return copy
    }

    // MARK: Substitution

    private func substitute(_ text: String, systemOnly: Bool, unresolved: inout [UnresolvedVariable]) -> String {
        guard text.contains("{") else { return text }
        var current = text
        // Pass 1 scans the original text; each match replaces every occurrence in the running result,
        // exactly like the Java loop over `matcher.find()` with `String.replace`.
        for match in PlaceholderScanner.matches(in: text, segments: 2) {
            let namespace = match.parts[0]
            let key = match.parts[1]
            let replacement: Result<String, UnresolvedVariable>
            if namespace == "configuration" && !systemOnly {
                replacement = configurationValue(of: component, pointer: key, placeholder: match.text)
            } else {
                replacement = systemValue(for: component, namespace: namespace, key: key, placeholder: match.text)
            }
            apply(replacement, to: &current, match: match.text, unresolved: &unresolved)
        }
        for match in PlaceholderScanner.matches(in: current, segments: 3) {
            let target = match.parts[0]
            if systemOnly {
                unresolved.append(UnresolvedVariable(
                    placeholder: match.text, kind: .unavailable,
                    reason: "cross-component variables are not interpolated in configuration"))
                continue
            }
            guard let dependency = dependencies[target] else {
                unresolved.append(UnresolvedVariable(
                    placeholder: match.text, kind: .notADirectDependency,
                    reason: "\(target) is not a direct dependency of \(component.name)"))
                continue
            }
            let replacement: Result<String, UnresolvedVariable>
            if match.parts[1] == "configuration" {
                replacement = configurationValue(of: dependency, pointer: match.parts[2], placeholder: match.text)
            } else {
                replacement = systemValue(for: dependency, namespace: match.parts[1], key: match.parts[2], placeholder: match.text)
            }
            apply(replacement, to: &current, match: match.text, unresolved: &unresolved)
        }
        return current
    }

    private func apply(_ replacement: Result<String, UnresolvedVariable>, to current: inout String, match: String,
                       unresolved: inout [UnresolvedVariable]) {
        switch replacement {
        case .success(let value): current = LiteralSearch.replacingAll(match, with: value, in: current)
        case .failure(let problem): unresolved.append(problem)
        }
    }

    private func configurationValue(
        of target: InterpolationComponent, pointer: String, placeholder: String
    ) -> Result<String, UnresolvedVariable> {
        guard let parsed = try? JSONPointer(pointer) else {
            return .failure(UnresolvedVariable(placeholder: placeholder, kind: .missingValue,
                                               reason: "\"\(pointer)\" is not a JSON pointer"))
        }
        guard let value = target.configuration.value(at: parsed) else {
            return .failure(UnresolvedVariable(
                placeholder: placeholder, kind: .missingValue,
                reason: "no value at \(pointer) in the configuration of \(target.name)"))
        }
        return .success(value.plainText)
    }

    private func systemValue(
        for target: InterpolationComponent, namespace: String, key: String, placeholder: String
    ) -> Result<String, UnresolvedVariable> {
        let value: String?
        switch (namespace, key) {
        case ("artifacts", "path"): value = target.artifactsPath
        case ("artifacts", "decompressedPath"): value = target.decompressedPath
        case ("work", "path"): value = target.workPath
        case ("kernel", "rootPath"): value = rootPath
        case ("iot", "thingName"):
            guard let thingName else {
                return .failure(UnresolvedVariable(placeholder: placeholder, kind: .unavailable,
                                                   reason: "the device has no thing name"))
            }
            value = thingName
        case ("artifacts", _), ("work", _), ("kernel", _), ("iot", _):
            return .failure(UnresolvedVariable(placeholder: placeholder, kind: .unknownKey,
                                               reason: "unknown key \"\(key)\" in namespace \(namespace)"))
        default:
            value = nil
        }
        guard let value else {
            return .failure(UnresolvedVariable(placeholder: placeholder, kind: .unknownNamespace,
                                               reason: "unknown namespace \"\(namespace)\""))
        }
        return .success(value)
    }
}

/// Finds `{a:b}` (two segments) or `{a:b:c}` (three) placeholders like the Java regexes
/// `\{([.\w-]+):([^:}]+)}` and `\{([.\w-]+):([.\w-]+):([^:}]+)}`: leading segments are word characters,
/// `.` or `-`; the last is any non-empty text without `:` or `}`. Matches do not overlap.
enum PlaceholderScanner {
    struct Match {
        var text: String
        var parts: [String]
    }

    static func matches(in text: String, segments: Int) -> [Match] {
        let bytes = Array(text.utf8)
        var result: [Match] = []
        var index = 0
        while index < bytes.count {
            guard bytes[index] == UInt8(ascii: "{"), let (end, parts) = match(bytes, at: index, segments: segments) else {
                index += 1
                continue
            }
            result.append(Match(text: String(decoding: bytes[index..<end], as: UTF8.self), parts: parts))
            index = end
        }
        return result
    }

    /// Tries to match at `start` (a `{`); returns the end offset (past `}`) and the segments.
    private static func match(_ bytes: [UInt8], at start: Int, segments: Int) -> (Int, [String])? {
        var parts: [String] = []
        var position = start + 1
        for _ in 0..<(segments - 1) {
            let segmentStart = position
            while position < bytes.count, isNameByte(bytes[position]) { position += 1 }
            guard position > segmentStart, position < bytes.count, bytes[position] == UInt8(ascii: ":") else { return nil }
            parts.append(String(decoding: bytes[segmentStart..<position], as: UTF8.self))
            position += 1
        }
        let keyStart = position
        while position < bytes.count, bytes[position] != UInt8(ascii: ":"), bytes[position] != UInt8(ascii: "}") {
            position += 1
        }
        guard position > keyStart, position < bytes.count, bytes[position] == UInt8(ascii: "}") else { return nil }
        parts.append(String(decoding: bytes[keyStart..<position], as: UTF8.self))
        return (position + 1, parts)
    }

    private static func isNameByte(_ byte: UInt8) -> Bool {
        (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
            || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-")
    }
}
