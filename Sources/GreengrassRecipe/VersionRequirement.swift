/// An npm-style semver range, as used by `ComponentDependencies.*.VersionRequirement` and by
/// deployments: `1.2.3`, `=1.2.3`, `>1.2.3`, `>=1.2`, `<2`, `<=1.2.x`, `^1.2.3`, `~1.2`, `1.x`, `*`,
/// `1.2.3 - 2.3`, comparators separated by spaces (all must hold) and alternatives separated by `||`.
///
/// Semantics are node-semver's: partial versions and `x`/`*` wildcards expand to ranges
/// (`^1.2.3` is `>=1.2.3 <2.0.0-0`), and a prerelease version only satisfies a range in which some
/// comparator names a prerelease of the same `MAJOR.MINOR.PATCH` (so `>=1.0.0` does not pick
/// `2.0.0-beta`, but `>=2.0.0-alpha` does).
public struct VersionRequirement: Sendable, Hashable, CustomStringConvertible {
    /// One comparison against a version.
    public struct Comparator: Sendable, Hashable, CustomStringConvertible {
        public enum Operator: String, Sendable, Hashable {
            case less = "<"
            case lessOrEqual = "<="
            case greater = ">"
            case greaterOrEqual = ">="
            case equal = "="
        }

        /// The comparison.
        public var op: Operator
        /// The version compared against.
        public var version: SemanticVersion

        public init(_ op: Operator, _ version: SemanticVersion) {
            self.op = op
            self.version = version
        }

        /// Compares by semver precedence (build metadata ignored); prerelease gating is done by the requirement.
        public func matches(_ candidate: SemanticVersion) -> Bool {
            let order = candidate.comparePrecedence(version)
            switch op {
            case .less: return order < 0
            case .lessOrEqual: return order <= 0
            case .greater: return order > 0
            case .greaterOrEqual: return order >= 0
            case .equal: return order == 0
            }
        }

        public var description: String { op.rawValue + version.description }
    }

    /// Alternatives (`||`); each is a conjunction of comparators. An empty conjunction matches every
    /// release.
    public var alternatives: [[Comparator]]
    /// The text the requirement was parsed from (trimmed), used in messages.
    public var text: String

    /// Matches every release version (`*`).
    public static let any = VersionRequirement(alternatives: [[]], text: "*")

    public init(alternatives: [[Comparator]], text: String) {
        self.alternatives = alternatives
        self.text = text
    }

    /// Exactly `version` (what a deployment's `Name=Version` means).
    public static func exactly(_ version: SemanticVersion) -> VersionRequirement {
        VersionRequirement(alternatives: [[Comparator(.equal, version)]], text: version.description)
    }

    public var description: String { text }

    /// Parses a range; the error names the part that is wrong.
    public init(parsing text: String) throws(VersionRequirementError) {
        let trimmed = text.trimmingWhitespace()
        guard trimmed.utf8.count <= 1024 else {
            throw VersionRequirementError(text: trimmed, reason: "longer than 1024 characters")
        }
        var alternatives: [[Comparator]] = []
        for rawRange in LiteralSearch.split(trimmed[...], on: "||") {
            alternatives.append(try Self.parseRange(String(rawRange), whole: trimmed))
        }
        self.init(alternatives: alternatives, text: trimmed)
    }

    /// `true` if `version` satisfies at least one alternative.
    public func isSatisfied(by version: SemanticVersion) -> Bool {
        alternatives.contains { conjunction in
            guard conjunction.allSatisfy({ $0.matches(version) }) else { return false }
            guard version.isPrerelease else { return true }
            // node-semver: prereleases only match when the range opts in for that exact release.
            return conjunction.contains { comparator in
                comparator.version.isPrerelease && comparator.version.release == version.release
            }
        }
    }

    // MARK: Parsing

    /// A possibly partial version: `nil` parts are wildcards or absent.
    private struct Partial {
        var major: Int?
        var minor: Int?
        var patch: Int?
        var prerelease: [SemanticVersion.Identifier] = []

        var isFull: Bool { patch != nil }

        /// The lowest version the partial covers (wildcards as zero).
        var floor: SemanticVersion {
            SemanticVersion(major: major ?? 0, minor: minor ?? 0, patch: patch ?? 0, prerelease: prerelease)
        }

        /// The first version above everything the partial covers, as a `-0` prerelease bound;
        /// `nil` for a bare wildcard. Only meaningful when not full.
        var ceiling: SemanticVersion? {
            guard let major else { return nil }
            guard let minor else { return SemanticVersion(major: major + 1, minor: 0, patch: 0, prerelease: [.numeric(0)]) }
            return SemanticVersion(major: major, minor: minor + 1, patch: 0, prerelease: [.numeric(0)])
        }
    }

    private static let nothing = [Comparator(.less, SemanticVersion(major: 0, minor: 0, patch: 0, prerelease: [.numeric(0)]))]

