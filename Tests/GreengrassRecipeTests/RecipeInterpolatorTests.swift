import GreengrassJSON
import GreengrassRecipe
import Testing

@Suite struct RecipeInterpolatorTests {
    static let interpolator = RecipeInterpolator(
        rootPath: "/greengrass/v2", thingName: "MyThing",
        component: .standard(rootPath: "/greengrass/v2", name: "com.example.App", version: "1.2.0", configuration: [
            "Message": "hello", "Count": 3, "Ratio": 0.5, "Enabled": false, "Nothing": nil,
            "Nested": ["b": [1, "x"], "a": "y"], "List": ["p", "q"], "a/b": "slash", "m~n": "tilde",
        ]),
        dependencies: [
            "com.example.Lib": .standard(rootPath: "/greengrass/v2", name: "com.example.Lib", version: "2.0.0",
                                         configuration: ["port": 8080]),
            "dash-dep": .standard(rootPath: "/greengrass/v2", name: "dash-dep", version: "0.1.0", configuration: ["k": "v"]),
        ])

    /// (input, output, unresolved placeholders)
    static let cases: [(String, String, [String])] = [
        ("no variables", "no variables", []),
        ("{artifacts:path}/run.py", "/greengrass/v2/packages/artifacts/com.example.App/1.2.0/run.py", []),
        ("{artifacts:decompressedPath}/app", "/greengrass/v2/packages/artifacts-unarchived/com.example.App/1.2.0/app", []),
        ("cd {work:path}", "cd /greengrass/v2/work/com.example.App", []),
        ("{kernel:rootPath}/bin", "/greengrass/v2/bin", []),
        ("thing={iot:thingName}", "thing=MyThing", []),
        ("say {configuration:/Message}", "say hello", []),
        ("{configuration:/Count}x{configuration:/Ratio} {configuration:/Enabled} {configuration:/Nothing}", "3x0.5 false null", []),
        ("'{configuration:/Nested}'", #"'{"a":"y","b":[1,"x"]}'"#, []),
        ("{configuration:/List}", #"["p","q"]"#, []),
        ("{configuration:/List/1}", "q", []),
        ("{configuration:/a~1b} {configuration:/m~0n}", "slash tilde", []),
        ("{configuration:/Message}{configuration:/Message}", "hellohello", []),
        ("port {com.example.Lib:configuration:/port}", "port 8080", []),
        ("{com.example.Lib:artifacts:path}", "/greengrass/v2/packages/artifacts/com.example.Lib/2.0.0", []),
        ("{com.example.Lib:artifacts:decompressedPath}", "/greengrass/v2/packages/artifacts-unarchived/com.example.Lib/2.0.0", []),
        ("{com.example.Lib:work:path}", "/greengrass/v2/work/com.example.Lib", []),
        ("{dash-dep:configuration:/k}", "v", []),
        // Left as written and reported:
        ("{configuration:/Missing}", "{configuration:/Missing}", ["{configuration:/Missing}"]),
        ("{configuration:no-slash}", "{configuration:no-slash}", ["{configuration:no-slash}"]),
        ("{unknown:thing}", "{unknown:thing}", ["{unknown:thing}"]),
        ("{artifacts:other}", "{artifacts:other}", ["{artifacts:other}"]),
        ("{com.example.Other:configuration:/x}", "{com.example.Other:configuration:/x}", ["{com.example.Other:configuration:/x}"]),
        ("{com.example.Lib:configuration:/nope}", "{com.example.Lib:configuration:/nope}", ["{com.example.Lib:configuration:/nope}"]),
        ("{com.example.Lib:bogus:key}", "{com.example.Lib:bogus:key}", ["{com.example.Lib:bogus:key}"]),
        // Not variables at all:
        ("echo {} {a} {:b} {a:} ${HOME} {a b:c}", "echo {} {a} {:b} {a:} ${HOME} {a b:c}", []),
        ("{{configuration:/Message}}", "{hello}", []),
        ("json '{\"k\": 1}'", "json '{\"k\": 1}'", []),
    ]

    @Test(arguments: cases)
    func substitutesLikeGreengrass(input: String, output: String, unresolved: [String]) {
        let result = Self.interpolator.interpolate(input)
        #expect(result.value == output)
        #expect(result.unresolved.map(\.placeholder) == unresolved)
    }

    @Test func missingThingNameIsUnresolved() {
        var interpolator = Self.interpolator
        interpolator.thingName = nil
        let result = interpolator.interpolate("{iot:thingName}")
        #expect(result.value == "{iot:thingName}")
        #expect(result.unresolved == [UnresolvedVariable(placeholder: "{iot:thingName}", kind: .unavailable,
                                                         reason: "the device has no thing name")])
    }

    @Test func unresolvedKinds() {
        let text = "${HOME:-/tmp} {artifacts:other} {configuration:/none} {Other:work:path} {com.example.Lib:work:path}"
        let kinds = Self.interpolator.interpolate(text).unresolved.map(\.kind)
        #expect(kinds == [.unknownNamespace, .unknownKey, .missingValue, .notADirectDependency])
    }

    @Test func unresolvedReasonsAreSpecific() {
        let reasons = Self.interpolator.interpolate("{com.example.Other:work:path} {nope:x}").unresolved.map(\.description)
        #expect(reasons == [
            "{nope:x}: unknown namespace \"nope\"",
            "{com.example.Other:work:path}: com.example.Other is not a direct dependency of com.example.App",
        ])
    }

    @Test func walksNestedMapsAndListsButNotKeysOrNonStrings() {
        let lifecycle: JSONValue = [
            "Run": ["Script": "{work:path}/run", "Setenv": ["{configuration:/Message}": "{configuration:/Count}"], "Timeout": 5],
            "Install": ["a {iot:thingName}", 7],
        ]
        let result = Self.interpolator.interpolate(lifecycle)
        #expect(result.value == [
            "Run": ["Script": "/greengrass/v2/work/com.example.App/run", "Setenv": ["{configuration:/Message}": "3"], "Timeout": 5],
            "Install": ["a MyThing", 7],
        ])
        #expect(result.unresolved.isEmpty)
    }

    @Test func configurationInterpolationUsesSystemVariablesOnly() {
        let configuration: JSONValue = [
            "accessControl": ["aws.greengrass.ipc.mqttproxy": ["p": ["resources": ["things/{iot:thingName}/data"]]]],
            "path": "{artifacts:path}", "self": "{configuration:/Message}", "dep": "{com.example.Lib:work:path}",
        ]
        let result = Self.interpolator.interpolateConfiguration(configuration)
        #expect(result.value["accessControl"]?["aws.greengrass.ipc.mqttproxy"]?["p"]?["resources"] == ["things/MyThing/data"])
        #expect(result.value["path"] == "/greengrass/v2/packages/artifacts/com.example.App/1.2.0")
        #expect(result.value["self"] == "{configuration:/Message}")
        #expect(result.value["dep"] == "{com.example.Lib:work:path}")
        #expect(Set(result.unresolved.map(\.placeholder)) == ["{configuration:/Message}", "{com.example.Lib:work:path}"])
    }

    @Test func locatedTreeKeepsPositions() throws {
        let recipe = try ComponentRecipe(contents: Fixtures.helloWorldYAML, fileName: "h.yaml")
        let node = try recipe.resolve(for: linuxAMD64).lifecycleNode
        let result = Self.interpolator.interpolate(node)
        let located = RecipeInterpolator(rootPath: "/r", thingName: nil,
                                         component: .standard(rootPath: "/r", name: "h", version: "1.0.0", configuration: [:]))
            .interpolate(node).unresolved
        #expect(located.map(\.placeholder) == ["{configuration:/Message}"])
        #expect(located.first?.field == "Run")
        #expect(located.first?.location == SourcePosition(line: 14, column: 12))
        let run = try #require(result.value.member("Run"))
        #expect(run.value.location == SourcePosition(line: 14, column: 12))
        #expect(run.value.json.stringValue?.hasPrefix("python3 -u /greengrass/v2/packages/artifacts/com.example.App/1.2.0/") == true)
    }

    @Test(arguments: [("{a:b}", true), ("x {Dep:work:path} y", true), ("{a}", false), ("{ a:b}", false), ("plain", false)])
    func placeholderDetection(text: String, expected: Bool) {
        #expect(RecipeInterpolator.containsPlaceholder(text) == expected)
    }

    @Test func standardPathsTrimATrailingSlash() {
        let component = InterpolationComponent.standard(rootPath: "/gg/", name: "n", version: "1.0.0", configuration: [:])
        #expect(component.workPath == "/gg/work/n")
        #expect(component.artifactsPath == "/gg/packages/artifacts/n/1.0.0")
    }
}
