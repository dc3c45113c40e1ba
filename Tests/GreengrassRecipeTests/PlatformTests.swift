import GreengrassJSON
import GreengrassRecipe
import Testing

@Suite struct PlatformTests {
    @Test(arguments: [
        ("x86_64", "amd64", nil), ("amd64", "amd64", nil), ("i686", "x86", nil), ("i386", "x86", nil),
        ("aarch64", "aarch64", nil), ("arm64", "aarch64", nil), ("armv7l", "arm", "armv7l"), ("armv6l", "arm", "armv6l"),
        ("armv8l", "arm", "armv8l"), ("armv7b", "arm", "armv7b"), ("arm", "arm", nil), ("riscv64", "unknown", nil),
    ] as [(String, String, String?)])
    func detectsLinuxPlatform(machine: String, architecture: String, detail: String?) {
        let platform = Platform.linux(machine: machine)
        #expect(platform.attributes["os"] == "linux")
        #expect(platform.attributes["architecture"] == architecture)
        #expect(platform.attributes["architecture.detail"] == detail)
    }

    @Test func overridesReplaceAndAdd() {
        let platform = Platform.linux(machine: "x86_64", overrides: ["architecture": "arm", "runtime": "custom"])
        #expect(platform.attributes == ["os": "linux", "architecture": "arm", "runtime": "custom"])
        #expect(platform.description == "architecture=arm, os=linux, runtime=custom")
    }

    @Test(arguments: [
        ([:], true),
        (["os": "linux"], true), (["os": "Linux"], false), (["os": "windows"], false),
        (["os": "*"], true), (["os": "all"], true), (["os": "any"], true), (["architecture": "all"], true),
        (["os": "linux", "architecture": "amd64"], true), (["os": "linux", "architecture": "aarch64"], false),
        (["architecture": "/amd.*/"], true), (["architecture": "/amd/"], false), (["architecture": "/(arm|amd)64/"], true),
        (["architecture": "/[/"], false),
        (["runtime": "*"], true), (["runtime": "aws_nucleus_lite"], false), (["runtime": "/.*/"], false),
        (["custom": "all"], false), (["os": "#linux"], false), (["os": "-linux"], false), (["os": ""], false),
        (["os": "//"], true), (["runtime": "//"], false), (["os": .absent], false), (["runtime": .absent], true),
        (["os": .anyOf(["windows", "linux"])], true), (["os": .anyOf(["windows", "darwin"])], false),
        (["runtime": .anyOf([.absent, "aws_nucleus_lite"])], true), (["os": .anyOf([])], false),
    ] as [([String: PlatformTemplate], Bool)])
    func manifestPlatformMatching(templates: [String: PlatformTemplate], expected: Bool) {
        #expect(linuxAMD64.matches(templates) == expected)
    }

    static func recipe(_ manifests: [[String: PlatformTemplate]]) -> ComponentRecipe {
        ComponentRecipe(name: "c", version: SemanticVersion(major: 1, minor: 0, patch: 0),
                        manifests: manifests.enumerated().map { PlatformManifest(index: $0.offset, platform: $0.element) })
    }

    @Test func firstMatchingManifestWins() throws {
        let recipe = Self.recipe([["os": "windows"], ["os": "linux", "architecture": "arm"], ["os": "linux"], ["os": "*"]])
        #expect(try recipe.selectManifest(for: linuxAMD64).index == 2)
        #expect(try recipe.selectManifest(for: Platform.linux(machine: "armv7l")).index == 1)
        #expect(try recipe.selectManifest(for: Platform(attributes: ["os": "darwin"])).index == 3)
    }

    @Test func noMatchingManifestNamesThePlatforms() throws {
        let recipe = Self.recipe([["os": "windows"], ["os": "darwin", "architecture": "aarch64"]])
        let error = try #require(recipeError { _ = try recipe.selectManifest(for: linuxAMD64) })
        #expect(error.code == .noMatchingManifest)
        #expect(error.field == "Manifests")
        #expect(error.reason == "no manifest matches this device (architecture=amd64, os=linux); manifest platforms: [0] {os: windows}, [1] {architecture: aarch64, os: darwin}")
    }

