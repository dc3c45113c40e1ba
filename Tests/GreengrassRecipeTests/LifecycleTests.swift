import GreengrassJSON
import GreengrassLifecycle
import GreengrassRecipe
import Testing

@Suite struct LifecycleTests {
    @Test func defaultTimeoutsMatchGreengrass() {
        let expected: [LifecyclePhase: Int?] = [
            .bootstrap: 120, .install: 120, .startup: 120, .run: nil, .shutdown: 15, .recover: 60, .uninstall: 120,
        ]
        for phase in LifecyclePhase.allCases {
            #expect(PhaseDefinition(phase: phase, script: "s").timeoutSeconds == expected[phase] ?? nil, "\(phase)")
        }
    }

    @Test func stringAndObjectForms() throws {
        let lifecycle: JSONValue = [
            "Setenv": ["A": "1", "B": 2, "C": true, "D": nil],
            "Install": "pip install x",
            "Startup": ["Script": "start", "Timeout": 30, "RequiresPrivilege": true, "Setenv": ["A": "phase"]],
            "Run": "ignored because Startup exists",
            "Shutdown": ["Script": "stop", "Timeout": "20"],
            "Recover": ["script": "fix", "skipif": "!exists /tmp/ok"],
            "Bootstrap": ["Script": "boot", "Skipif": "exists /etc/already-bootstrapped"],
            "Uninstall": ["Script": "bye", "RequiresPrivilege": "false"],
            "errorResetTime": 600,
            "SomethingElse": ["ignored": true],
        ]
        let definition = try LifecycleDefinition(parsing: lifecycle, file: "f")
        #expect(definition.setenv == ["A": "1", "B": "2", "C": "true", "D": ""])
        #expect(definition.errorResetTimeSeconds == 600)
        #expect(definition.phases.count == 7)
        #expect(definition[.install] == PhaseDefinition(phase: .install, script: "pip install x"))
        let startup = try #require(definition[.startup])
        #expect(startup.form == .object(scriptKey: "Script"))
        #expect(startup.timeoutSeconds == 30 && startup.requiresPrivilege)
        #expect(definition.mainPhase?.phase == .startup)
        #expect(definition.environment(for: .startup) == ["A": "phase", "B": "2", "C": "true", "D": ""])
        #expect(definition.environment(for: .install)["A"] == "1")
        #expect(definition[.shutdown]?.timeoutSeconds == 20)
        #expect(definition[.recover]?.skipIf == SkipCondition(check: .exists, argument: "/tmp/ok", negated: true))
        #expect(definition[.recover]?.timeoutSeconds == 60)
        #expect(definition[.bootstrap]?.skipIf == SkipCondition(check: .exists, argument: "/etc/already-bootstrapped"))
        #expect(definition[.uninstall]?.requiresPrivilege == false)
        #expect(definition[.run]?.timeoutSeconds == nil)
    }

    @Test func runIsTheMainPhaseWithoutStartupAndNothingIsFine() throws {
        #expect(try LifecycleDefinition(parsing: ["Run": "r"], file: "f").mainPhase?.phase == .run)
        #expect(try LifecycleDefinition(parsing: ["Install": "i"], file: "f").mainPhase == nil)
        #expect(try LifecycleDefinition(parsing: [:], file: "f").phases.isEmpty)
        #expect(try LifecycleDefinition(parsing: nil, file: "f").phases.isEmpty)
        #expect(try LifecycleDefinition(parsing: ["Run": nil], file: "f").phases.isEmpty)
        #expect(try LifecycleDefinition(parsing: ["Run": 5], file: "f")[.run]?.script == "5")
    }

    struct BadLifecycle: Sendable, CustomTestStringConvertible {
        let lifecycle: JSONValue
        let code: RecipeError.Code
        let field: String
        var testDescription: String { lifecycle.description }
    }

