/// How the wildcards of a policy resource are interpreted: it depends on the IPC service being authorized.
public enum ResourceMatchingStyle: Sendable, Hashable {
    /// Only `*` is a wildcard (any characters, `/` included); `+` and `#` are ordinary characters.
    /// Used by every service except the IoT Core MQTT proxy (Greengrass `STANDARD`).
    case standard
    /// `*` as in ``standard``, plus MQTT wildcards where MQTT allows them: `+` when it occupies a whole level,
    /// `#` when it is the last level (`a/#` also matches `a`). A misplaced `+`/`#` is an ordinary character.
    /// Used by `aws.greengrass.ipc.mqttproxy` (Greengrass `MQTT_STYLE`).
    case mqtt
}

/// Why a policy resource string was rejected (Greengrass refuses the same resources when it loads policies).
public enum ResourcePatternError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The empty string (a missing `resources` list is fine; an empty entry is not).
    case empty
    /// A bare `?`: Greengrass reserves it and requires `${?}` for the literal character.
    case unescapedQuestionMark(offset: Int)
    /// `${` that is not one of the escapes `${*}`, `${$}`, `${?}`.
    case invalidEscape(offset: Int, sequence: String)

    public var description: String {
        switch self {
        case .empty:
            "resource is empty"
        case .unescapedQuestionMark(let offset):
            "resource contains the invalid character '?' at offset \(offset); use the escape sequence ${?} "
                + "('?' is not supported as a wildcard)"
        case .invalidEscape(let offset, let sequence):
            "resource contains the invalid escape sequence '\(sequence)' at offset \(offset); use ${*}, ${$} or ${?}"
        }
    }
}

/// One policy resource (`resources:` entry of an `accessControl` policy), compiled for matching.
///
/// Grammar, as Greengrass's authorization module reads it:
/// - `*` matches any run of characters, including `/` and the empty run, anywhere in the string;
/// - `${*}`, `${$}`, `${?}` stand for the literal characters `*`, `$`, `?`; any other `${…}` and a bare `?`
///   make the resource invalid;
/// - `{iot:thingName}` is replaced by the device's thing name (when one is known);
/// - for ``ResourceMatchingStyle/mqtt`` only: `+` occupying a whole level matches one level, `#` as the last
///   level (or the whole resource) matches any remainder, and `a/#` also matches `a` itself.
///
/// Matching is a linear-time dynamic programme over (pattern token, input offset), so hostile resources or
/// requests cannot make it backtrack exponentially.
public struct ResourcePattern: Sendable, Hashable, CustomStringConvertible {
    enum Token: Sendable, Hashable {
        case literal([UInt8])
        /// `*`
        case glob
        /// A `+` that occupies a whole level (a wildcard only in MQTT style).
        case singleLevel
        /// A `#` that is the last level or the whole resource (a wildcard only in MQTT style).
        case multiLevel
    }

    /// The resource exactly as written in the policy.
    public let text: String
    /// Tokens for MQTT style, with `+`/`#` wildcards where valid.
    let tokens: [Token]
    /// Tokens for standard style: the same with `+`/`#` as plain characters (compiled once; matching is on
    /// every IPC call's path).
    private let standardTokens: [Token]
    /// For a trailing `/#`: the tokens without it, because `a/#` also matches `a`.
    private let parentTokens: [Token]?
    /// Only `*`s (the usual `resources: ["*"]`): every resource matches in either style, with no matching
    /// programme (and none of its allocations) on every IPC call.
    private let matchesAnything: Bool

    /// The placeholder replaced by the thing name.
    public static let thingNameVariable = "{iot:thingName}"

