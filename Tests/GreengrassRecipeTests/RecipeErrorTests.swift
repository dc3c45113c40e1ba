import GreengrassRecipe
import Testing

@Suite struct RecipeErrorTests {
    struct BadRecipe: Sendable, CustomTestStringConvertible {
        let name: String
        let fileName: String
        let contents: String
        let code: RecipeError.Code
        let field: String
        let line: Int?
        var testDescription: String { name }
    }

    static let header = """
        RecipeFormatVersion: '2020-01-25'
        ComponentName: com.example.Bad
        ComponentVersion: '1.0.0'

        """

    static let bad: [BadRecipe] = [
        BadRecipe(name: "invalid YAML", fileName: "a.yaml", contents: "ComponentName: [unclosed\nx: 1\n",
                  code: .syntax, field: "", line: 2),
        BadRecipe(name: "invalid JSON", fileName: "a.json", contents: "{\n  \"ComponentName\": \n}",
                  code: .syntax, field: "", line: 3),
        BadRecipe(name: "JSON with trailing comma", fileName: "a.json", contents: "{\"a\": 1,}",
                  code: .syntax, field: "", line: 1),
        BadRecipe(name: "empty file", fileName: "a.yaml", contents: "  \n\n", code: .emptyRecipe, field: "", line: nil),
        BadRecipe(name: "comment only", fileName: "a.yaml", contents: "# nothing\n", code: .emptyRecipe, field: "", line: nil),
        BadRecipe(name: "not a map", fileName: "a.yaml", contents: "- a\n- b\n", code: .wrongType, field: "", line: 1),
        BadRecipe(name: "duplicate key", fileName: "a.yaml", contents: header + "ComponentName: again\n",
                  code: .syntax, field: "", line: nil),
        BadRecipe(name: "missing format version", fileName: "a.yaml", contents: "ComponentName: x\nComponentVersion: 1.0.0\n",
                  code: .missingField, field: "RecipeFormatVersion", line: 1),
        BadRecipe(name: "wrong format version", fileName: "a.yaml",
                  contents: "ComponentName: x\nRecipeFormatVersion: 2021-01-01\n",
                  code: .unsupportedFormatVersion, field: "RecipeFormatVersion", line: 2),
        BadRecipe(name: "bad name", fileName: "a.yaml",
                  contents: "RecipeFormatVersion: '2020-01-25'\nComponentName: com example\nComponentVersion: 1.0.0\n",
                  code: .invalidValue, field: "ComponentName", line: 2),
        BadRecipe(name: "name too long", fileName: "a.yaml",
                  contents: "RecipeFormatVersion: '2020-01-25'\nComponentName: \(String(repeating: "a", count: 129))\nComponentVersion: 1.0.0\n",
                  code: .invalidValue, field: "ComponentName", line: 2),
        BadRecipe(name: "name is a list", fileName: "a.yaml",
                  contents: "RecipeFormatVersion: '2020-01-25'\nComponentName: [a]\n",
                  code: .wrongType, field: "ComponentName", line: 2),
        BadRecipe(name: "version is a YAML float", fileName: "a.yaml",
                  contents: "RecipeFormatVersion: '2020-01-25'\nComponentName: c\nComponentVersion: 1.0\n",
                  code: .invalidVersion, field: "ComponentVersion", line: 3),
        BadRecipe(name: "missing version", fileName: "a.json",
                  contents: "{\"RecipeFormatVersion\": \"2020-01-25\", \"ComponentName\": \"c\"}",
                  code: .missingField, field: "ComponentVersion", line: 1),
        BadRecipe(name: "bad component type", fileName: "a.yaml", contents: header + "ComponentType: aws.greengrass.docker\n",
                  code: .invalidValue, field: "ComponentType", line: 4),
        BadRecipe(name: "bad version range", fileName: "a.yaml",
                  contents: header + "ComponentDependencies:\n  com.example.Lib:\n    VersionRequirement: '>>1'\n",
                  code: .invalidVersionRequirement, field: "ComponentDependencies.com.example.Lib.VersionRequirement", line: 6),
        BadRecipe(name: "missing version range", fileName: "a.yaml",
                  contents: header + "ComponentDependencies:\n  com.example.Lib:\n    DependencyType: HARD\n",
                  code: .missingField, field: "ComponentDependencies.com.example.Lib.VersionRequirement", line: 6),
        BadRecipe(name: "bad dependency type", fileName: "a.yaml",
                  contents: header + "ComponentDependencies:\n  Lib:\n    VersionRequirement: '*'\n    DependencyType: MEDIUM\n",
                  code: .invalidValue, field: "ComponentDependencies.Lib.DependencyType", line: 7),
        BadRecipe(name: "dependency not a map", fileName: "a.yaml",
                  contents: header + "ComponentDependencies:\n  Lib: 1.0.0\n",
                  code: .wrongType, field: "ComponentDependencies.Lib", line: 5),
        BadRecipe(name: "default configuration not a map", fileName: "a.yaml",
                  contents: header + "ComponentConfiguration:\n  DefaultConfiguration: hello\n",
                  code: .wrongType, field: "ComponentConfiguration.DefaultConfiguration", line: 5),
        BadRecipe(name: "no manifests", fileName: "a.yaml", contents: header + "Lifecycle:\n  Run: x\n",
                  code: .missingField, field: "Manifests", line: 1),
        BadRecipe(name: "empty manifests", fileName: "a.yaml", contents: header + "Manifests: []\n",
                  code: .missingField, field: "Manifests", line: 4),
        BadRecipe(name: "manifests not a list", fileName: "a.yaml", contents: header + "Manifests:\n  os: linux\n",
                  code: .wrongType, field: "Manifests", line: 5),
        BadRecipe(name: "null manifest", fileName: "a.yaml", contents: header + "Manifests:\n  - \n  - Platform: {os: linux}\n",
                  code: .wrongType, field: "Manifests[0]", line: 5),
        BadRecipe(name: "platform value is a map", fileName: "a.yaml",
                  contents: header + "Manifests:\n  - Platform:\n      os: {a: b}\n",
                  code: .wrongType, field: "Manifests[0].Platform.os", line: 6),
        BadRecipe(name: "selections not a list", fileName: "a.yaml",
                  contents: header + "Manifests:\n  - Selections: linux\n",
                  code: .wrongType, field: "Manifests[0].Selections", line: 5),
        BadRecipe(name: "artifact without URI", fileName: "a.yaml",
                  contents: header + "Manifests:\n  - Artifacts:\n      - Unarchive: ZIP\n",
                  code: .missingField, field: "Manifests[0].Artifacts[0].URI", line: 6),
        BadRecipe(name: "bad unarchive", fileName: "a.yaml",
                  contents: header + "Manifests:\n  - Artifacts:\n      - URI: s3://b/k.rar\n        Unarchive: RAR\n",
                  code: .invalidValue, field: "Manifests[0].Artifacts[0].Unarchive", line: 7),
        BadRecipe(name: "bad permission", fileName: "a.yaml",
                  contents: header + "Manifests:\n  - Artifacts:\n      - URI: s3://b/k\n        Permission:\n          Read: EVERYONE\n",
                  code: .invalidValue, field: "Manifests[0].Artifacts[0].Permission.Read", line: 8),
        BadRecipe(name: "lifecycle is a list", fileName: "a.yaml",
                  contents: header + "Manifests:\n  - Lifecycle: [a]\n",
                  code: .wrongType, field: "Manifests[0].Lifecycle", line: 5),
        BadRecipe(name: "alias bomb", fileName: "a.yaml", contents: """
            a: &a [x, x, x, x, x, x, x, x, x, x]
            b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
            c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
            d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
            e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
            f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
            """, code: .limitExceeded, field: "", line: nil),
    ]

