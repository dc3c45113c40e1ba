import GreengrassJSON
import Testing

@testable import GreengrassRecipe

/// JSON recipes are read in one pass, values and positions together, instead of once by the JSON parser for the
/// values and again by the YAML reader for the positions.
@Suite("Located JSON reader")
struct LocatedJSONReaderTests {
    /// Every node's path and position, depth first.
    static func positions(_ node: RecipeNode, _ path: String = "") -> [String] {
        var result = ["\(path)@\(node.location.map(\.description) ?? "?")"]
        switch node.content {
        case .scalar(_, let text): result[0] += "=\(text)"
        case .sequence(let elements):
            for (index, element) in elements.enumerated() { result += positions(element, "\(path)/\(index)") }
        case .mapping(let members):
            for member in members { result += positions(member.value, "\(path)/\(member.key)") }
        }
        return result
    }

    static let recipe = """
        {
          "RecipeFormatVersion": "2020-01-25",
          "ComponentName": "com.example.Ünïcode",\r
          "ComponentVersion": "1.0.0",
          "ComponentConfiguration": {"DefaultConfiguration": {"n": -1.5e3, "i": 42, "t": true, "z": null, "s": "a\\"b\\u00e9", "e": {}, "l": []}},
          "Manifests": [ { "Lifecycle": { "Run": "echo \\"hi\\"" } } ]
        }
        """

    @Test func valuesAndPositionsAreThoseOfTheJSONParserAndTheYAMLReader() throws {
        let located = try #require(LocatedJSONReader.read(Self.recipe, maximumDepth: 128))
        let composed = try #require(try YAMLComposer.compose(Self.recipe, file: "r.json"))
        #expect(located.json == (try JSONValue(parsing: Self.recipe)))
        #expect(Self.positions(located) == Self.positions(composed))
    }

    @Test(arguments: ["{\"a\": 1,}", "[1 2]", "{\"a\" 1}", "{'a': 1}", "[01]", "[tru]", "\"\u{01}\"", "{\"a\": 1} x", "[", "{\"a\": [1}"])
    func whatTheJSONParserRefusesItRefusesToo(_ text: String) {
        #expect(LocatedJSONReader.read(text, maximumDepth: 128) == nil)
    }

    @Test func nestingDeeperThanTheLimitIsLeftToTheJSONParser() {
        #expect(LocatedJSONReader.read("[[1]]", maximumDepth: 2) != nil)
        #expect(LocatedJSONReader.read("[[[1]]]", maximumDepth: 2) == nil)
    }

    /// A key longer than 1024 characters is JSON the YAML reader cannot read: the second pass used to find no
    /// positions, so an error in such a recipe named no line. Read in one pass, it does.
    @Test func aJSONRecipeTheYAMLReaderCannotReadStillGetsLinesInItsErrors() throws {
        let longKey = String(repeating: "k", count: 1100)
        let text = """
            {
              "RecipeFormatVersion": "2020-01-25",
              "ComponentConfiguration": {"DefaultConfiguration": {"\(longKey)": 1}},
              "ComponentName": "bad name!",
              "ComponentVersion": "1.0.0",
              "Manifests": [{}]
            }
            """
        #expect(throws: RecipeError.self) { _ = try YAMLComposer.compose(text, file: "t.json") }
        do {
            _ = try ComponentRecipe(contents: text, fileName: "t.json")
            Issue.record("a bad component name parsed")
        } catch {
            #expect(error.line == 4)
            #expect(error.column == 20)
        }
    }
}