    @Test func platformValuesParseAsTemplates() throws {
        let contents = Fixtures.header() + """
            Manifests:
              - Platform:
                  os: [darwin, linux]
                  runtime: ~
                  architecture: "//"
                  version: 2
            """
        let recipe = try ComponentRecipe(contents: contents, fileName: "p.yaml")
        #expect(recipe.manifests[0].platform == [
            "os": .anyOf(["darwin", "linux"]), "runtime": .absent, "architecture": "//", "version": "2",
        ])
        #expect(linuxAMD64.matches(recipe.manifests[0].platform) == false)  // no "version" attribute
        #expect(Platform.linux(machine: "x86_64", overrides: ["version": "2"]).matches(recipe.manifests[0].platform))
        let nested = Fixtures.header() + "Manifests:\n  - Platform:\n      os: [[linux]]\n"
        let error = recipeError { _ = try ComponentRecipe(contents: nested, fileName: "p.yaml") }
        #expect(error?.field == "Manifests[0].Platform.os[0]")
        #expect(error?.code == .wrongType)
    }

    @Test func selectionsFilterTheGlobalLifecycle() throws {
        let recipe = try ComponentRecipe(contents: Fixtures.fullYAML, fileName: "full.yaml")
        let arm = try recipe.resolve(for: Platform.linux(machine: "armv7l"))
        #expect(arm.manifest.index == 0)
        #expect(arm.lifecycle == [
            "Setenv": ["MODE": "global"],
            "Install": ["Script": "./install-arm.sh", "Timeout": 300],
            "Run": ["Script": "./run {work:path}", "RequiresPrivilege": true, "Setenv": ["PORT": 8080], "Skipif": "onpath docker"],
        ])
        let amd = try recipe.resolve(for: linuxAMD64)
        #expect(amd.manifest.index == 1)
        #expect(amd.lifecycle["Install"]?["Script"] == "./install.sh")
        #expect(amd.artifacts.map(\.uri) == ["s3://bucket/path/app.py"])
        let other = try recipe.resolve(for: Platform(attributes: ["os": "darwin", "architecture": "amd64"]))
        #expect(other.manifest.index == 2)
        #expect(other.lifecycle["Install"]?["Script"] == "./install-generic.sh")
        #expect(other.lifecycle["Run"] == "echo unsupported")
        #expect(other.artifacts.isEmpty)
    }

    static let globalOnly = """
        RecipeFormatVersion: '2020-01-25'
        ComponentName: c
        ComponentVersion: 1.0.0
        Manifests:
          - Platform: {os: linux}
            Selections: [linux]
            Lifecycle: {}
          - Platform: {os: windows}
            Selections: [windows]
        Lifecycle:
          linux:
            Run: ./run.sh
            Install: ~
          windows:
            Run: run.cmd
          Install: ignored, because selector keys are present at this level
        """

    @Test func selectorKeysReplaceTheirWholeLevel() throws {
        let recipe = try ComponentRecipe(contents: Self.globalOnly, fileName: "g.yaml")
        // An empty manifest Lifecycle does not hide the global one.
        #expect(try recipe.resolve(for: linuxAMD64).lifecycle == ["Run": "./run.sh"])
        #expect(try recipe.resolve(for: Platform(attributes: ["os": "windows"])).lifecycle == ["Run": "run.cmd"])
    }

    @Test func manifestLifecycleWinsOverGlobal() throws {
        let contents = Self.globalOnly.replacingOccurrences(of: "Lifecycle: {}", with: "Lifecycle: {Run: own}")
        let recipe = try ComponentRecipe(contents: contents, fileName: "g.yaml")
        #expect(try recipe.resolve(for: linuxAMD64).lifecycle == ["Run": "own"])
    }

    @Test func unselectedLifecycleIsEmpty() throws {
        let contents = Self.globalOnly.replacingOccurrences(of: "Selections: [linux]", with: "Selections: [other]")
        let recipe = try ComponentRecipe(contents: contents, fileName: "g.yaml")
        #expect(try recipe.resolve(for: linuxAMD64).lifecycle == [:])
    }
}

extension String {
    /// Plain substring replacement for building test inputs (no Foundation needed).
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        replacing(target, with: replacement)
    }
}
