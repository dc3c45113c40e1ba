import GreengrassJSON
import GreengrassLifecycle
import GreengrassRecipe
import Testing

@Suite struct RecipeParsingTests {
    @Test(arguments: [("HelloWorld-1.0.0.yaml", Fixtures.helloWorldYAML), ("HelloWorld-1.0.0.json", Fixtures.helloWorldJSON)])
    func helloWorldFromTheDeveloperGuide(fileName: String, contents: String) throws {
        let recipe = try ComponentRecipe(contents: contents, fileName: fileName)
        #expect(recipe.formatVersion == "2020-01-25")
        #expect(recipe.name == "com.example.HelloWorld")
        #expect(recipe.version == (try SemanticVersion(parsing: "1.0.0")))
        #expect(recipe.identifier == "com.example.HelloWorld-1.0.0")
        #expect(recipe.componentType == .generic)
        #expect(recipe.componentDescription == "My first AWS IoT Greengrass component.")
        #expect(recipe.publisher == "Amazon")
        #expect(recipe.defaultConfiguration == ["Message": "world"])
        #expect(recipe.dependencies.isEmpty)
        #expect(recipe.manifests.map(\.platform) == [["os": "linux"], ["os": "windows"]])
        #expect(recipe.fileName == fileName)

        let resolved = try recipe.resolve(for: linuxAMD64)
        #expect(resolved.manifest.index == 0)
        #expect(resolved.lifecycle == ["Run": "python3 -u {artifacts:path}/hello_world.py \"{configuration:/Message}\"\n"])
        let interpolator = RecipeInterpolator(
            rootPath: "/greengrass/v2", thingName: "MyThing",
            component: .standard(rootPath: "/greengrass/v2", name: recipe.name, version: "1.0.0",
                                 configuration: recipe.defaultConfiguration))
        let lifecycle = try resolved.interpolatedLifecycle(interpolator)
        #expect(lifecycle.unresolved.isEmpty)
        let run = try #require(lifecycle.definition.mainPhase)
        #expect(run.phase == .run)
        #expect(run.script == "python3 -u /greengrass/v2/packages/artifacts/com.example.HelloWorld/1.0.0/hello_world.py \"world\"\n")
        #expect(run.timeoutSeconds == nil)
        #expect(run.scriptName(component: recipe.name) == "services.com.example.HelloWorld.lifecycle.Run")
        #expect(lifecycle.config == ["Run": .string(run.script)])
    }

    @Test(arguments: [("publisher.yaml", Fixtures.publisherYAML), ("publisher.json", Fixtures.publisherJSON)])
    func iotCorePublisherWithAccessControl(fileName: String, contents: String) throws {
        let recipe = try ComponentRecipe(contents: contents, fileName: fileName)
        #expect(recipe.name == "com.example.IoTCorePublisherPython")
        #expect(recipe.version.description == "1.0.0")
        #expect(recipe.defaultConfiguration == Fixtures.publisherAccessControl)
        let definition = try recipe.resolve(for: linuxAMD64)
            .interpolatedLifecycle(RecipeInterpolator(
                rootPath: "/gg", thingName: nil,
                component: .standard(rootPath: "/gg", name: recipe.name, version: "1.0.0", configuration: [:])))
            .definition
        let install = try #require(definition[.install])
        #expect(install.key == "install")  // recipe casing kept for logs
        #expect(install.script == "python3 -m pip install --user awsiotsdk")
        #expect(install.timeoutSeconds == 120)
        #expect(install.scriptName(component: recipe.name) == "services.com.example.IoTCorePublisherPython.lifecycle.install")
        #expect(definition[.run]?.script == "python3 -u /gg/packages/artifacts/com.example.IoTCorePublisherPython/1.0.0/iot_core_publisher.py")
    }

    @Test(arguments: [(Fixtures.helloWorldYAML, Fixtures.helloWorldJSON), (Fixtures.publisherYAML, Fixtures.publisherJSON)])
    func yamlAndJSONGiveTheSameRecipe(yaml: String, json: String) throws {
        let fromYAML = try ComponentRecipe(contents: yaml, fileName: "recipe")
        let fromJSON = try ComponentRecipe(contents: json, fileName: "recipe")
        #expect(RecipeFormat.detect(fileName: "recipe", contents: yaml) == .yaml)
        #expect(RecipeFormat.detect(fileName: "recipe", contents: json) == .json)
        #expect(fromYAML == fromJSON)
        #expect(try fromYAML.resolve(for: linuxAMD64) == fromJSON.resolve(for: linuxAMD64))
    }

