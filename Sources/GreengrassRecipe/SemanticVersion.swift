/// A Semantic Versioning 2.0.0 version, as Greengrass requires for `ComponentVersion`:
/// `MAJOR.MINOR.PATCH[-prerelease][+build]`, each numeric part at most 999999, at most 64 characters.
///
/// Ordering follows semver precedence (a prerelease sorts before its release; numeric identifiers
/// compare numerically and sort before alphanumeric ones). Build metadata does not affect precedence;
/// it only breaks ties so that `<` stays a strict total order consistent with `==`.
public struct SemanticVersion: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// One dot-separated prerelease identifier.
    public enum Identifier: Sendable, Hashable, Comparable, CustomStringConvertible {
        case numeric(Int)
        case alphanumeric(String)

        public var description: String {
            switch self {
            case .numeric(let value): return String(value)
            case .alphanumeric(let value): return value
            }
        }

        public static func < (lhs: Identifier, rhs: Identifier) -> Bool {
            switch (lhs, rhs) {
            case let (.numeric(left), .numeric(right)): return left < right
            case (.numeric, .alphanumeric): return true
            case (.alphanumeric, .numeric): return false
            case let (.alphanumeric(left), .alphanumeric(right)): return left.utf8.lexicographicallyPrecedes(right.utf8)
            }
        }
    }

    /// Largest value Greengrass accepts for each of major, minor and patch.
    public static let maximumComponent = 999_999
    /// Longest version string Greengrass accepts.
    public static let maximumLength = 64

    /// `MAJOR` (0…999999).
    public var major: Int
    /// `MINOR` (0…999999).
    public var minor: Int
    /// `PATCH` (0…999999).
    public var patch: Int
    /// Dot-separated prerelease identifiers after `-`; empty for a release.
    public var prerelease: [Identifier]
    /// Dot-separated build metadata after `+`.
    public var build: [String]

    public init(major: Int, minor: Int, patch: Int, prerelease: [Identifier] = [], build: [String] = []) {
        self.major = major
        self.minor = minor
        self.patch = patch
        self.prerelease = prerelease
        self.build = build
    }

    /// Parses strictly; the error says which rule was broken.
    public init(parsing text: String) throws(SemanticVersionError) {
        guard text.utf8.count <= Self.maximumLength else {
            throw SemanticVersionError(text: text, reason: "longer than \(Self.maximumLength) characters")
        }
        var rest = Substring(text)
        var buildParts: [String] = []
        if let plus = rest.firstIndex(of: "+") {
            buildParts = rest[rest.index(after: plus)...].split(separator: ".", omittingEmptySubsequences: false).map(String.init)
            rest = rest[..<plus]
            guard buildParts.allSatisfy(Self.isIdentifier) else {
                throw SemanticVersionError(text: text, reason: "build metadata must be dot-separated [0-9A-Za-z-] identifiers")
            }
        }
        var prereleaseParts: [Identifier] = []
        if let dash = rest.firstIndex(of: "-") {
            let raw = rest[rest.index(after: dash)...].split(separator: ".", omittingEmptySubsequences: false)
            rest = rest[..<dash]
            for part in raw {
                guard Self.isIdentifier(part) else {
                    throw SemanticVersionError(text: text, reason: "prerelease must be dot-separated [0-9A-Za-z-] identifiers")
                }
                if part.utf8.allSatisfy(Self.isDigit) {
                    guard part == "0" || !part.hasPrefix("0") else {
                        throw SemanticVersionError(text: text, reason: "numeric prerelease identifier \"\(part)\" has a leading zero")
                    }
                    guard let number = Int(part) else {
                        throw SemanticVersionError(text: text, reason: "numeric prerelease identifier \"\(part)\" is too large")
                    }
                    prereleaseParts.append(.numeric(number))
                } else {
                    prereleaseParts.append(.alphanumeric(String(part)))
                }
            }
        }
        let numbers = rest.split(separator: ".", omittingEmptySubsequences: false)
        guard numbers.count == 3 else {
            throw SemanticVersionError(text: text, reason: "expected MAJOR.MINOR.PATCH")
        }
        var parsed: [Int] = []
        for (name, part) in zip(["major", "minor", "patch"], numbers) {
            guard !part.isEmpty, part.utf8.allSatisfy(Self.isDigit) else {
                throw SemanticVersionError(text: text, reason: "\(name) version \"\(part)\" is not a number")
            }
            guard part == "0" || !part.hasPrefix("0") else {
                throw SemanticVersionError(text: text, reason: "\(name) version \"\(part)\" has a leading zero")
            }
            guard part.utf8.count <= 6, let value = Int(part), value <= Self.maximumComponent else {
                throw SemanticVersionError(text: text, reason: "\(name) version \(part) is larger than \(Self.maximumComponent)")
            }
            parsed.append(value)
        }
        self.init(major: parsed[0], minor: parsed[1], patch: parsed[2], prerelease: prereleaseParts, build: buildParts)
    }

    /// `true` when the version has prerelease identifiers.
    public var isPrerelease: Bool { !prerelease.isEmpty }

    /// The version without prerelease and build parts.
    public var release: SemanticVersion { SemanticVersion(major: major, minor: minor, patch: patch) }

    public var description: String {
        var text = "\(major).\(minor).\(patch)"
        if !prerelease.isEmpty { text += "-" + prerelease.map(\.description).joined(separator: ".") }
        if !build.isEmpty { text += "+" + build.joined(separator: ".") }
        return text
    }

    /// Semver precedence only (build ignored): negative, zero or positive.
    public func comparePrecedence(_ other: SemanticVersion) -> Int {
        if major != other.major { return major < other.major ? -1 : 1 }
        if minor != other.minor { return minor < other.minor ? -1 : 1 }
        if patch != other.patch { return patch < other.patch ? -1 : 1 }
        switch (prerelease.isEmpty, other.prerelease.isEmpty) {
        case (true, true): return 0
        case (true, false): return 1
        case (false, true): return -1
        case (false, false):
            for (left, right) in zip(prerelease, other.prerelease) where left != right {
                return left < right ? -1 : 1
            }
            if prerelease.count == other.prerelease.count { return 0 }
            return prerelease.count < other.prerelease.count ? -1 : 1
        }
    }

    public static func < (lhs: SemanticVersion, rhs: SemanticVersion) -> Bool {
        let order = lhs.comparePrecedence(rhs)
        if order != 0 { return order < 0 }
        return lhs.build.lexicographicallyPrecedes(rhs.build) { $0.utf8.lexicographicallyPrecedes($1.utf8) }
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    private static func isIdentifier(_ part: some StringProtocol) -> Bool {
        !part.isEmpty && part.utf8.allSatisfy { byte in
            isDigit(byte) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A) || byte == 0x2D
        }
    }
}

/// Why a text is not a semantic version.
public struct SemanticVersionError: Error, Sendable, Hashable, CustomStringConvertible {
    public var text: String
    public var reason: String

    public init(text: String, reason: String) {
        self.text = text
        self.reason = reason
    }

    public var description: String { "\"\(text)\" is not a semantic version: \(reason)" }
}
