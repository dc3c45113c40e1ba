import GreengrassRecipe
import Testing

@Suite struct SemanticVersionTests {
    @Test(arguments: [
        ("0.0.0", 0, 0, 0, "", ""),
        ("1.2.3", 1, 2, 3, "", ""),
        ("10.20.30", 10, 20, 30, "", ""),
        ("1.0.0-alpha", 1, 0, 0, "alpha", ""),
        ("1.0.0-alpha.1", 1, 0, 0, "alpha.1", ""),
        ("1.0.0-0.3.7", 1, 0, 0, "0.3.7", ""),
        ("1.0.0-x-y-z.--", 1, 0, 0, "x-y-z.--", ""),
        ("1.0.0+20130313144700", 1, 0, 0, "", "20130313144700"),
        ("1.0.0-beta+exp.sha.5114f85", 1, 0, 0, "beta", "exp.sha.5114f85"),
        ("999999.999999.999999", 999_999, 999_999, 999_999, "", ""),
    ])
    func parsesValidVersions(text: String, major: Int, minor: Int, patch: Int, pre: String, build: String) throws {
        let version = try SemanticVersion(parsing: text)
        #expect(version.major == major && version.minor == minor && version.patch == patch)
        #expect(version.prerelease.map(\.description).joined(separator: ".") == pre)
        #expect(version.build.joined(separator: ".") == build)
        #expect(version.description == text)
    }

    @Test(arguments: [
        ("", "expected MAJOR.MINOR.PATCH"),
        ("1", "expected MAJOR.MINOR.PATCH"),
        ("1.2", "expected MAJOR.MINOR.PATCH"),
        ("1.2.3.4", "expected MAJOR.MINOR.PATCH"),
        ("01.2.3", "major version \"01\" has a leading zero"),
        ("1.02.3", "minor version \"02\" has a leading zero"),
        ("1.2.x", "patch version \"x\" is not a number"),
        ("v1.2.3", "major version \"v1\" is not a number"),
        ("1.2.3-", "prerelease must be dot-separated [0-9A-Za-z-] identifiers"),
        ("1.2.3-a..b", "prerelease must be dot-separated [0-9A-Za-z-] identifiers"),
        ("1.2.3-01", "numeric prerelease identifier \"01\" has a leading zero"),
        ("1.2.3+", "build metadata must be dot-separated [0-9A-Za-z-] identifiers"),
        ("1.2.3-a_b", "prerelease must be dot-separated [0-9A-Za-z-] identifiers"),
        ("1000000.0.0", "major version 1000000 is larger than 999999"),
        ("1.0.1234567", "patch version 1234567 is larger than 999999"),
        (" 1.2.3", "major version \" 1\" is not a number"),
        ("1.0.0-" + String(repeating: "a", count: 60), "longer than 64 characters"),
    ])
    func rejectsInvalidVersions(text: String, reason: String) {
        #expect {
            try SemanticVersion(parsing: text)
        } throws: { error in
            (error as? SemanticVersionError)?.reason == reason
        }
    }

    @Test func precedenceFollowsTheSemverSpecification() throws {
        let ordered = ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2",
                       "1.0.0-beta.11", "1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "1.10.0", "2.0.0"]
        let versions = try ordered.map { try SemanticVersion(parsing: $0) }
        for (lower, higher) in zip(versions, versions.dropFirst()) {
            #expect(lower < higher, "\(lower) < \(higher)")
            #expect(!(higher < lower))
            #expect(lower.comparePrecedence(higher) == -1)
        }
        #expect(versions.shuffled().sorted() == versions)
    }

    @Test func buildMetadataDoesNotChangePrecedence() throws {
        let plain = try SemanticVersion(parsing: "1.0.0")
        let built = try SemanticVersion(parsing: "1.0.0+build.5")
        #expect(plain.comparePrecedence(built) == 0)
        #expect(plain != built)
        #expect(plain < built)  // tie broken by build so ordering stays total
        #expect(built.release == plain)
    }
}