    @Test func fullRecipeFields() throws {
        let recipe = try ComponentRecipe(contents: Fixtures.fullYAML, fileName: "full.yaml")
        #expect(recipe.version == SemanticVersion(major: 2, minor: 1, patch: 0, prerelease: [.alphanumeric("beta"), .numeric(1)]))
        #expect(recipe.dependencies.map(\.name) == ["com.example.Lib", "aws.greengrass.Nucleus"])
        #expect(recipe.dependencies.map(\.type) == [.soft, .hard])
        #expect(recipe.dependencies.map(\.versionRequirement.text) == [">=1.0.0 <2.0.0", "^2.0.0"])
        #expect(recipe.dependencyConfigEntries == ["com.example.Lib:SOFT", "aws.greengrass.Nucleus:HARD"])
        #expect(recipe.manifests.count == 3)
        #expect(recipe.manifests[0].name == "Linux ARM")
        #expect(recipe.manifests[0].selections == ["arm", "linux"])
        #expect(recipe.manifests[2].platform == ["os": "*"])
        let zip = recipe.manifests[0].artifacts[0]
        #expect(zip.uri == "s3://bucket/path/app-arm.zip")
        #expect(zip.unarchive == .zip)
        #expect(zip.permission == ArtifactPermission(read: .all, execute: .owner))
        #expect(zip.fileName == "app-arm.zip")
        #expect(zip.unarchivedDirectoryName == "app-arm")
        let plain = recipe.manifests[1].artifacts[0]
        #expect(plain.uri == "s3://bucket/path/app.py")
        #expect(plain.unarchive == .none)
        #expect(plain.permission == ArtifactPermission(read: .owner, execute: .none))
        #expect(plain.digest == "abc=" && plain.algorithm == "SHA-256")
        #expect(ArtifactPermission(read: .none, execute: .all).effectiveRead == .all)
        #expect(ComponentArtifact(uri: "greengrass:hello.zip").fileName == "hello.zip")
    }

    @Test func caseInsensitiveKeysAndEnums() throws {
        let contents = """
            recipeformatversion: 2020-01-25
            COMPONENTNAME: com.example.Case
            componentVersion: 1.2.3
            componenttype: AWS.GREENGRASS.PLUGIN
            componentDependencies:
              dep:
                versionrequirement: 1.x
                dependencytype: soft
            manifests:
              - platform: {os: linux}
                ARTIFACTS:
                  - uri: s3://b/x.zip
                    unarchive: zip
                    permission: {read: all, EXECUTE: all}
                lifecycle:
                  RUN: {script: run.sh, timeout: "30", requiresprivilege: "TRUE"}
            """
        let recipe = try ComponentRecipe(contents: contents, fileName: "case.yaml")
        #expect(recipe.name == "com.example.Case")
        #expect(recipe.componentType == .plugin)
        #expect(recipe.componentType.configValue == "PLUGIN")
        #expect(recipe.dependencies == [ComponentDependency(name: "dep", versionRequirement: try VersionRequirement(parsing: "1.x"), type: .soft)])
        #expect(recipe.manifests[0].artifacts[0].unarchive == .zip)
        #expect(recipe.manifests[0].artifacts[0].permission == ArtifactPermission(read: .all, execute: .all))
        let run = try #require(try LifecycleDefinition(parsing: recipe.resolve(for: linuxAMD64).lifecycleNode, file: "case.yaml")[.run])
        #expect(run.key == "RUN")
        #expect(run.form == .object(scriptKey: "script"))
        #expect(run.scriptName(component: "C") == "services.C.lifecycle.RUN.script")
        #expect(run.explicitTimeoutSeconds == 30)
        #expect(run.requiresPrivilege)
    }

    @Test(arguments: [
        ("recipe", "{\"a\": 1}", RecipeFormat.json), ("recipe", "  \n{", .json), ("recipe", "a: 1", .yaml),
        ("x.JSON", "a: 1", .json), ("x.yml", "{}", .yaml), ("x.YAML", "{}", .yaml), ("x.txt", "\u{FEFF}{}", .json),
    ])
    func formatDetection(fileName: String, contents: String, expected: RecipeFormat) {
        #expect(RecipeFormat.detect(fileName: fileName, contents: contents) == expected)
    }

    @Test func yamlScalarsBecomeTypedJSON() throws {
        let contents = Fixtures.header() + """
            ComponentConfiguration:
              DefaultConfiguration:
                int: 42
                big: 12345678901234
                float: 2.5
                yes: yes
                quoted: "true"
                nothing: ~
                empty:
                date: 2020-01-25
                list: [1, two]
            Manifests: [{}]
            """
        let recipe = try ComponentRecipe(contents: contents, fileName: "c.yaml")
        #expect(recipe.defaultConfiguration == [
            "int": .int(42), "big": .int(12_345_678_901_234), "float": .double(2.5), "yes": true, "quoted": "true",
            "nothing": nil, "empty": nil, "date": "2020-01-25", "list": [1, "two"],
        ])
        #expect(recipe.manifests[0].platform.isEmpty)
    }
}

@Suite struct RecipeNodeDocumentTests {
    @Test func parsesAnyDocumentWithPositions() throws {
        let document = try RecipeNode(parsingDocument: "system:\n  rootpath: /gg\nservices:\n  a.b.C:\n    configuration: {x: 1}\n",
                                      fileName: "config.yaml", kind: .configuration)
        #expect(document.json == ["system": ["rootpath": "/gg"], "services": ["a.b.C": ["configuration": ["x": 1]]]])
        #expect(document.node(at: ["SYSTEM", "rootPath"])?.location == SourcePosition(line: 2, column: 13))
        #expect(document.node(at: ["services", "a.b.C", "configuration", "x"])?.json == 1)
        #expect(document.node(at: ["services", "missing"]) == nil)
        let error = recipeError { _ = try RecipeNode(parsingDocument: "{\"a\": [1,}", fileName: "config.json", kind: .configuration) }
        #expect(error?.code == .syntax)
        #expect(error?.line == 1)
    }
}