    static let bad: [BadLifecycle] = [
        BadLifecycle(lifecycle: "run", code: .wrongType, field: "Lifecycle"),
        BadLifecycle(lifecycle: ["Run": ["a", "b"]], code: .wrongType, field: "Lifecycle.Run"),
        BadLifecycle(lifecycle: ["Run": ["Timeout": 5]], code: .missingField, field: "Lifecycle.Run.Script"),
        BadLifecycle(lifecycle: ["Run": ["Script": ["x": 1]]], code: .wrongType, field: "Lifecycle.Run.Script"),
        BadLifecycle(lifecycle: ["Run": ["Script": "s", "Timeout": "abc"]], code: .wrongType, field: "Lifecycle.Run.Timeout"),
        BadLifecycle(lifecycle: ["Run": ["Script": "s", "Timeout": 1.5]], code: .wrongType, field: "Lifecycle.Run.Timeout"),
        BadLifecycle(lifecycle: ["Run": ["Script": "s", "Timeout": -1]], code: .invalidValue, field: "Lifecycle.Run.Timeout"),
        BadLifecycle(lifecycle: ["Run": ["Script": "s", "RequiresPrivilege": "maybe"]], code: .wrongType,
                     field: "Lifecycle.Run.RequiresPrivilege"),
        BadLifecycle(lifecycle: ["Run": ["Script": "s", "Setenv": "A=1"]], code: .wrongType, field: "Lifecycle.Run.Setenv"),
        BadLifecycle(lifecycle: ["Setenv": ["A": ["nested": 1]]], code: .wrongType, field: "Lifecycle.Setenv.A"),
        BadLifecycle(lifecycle: ["Install": ["Script": "s", "Skipif": "sometimes"]], code: .invalidSkipIf,
                     field: "Lifecycle.Install.Skipif"),
        BadLifecycle(lifecycle: ["Install": ["Script": "s", "Skipif": ["exists": "/x"]]], code: .wrongType,
                     field: "Lifecycle.Install.Skipif"),
        BadLifecycle(lifecycle: ["Bootstrap": ["Script": "s", "Skipif": "sometimes"]], code: .invalidSkipIf,
                     field: "Lifecycle.Bootstrap.Skipif"),
        BadLifecycle(lifecycle: ["errorResetTime": "soon"], code: .wrongType, field: "Lifecycle.errorResetTime"),
        BadLifecycle(lifecycle: ["Run": ["Script": "s", "Timeout": "{configuration:/t}"]], code: .wrongType,
                     field: "Lifecycle.Run.Timeout"),
    ]

    @Test(arguments: bad)
    func invalidLifecycles(_ example: BadLifecycle) throws {
        let error = try #require(recipeError { _ = try LifecycleDefinition(parsing: example.lifecycle, file: "f.yaml") })
        #expect(error.code == example.code, "\(error)")
        #expect(error.field == example.field, "\(error)")
        #expect(error.file == "f.yaml")
    }

    @Test func placeholdersAreCheckedAfterInterpolation() throws {
        let contents = Fixtures.header() + """
            ComponentConfiguration:
              DefaultConfiguration:
                timeout: 45
            Manifests:
              - Lifecycle:
                  Run:
                    Script: run
                    Timeout: "{configuration:/timeout}"
                    RequiresPrivilege: "{configuration:/root}"
            """
        let recipe = try ComponentRecipe(contents: contents, fileName: "c.yaml")
        let resolved = try recipe.resolve(for: linuxAMD64)  // not judged before interpolation
        func interpolator(_ configuration: JSONValue) -> RecipeInterpolator {
            RecipeInterpolator(rootPath: "/r", thingName: nil,
                               component: .standard(rootPath: "/r", name: "c", version: "1.0.0", configuration: configuration))
        }
        let good = try resolved.interpolatedLifecycle(interpolator(["timeout": 45, "root": true]))
        #expect(good.definition[.run]?.timeoutSeconds == 45)
        #expect(good.definition[.run]?.requiresPrivilege == true)
        #expect(good.config == ["Run": ["Script": "run", "Timeout": "45", "RequiresPrivilege": "true"]])

        let error = try #require(recipeError { _ = try resolved.interpolatedLifecycle(interpolator(["root": false])) })
        #expect(error.description == #"c.yaml:11:18: Manifests[0].Lifecycle.Run.Timeout: expected an integer number of seconds, got "{configuration:/timeout}""#)

        let strict = try #require(recipeError {
            _ = try resolved.interpolatedLifecycle(interpolator(["timeout": 1]), failOnUnresolved: true)
        })
        #expect(strict.code == .unresolvedVariable)
        #expect(strict.description == #"c.yaml:12:28: Manifests[0].Lifecycle.Run.RequiresPrivilege: cannot resolve recipe variable {configuration:/root}: no value at /root in the configuration of c"#)
    }
}