    @Test(arguments: bad)
    func badRecipesNameFileFieldAndLine(_ example: BadRecipe) throws {
        let error = try #require(recipeError { _ = try ComponentRecipe(contents: example.contents, fileName: example.fileName) })
        #expect(error.code == example.code, "\(error)")
        #expect(error.field == example.field, "\(error)")
        #expect(error.file == example.fileName)
        if let line = example.line {
            #expect(error.line == line, "\(error)")
        }
        #expect(error.description.hasPrefix(example.fileName + ":"))
        #expect(!error.reason.isEmpty)
    }

    @Test(arguments: [200, 5_000, 100_000])
    func deepNestingIsRejectedWithoutCrashing(depth: Int) {
        // The reader stops at level 129 as the collection opens, whatever the depth (libyaml alone would go to 1000).
        for text in ["a: " + String(repeating: "[", count: depth) + String(repeating: "]", count: depth),
                     String(repeating: "- ", count: depth) + "x"] {
            let error = recipeError { _ = try ComponentRecipe(contents: text, fileName: "deep.yaml") }
            #expect(error?.code == .limitExceeded, "\(String(describing: error))")
            #expect(error?.line == 1 && error?.column != nil, "\(String(describing: error))")
        }
        let json = String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        #expect(recipeError { _ = try ComponentRecipe(contents: json, fileName: "deep.json") }?.code == .syntax)
    }

    @Test func invalidUTF8Bytes() {
        let error = recipeError { _ = try ComponentRecipe(bytes: [0x61, 0x3A, 0x20, 0xFF], fileName: "bin.yaml") }
        #expect(error?.code == .syntax)
    }

    @Test func descriptionLooksLikeACompilerDiagnostic() throws {
        let contents = """
            RecipeFormatVersion: '2020-01-25'
            ComponentName: com.example.Foo
            ComponentVersion: '1.0.0'
            Manifests:
              - Platform:
                  os: linux
                Lifecycle:
                  Run:
                    Script: ./run.sh
                    Timeout: abc
            """
        let recipe = try ComponentRecipe(contents: contents, fileName: "recipes/com.example.Foo-1.0.0.yaml")
        let error = try #require(recipeError { _ = try recipe.resolve(for: linuxAMD64) })
        #expect(error.description == #"recipes/com.example.Foo-1.0.0.yaml:10:18: Manifests[0].Lifecycle.Run.Timeout: expected an integer number of seconds, got "abc""#)
        #expect(RecipeError(code: .syntax, file: "f", field: "", reason: "r").description == "f: r")
        #expect(RecipeError(code: .syntax, file: "f", field: "X", line: 3, reason: "r").description == "f:3: X: r")
    }
}
