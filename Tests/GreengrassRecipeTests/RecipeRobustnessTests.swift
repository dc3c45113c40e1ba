import GreengrassRecipe
import GreengrassTestSupport
import Testing

@Suite struct RecipeRobustnessTests {
    /// Deterministic SplitMix64 so a failing mutation reproduces.
    typealias Generator = SplitMix64

    @Test(arguments: [("full.yaml", Fixtures.fullYAML), ("publisher.json", Fixtures.publisherJSON)])
    func mutatedRecipesParseOrFailWithARecipeError(fileName: String, contents: String) {
        var rng = Generator(state: 2024)
        let seed = Array(contents.utf8)
        var failures = 0
        let noise: [UInt8] = Array(":-[]{}\"' \n\t#&*!|>%@`,?".utf8) + [0x00, 0xFF, 0xC3]
        for _ in 0..<300 {
            var bytes = seed
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                let index = Int.random(in: 0..<bytes.count, using: &rng)
                switch Int.random(in: 0..<3, using: &rng) {
                case 0: bytes[index] = noise.randomElement(using: &rng) ?? 0
                case 1: bytes.remove(at: index)
                default: bytes.insert(noise.randomElement(using: &rng) ?? 0, at: index)
                }
            }
            do {
                let recipe = try ComponentRecipe(bytes: bytes, fileName: fileName)
                _ = try recipe.resolve(for: linuxAMD64)
            } catch {
                failures += 1
                #expect(error.file == fileName)
                #expect(!error.reason.isEmpty)
            }
        }
        #expect(failures > 0)
    }
}