    /// Validates and compiles `text`.
    /// - Parameter thingName: replaces every `{iot:thingName}`; when nil the placeholder stays literal text.
    /// - Throws: ``ResourcePatternError`` for the empty string, a bare `?` or an invalid `${…}` escape.
    public init(_ text: String, thingName: String? = nil) throws(ResourcePatternError) {
        let raw = Array(text.utf8)
        if raw.isEmpty { throw .empty }
        let variable = Array(Self.thingNameVariable.utf8)
        var tokens: [Token] = []
        var literal: [UInt8] = []
        func flush() {
            if !literal.isEmpty { tokens.append(.literal(literal)) }
            literal = []
        }
        // A `+`/`#` is an MQTT wildcard only where MQTT allows it; judged on the raw text, as Greengrass does.
        func isLevelStart(_ index: Int) -> Bool { index == 0 || raw[index - 1] == UInt8(ascii: "/") }
        func isLevelEnd(_ index: Int) -> Bool { index == raw.count - 1 || raw[index + 1] == UInt8(ascii: "/") }
        var index = 0
        while index < raw.count {
            let byte = raw[index]
            switch byte {
            case UInt8(ascii: "$") where index + 1 < raw.count && raw[index + 1] == UInt8(ascii: "{"):
                let escaped: UInt8? = index + 3 < raw.count && raw[index + 3] == UInt8(ascii: "}") ? raw[index + 2] : nil
                guard let escaped, escaped == UInt8(ascii: "*") || escaped == UInt8(ascii: "$") || escaped == UInt8(ascii: "?")
                else {
                    let sequence = String(decoding: raw[index..<min(raw.count, index + 4)], as: UTF8.self)
                    throw .invalidEscape(offset: index, sequence: sequence)
                }
                literal.append(escaped)
                index += 4
                continue
            case UInt8(ascii: "?"):
                throw .unescapedQuestionMark(offset: index)
            case UInt8(ascii: "*"):
                flush()
                tokens.append(.glob)
            case UInt8(ascii: "+") where isLevelStart(index) && isLevelEnd(index):
                flush()
                tokens.append(.singleLevel)
            case UInt8(ascii: "#") where index == raw.count - 1 && isLevelStart(index):
                flush()
                tokens.append(.multiLevel)
            case UInt8(ascii: "{") where raw[index...].starts(with: variable):
                // Without a thing name the placeholder stays literal text (and matches nothing real).
                literal.append(contentsOf: thingName.map { Array($0.utf8) } ?? variable)
                index += variable.count
                continue
            default:
                literal.append(byte)
            }
            index += 1
        }
        flush()
        self.text = text
        self.tokens = tokens
        matchesAnything = tokens.allSatisfy { $0 == .glob }
        standardTokens = tokens.map { token in
            switch token {
            case .singleLevel: .literal([UInt8(ascii: "+")])
            case .multiLevel: .literal([UInt8(ascii: "#")])
            default: token
            }
        }
        parentTokens = Self.parentOfMultiLevel(tokens)
    }

    public var description: String { text }

    /// Whether `resource` (a requested topic, component name, …) is allowed by this pattern.
    ///
    /// In MQTT style a requested subscription filter is matched as a string, so `a/#` allows a request for
    /// `a/+/c`; a policy `+` however never matches a requested `#` level, because that request would receive
    /// messages from deeper levels than the policy allows.
    public func matches(_ resource: String, style: ResourceMatchingStyle) -> Bool {
        if matchesAnything { return true }
        let input = Array(resource.utf8)
        switch style {
        case .standard:
            return Self.match(standardTokens, input)
        case .mqtt:
            if let parentTokens, Self.match(parentTokens, input) { return true }
            return Self.match(tokens, input)
        }
    }

    /// For tokens ending in `…/` + `#`, the tokens without the `/#`; nil otherwise (`#` alone matches all anyway).
    private static func parentOfMultiLevel(_ tokens: [Token]) -> [Token]? {
        guard tokens.count >= 2, tokens.last == .multiLevel, case .literal(var bytes) = tokens[tokens.count - 2] else {
            return nil
        }
        bytes.removeLast()  // the `/` that made the `#` valid
        var parent = Array(tokens.dropLast(2))
        if !bytes.isEmpty { parent.append(.literal(bytes)) }
        return parent
    }

    /// `reachable[i]` = the tokens from `t` on match `input[i...]`; computed from the last token backwards.
    private static func match(_ tokens: [Token], _ input: [UInt8]) -> Bool {
        let count = input.count
        // After the last token only the empty remainder matches.
        var next = [Bool](repeating: false, count: count + 1)
        next[count] = true
        for token in tokens.reversed() {
            var current = [Bool](repeating: false, count: count + 1)
            switch token {
            case .literal(let bytes):
                if bytes.count <= count {
                    for start in 0...(count - bytes.count) where next[start + bytes.count] {
                        current[start] = input[start..<start + bytes.count].elementsEqual(bytes)
                    }
                }
            case .glob:
                // Empty run, or one more byte of any kind.
                current[count] = next[count]
                for start in stride(from: count - 1, through: 0, by: -1) {
                    current[start] = next[start] || current[start + 1]
                }
            case .singleLevel:
                // Exactly one whole level; a requested `#` level is wider than `+` and is not matched.
                var levelEnd = count
                for start in stride(from: count, through: 0, by: -1) {
                    if start < count, input[start] == UInt8(ascii: "/") { levelEnd = start }
                    let level = input[start..<levelEnd]
                    let startsLevel = start == 0 || input[start - 1] == UInt8(ascii: "/")
                    current[start] = startsLevel && next[levelEnd] && !level.elementsEqual([UInt8(ascii: "#")])
                }
            case .multiLevel:
                for start in 0...count { current[start] = true }
            }
            next = current
        }
        return next[0]
    }
}
