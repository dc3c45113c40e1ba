import GreengrassRecipe
import Testing

@Suite struct VersionRequirementTests {
    /// (range, version, satisfied) — semantics of node-semver, which Greengrass's ranges follow.
    static let cases: [(String, String, Bool)] = [
        ("1.0.0", "1.0.0", true), ("1.0.0", "1.0.1", false), ("=1.0.0", "1.0.0", true), ("v1.0.0", "1.0.0", true),
        ("*", "0.0.1", true), ("*", "5.6.7", true), ("", "1.0.0", true), ("x", "2.0.0", true),
        ("*", "1.0.0-beta", false),
        (">1.0.0", "1.0.1", true), (">1.0.0", "1.0.0", false), (">=1.0.0", "1.0.0", true), (">=1.0.0", "0.9.9", false),
        ("<2.0.0", "1.9.9", true), ("<2.0.0", "2.0.0", false), ("<=2.0.0", "2.0.0", true), ("<=2.0.0", "2.0.1", false),
        (">= 1.2.3", "1.2.3", true), ("> 1.2.3", "1.2.3", false),
        (">=1.0.0 <2.0.0", "1.5.0", true), (">=1.0.0 <2.0.0", "2.0.0", false), (">=1.0.0 <2.0.0", "0.5.0", false),
        ("<1.0.0 || >=2.0.0", "0.5.0", true), ("<1.0.0 || >=2.0.0", "1.5.0", false), ("<1.0.0||>=2.0.0", "2.5.0", true),
        ("1.x", "1.9.9", true), ("1.x", "2.0.0", false), ("1.x", "0.9.0", false), ("1", "1.2.3", true),
        ("1.2.x", "1.2.9", true), ("1.2.x", "1.3.0", false), ("1.2", "1.2.0", true), ("1.2.*", "1.2.5", true),
        ("1.X", "1.4.0", true), ("1.x.3", "1.4.0", true),
        ("~1.2.3", "1.2.9", true), ("~1.2.3", "1.3.0", false), ("~1.2.3", "1.2.2", false),
        ("~1.2", "1.2.0", true), ("~1.2", "1.3.0", false), ("~1", "1.9.0", true), ("~1", "2.0.0", false),
        ("~0.2.3", "0.2.9", true), ("~0.2.3", "0.3.0", false), ("~>1.2.3", "1.2.5", true),
        ("^1.2.3", "1.9.9", true), ("^1.2.3", "2.0.0", false), ("^1.2.3", "1.2.2", false),
        ("^0.2.3", "0.2.9", true), ("^0.2.3", "0.3.0", false), ("^0.0.3", "0.0.3", true), ("^0.0.3", "0.0.4", false),
        ("^1.2.x", "1.9.0", true), ("^1.2.x", "2.0.0", false), ("^0.0.x", "0.0.9", true), ("^0.0.x", "0.1.0", false),
        ("^0.0", "0.0.5", true), ("^0.x", "0.9.0", true), ("^0.x", "1.0.0", false), ("^1.x", "1.9.0", true),
        ("^0.1", "0.1.5", true), ("^0.1", "0.2.0", false),
        ("1.2.3 - 2.3.4", "1.2.3", true), ("1.2.3 - 2.3.4", "2.3.4", true), ("1.2.3 - 2.3.4", "2.3.5", false),
        ("1.2 - 2.3.4", "1.2.0", true), ("1.2 - 2.3.4", "1.1.9", false),
        ("1.2.3 - 2.3", "2.3.9", true), ("1.2.3 - 2.3", "2.4.0", false), ("1.2.3 - 2", "2.9.9", true), ("1.2.3 - 2", "3.0.0", false),
        (">1.2", "1.2.9", false), (">1.2", "1.3.0", true), (">1", "1.9.9", false), (">1", "2.0.0", true),
        (">=1.2", "1.2.0", true), ("<1.2", "1.1.9", true), ("<1.2", "1.2.0", false),
        ("<=1.2", "1.2.9", true), ("<=1.2", "1.3.0", false), ("<=1", "1.9.9", true), ("<=1", "2.0.0", false),
        (">*", "0.0.0", false), ("<*", "0.0.0", false), (">=*", "3.0.0", true), ("<=*", "3.0.0", true),
        // Prereleases only match when the range names a prerelease of the same release.
        ("^1.2.3", "2.0.0-beta", false), (">=1.0.0", "1.5.0-beta", false), ("^1.2.3-beta.2", "1.2.3-beta.4", true),
        ("^1.2.3-beta.2", "1.2.4-beta.1", false), ("^1.2.3-beta.2", "1.2.3-beta.1", false), ("^1.2.3-beta.2", "1.5.0", true),
        ("1.0.0-rc.1", "1.0.0-rc.1", true), (">=2.0.0-alpha", "2.0.0-beta", true), ("~1.2.3-beta", "1.2.3-rc", true),
        ("1.0.0 || 1.0.0-beta", "1.0.0-beta", true),
        ("1.0.0+build", "1.0.0", true),
    ]

    @Test(arguments: cases)
    func satisfaction(range: String, version: String, expected: Bool) throws {
        let requirement = try VersionRequirement(parsing: range)
        let candidate = try SemanticVersion(parsing: version)
        #expect(requirement.isSatisfied(by: candidate) == expected, "\(range) vs \(version)")
    }

    @Test(arguments: [
        "1.2.3.4", "abc", ">=", "^", ">=a.b.c", "01.2.3", "1.2.3-", "1.2.3 - ", "- 1.2.3", ">=1.0.0 - 2.0.0",
        "1.0.0 -", "1000000.0.0", "1.2.3-a..b", "~ ", "1..2",
    ])
    func rejectsMalformedRanges(_ range: String) {
        #expect(throws: VersionRequirementError.self) { try VersionRequirement(parsing: range) }
    }

    @Test func exactlyAndAnyAndDescription() throws {
        let version = try SemanticVersion(parsing: "1.2.3-rc.1")
        #expect(VersionRequirement.exactly(version).isSatisfied(by: version))
        #expect(!VersionRequirement.exactly(version).isSatisfied(by: try SemanticVersion(parsing: "1.2.3")))
        #expect(VersionRequirement.any.isSatisfied(by: try SemanticVersion(parsing: "7.0.0")))
        #expect(try VersionRequirement(parsing: "  >=1.0.0 <2.0.0 ").description == ">=1.0.0 <2.0.0")
        let caret = try VersionRequirement(parsing: "^1.2.3")
        #expect(caret.alternatives.map { $0.map(\.description) } == [[">=1.2.3", "<2.0.0-0"]])
    }
}