    private static func parseRange(_ raw: String, whole: String) throws(VersionRequirementError) -> [Comparator] {
        var tokens = raw.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }).map(String.init)
        if tokens.isEmpty { return [] }
        if tokens.count == 3, tokens[1] == "-" {
            let low = try parsePartial(tokens[0], whole: whole)
            let high = try parsePartial(tokens[2], whole: whole)
            var result: [Comparator] = []
            if low.major != nil { result.append(Comparator(.greaterOrEqual, low.floor)) }
            if high.isFull {
                result.append(Comparator(.lessOrEqual, high.floor))
            } else if let ceiling = high.ceiling {
                result.append(Comparator(.less, ceiling))
            }
            return result
        }
        // Join an operator written apart from its version (`>= 1.2.3`).
        var joined: [String] = []
        while !tokens.isEmpty {
            let token = tokens.removeFirst()
            if ["<", "<=", ">", ">=", "=", "~", "~>", "^"].contains(token) {
                guard !tokens.isEmpty else {
                    throw VersionRequirementError(text: whole, reason: "operator \"\(token)\" has no version")
                }
                joined.append(token + tokens.removeFirst())
            } else {
                joined.append(token)
            }
        }
        var result: [Comparator] = []
        for token in joined {
            result.append(contentsOf: try parseComparator(token, whole: whole))
        }
        return result
    }

    private static func parseComparator(_ token: String, whole: String) throws(VersionRequirementError) -> [Comparator] {
        let operators = ["<=", ">=", "~>", "<", ">", "=", "~", "^"]
        let op = operators.first { token.hasPrefix($0) } ?? ""
        let partial = try parsePartial(String(token.dropFirst(op.count)), whole: whole)
        let floor = partial.floor
        switch op {
        case "", "=":
            if partial.isFull { return [Comparator(.equal, floor)] }
            return xRange(partial)
        case "~", "~>":
            guard let major = partial.major else { return [] }
            let upper = partial.minor == nil
                ? SemanticVersion(major: major + 1, minor: 0, patch: 0, prerelease: [.numeric(0)])
                : SemanticVersion(major: major, minor: (partial.minor ?? 0) + 1, patch: 0, prerelease: [.numeric(0)])
            return [Comparator(.greaterOrEqual, floor), Comparator(.less, upper)]
        case "^":
            guard let major = partial.major else { return [] }
            let upper: SemanticVersion
            if major > 0 || partial.minor == nil {
                upper = SemanticVersion(major: major + 1, minor: 0, patch: 0, prerelease: [.numeric(0)])
            } else if let minor = partial.minor, minor > 0 || partial.patch == nil {
                upper = SemanticVersion(major: 0, minor: minor + 1, patch: 0, prerelease: [.numeric(0)])
            } else {
                upper = SemanticVersion(major: 0, minor: 0, patch: (partial.patch ?? 0) + 1, prerelease: [.numeric(0)])
            }
            return [Comparator(.greaterOrEqual, floor), Comparator(.less, upper)]
        case ">":
            guard let major = partial.major else { return nothing }
            if partial.isFull { return [Comparator(.greater, floor)] }
            if let minor = partial.minor {
                return [Comparator(.greaterOrEqual, SemanticVersion(major: major, minor: minor + 1, patch: 0))]
            }
            return [Comparator(.greaterOrEqual, SemanticVersion(major: major + 1, minor: 0, patch: 0))]
        case ">=":
            return partial.major == nil ? [] : [Comparator(.greaterOrEqual, floor)]
        case "<":
            guard partial.major != nil else { return nothing }
            if partial.isFull { return [Comparator(.less, floor)] }
            var bound = floor
            bound.prerelease = [.numeric(0)]
            return [Comparator(.less, bound)]
        default:  // "<="
            if partial.isFull { return [Comparator(.lessOrEqual, floor)] }
            return partial.ceiling.map { [Comparator(.less, $0)] } ?? []
        }
    }

    private static func xRange(_ partial: Partial) -> [Comparator] {
        guard let ceiling = partial.ceiling else { return [] }
        return [Comparator(.greaterOrEqual, partial.floor), Comparator(.less, ceiling)]
    }

    private static func parsePartial(_ raw: String, whole: String) throws(VersionRequirementError) -> Partial {
        var text = Substring(raw)
        if text.hasPrefix("v") || text.hasPrefix("=") { text = text.dropFirst() }
        guard !text.isEmpty else {
            throw VersionRequirementError(text: whole, reason: "missing version in \"\(raw)\"")
        }
        if text.contains("-") || text.contains("+") {
            // Prerelease/build parts only make sense on a full version.
            do {
                let full = try SemanticVersion(parsing: String(text))
                return Partial(major: full.major, minor: full.minor, patch: full.patch, prerelease: full.prerelease)
            } catch {
                throw VersionRequirementError(text: whole, reason: "\"\(raw)\": \(error.reason)")
            }
        }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 3 else {
            throw VersionRequirementError(text: whole, reason: "\"\(raw)\" has more than three version parts")
        }
        var numbers: [Int?] = []
        var sawWildcard = false
        for part in parts {
            if part == "x" || part == "X" || part == "*" {
                sawWildcard = true
                numbers.append(nil)
                continue
            }
            guard !part.isEmpty, part.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                  part == "0" || !part.hasPrefix("0"), part.utf8.count <= 6, let value = Int(part),
                  value <= SemanticVersion.maximumComponent
            else {
                throw VersionRequirementError(text: whole, reason: "\"\(part)\" in \"\(raw)\" is not a version number or wildcard")
            }
            // Anything after a wildcard is a wildcard too (`1.x.3` means `1.x`).
            numbers.append(sawWildcard ? nil : value)
        }
        while numbers.count < 3 { numbers.append(nil) }
        return Partial(major: numbers[0], minor: numbers[0] == nil ? nil : numbers[1],
                       patch: numbers[0] == nil || numbers[1] == nil ? nil : numbers[2])
    }
}

/// Why a text is not a version range.
public struct VersionRequirementError: Error, Sendable, Hashable, CustomStringConvertible {
    public var text: String
    public var reason: String

    public init(text: String, reason: String) {
        self.text = text
        self.reason = reason
    }

    public var description: String { "\"\(text)\" is not a valid version requirement: \(reason)" }
}

extension StringProtocol {
    func trimmingWhitespace() -> String {
        let text = String(self)
        var start = text.startIndex
        var end = text.endIndex
        while start < end, text[start].isWhitespace { start = text.index(after: start) }
        while end > start, text[text.index(before: end)].isWhitespace { end = text.index(before: end) }
        return String(text[start..<end])
    }
}
