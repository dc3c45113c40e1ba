import GreengrassRecipe

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The `<root>/packages` component store: recipes under `packages/recipes`, artifacts under
/// `packages/artifacts/<Name>/<Version>/`.
public struct PackageStore: Sendable {
    /// Turns a recipe file's bytes into a recipe; every recipe the store reads goes through it once.
    public typealias RecipeFileParser = @Sendable (_ bytes: [UInt8], _ fileName: String) throws -> ComponentRecipe

    public let paths: NucleusPaths
    /// Recipe files larger than this are refused (a recipe is a few KB; this bounds memory on hostile input).
    public static let maximumRecipeBytes = 1 << 20
    private let parseRecipe: RecipeFileParser

    /// - Parameter parseRecipe: the recipe parser (a test counts parses through it).
    public init(
        paths: NucleusPaths,
        parseRecipe: @escaping RecipeFileParser = { bytes, fileName in try ComponentRecipe(bytes: bytes, fileName: fileName) }
    ) {
        self.paths = paths
        self.parseRecipe = parseRecipe
    }

    /// Parses every recipe (`.json`, `.yaml`, `.yml`, recursively; empty files skipped) in `directory` and
    /// copies it into the store. Throws the first parse error, naming the file, field and line; nothing is
    /// copied unless every recipe parses.
    ///
    /// - Returns: the stored recipes by the path of their stored file (each named after that file, as
    ///   ``storedRecipes(reusing:onError:)`` would name it), so the store need not parse them again.
    public func importRecipes(from directory: String) throws(DeploymentFailure) -> [String: ComponentRecipe] {
        var parsed: [(recipe: ComponentRecipe, contents: [UInt8], fileExtension: String)] = []
        for file in Self.recipeFiles(in: directory) {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw .badRecipe("Unable to read \(file)")
            }
            if data.isEmpty { continue }
            guard data.count <= Self.maximumRecipeBytes else {
                throw .badRecipe("Unable to parse \(file) as a recipe: larger than \(Self.maximumRecipeBytes) bytes")
            }
            let contents = Array(data)
            do {
                let recipe = try parseRecipe(contents, file)
                parsed.append((recipe, contents, file.hasSuffix(".json") ? "json" : "yaml"))
            } catch {
                throw .badRecipe("Unable to parse \(file) as a recipe due to: \(error)")
            }
        }
        var stored: [String: ComponentRecipe] = [:]
        for var entry in parsed {
            let destination = paths.recipe(
                component: entry.recipe.name, version: entry.recipe.version.description, fileExtension: entry.fileExtension)
            // A recipe of the same name and version in the other format would shadow this one on reload.
            let other = paths.recipe(
                component: entry.recipe.name, version: entry.recipe.version.description,
                fileExtension: entry.fileExtension == "json" ? "yaml" : "json")
            try? FileManager.default.removeItem(atPath: other)
            do {
                try Self.writeAtomically(Data(entry.contents), to: destination)
            } catch {
                throw .badRecipe("Unable to store recipe \(entry.recipe.identifier): \(error)")
            }
            entry.recipe.fileName = destination
            stored[destination] = entry.recipe
        }
        return stored
    }

    /// Copies `<directory>/<Name>/<Version>/` into the store for every component version found there, checking each
    /// artifact that `expectedDigests(name, version)` (file name → digest) names while it is copied: one read per
    /// file, bounded memory. Every version is staged first and swapped in only when all of them copied and
    /// verified, so a mismatch leaves the store as it was.
    ///
    /// - Returns: the copied versions, as ``versionKey(_:_:)``.
    @discardableResult
    public func importArtifacts(
        from directory: String,
        expectedDigests: (String, String) throws(ArtifactError) -> [String: ExpectedArtifactDigest] = { _, _ in [:] }
    ) throws(DeploymentFailure) -> Set<String> {
        let fileManager = FileManager.default
        var staged: [(staging: String, destination: String, key: String)] = []
        defer { for entry in staged { try? fileManager.removeItem(atPath: entry.staging) } }
        let names = (try? fileManager.contentsOfDirectory(atPath: directory)) ?? []
        for name in names.sorted() {
            let versions = (try? fileManager.contentsOfDirectory(atPath: directory + "/" + name)) ?? []
            for version in versions.sorted() {
                let source = "\(directory)/\(name)/\(version)"
                guard FileSystem.isDirectory(source) else { continue }
                let destination = paths.artifacts(component: name, version: version)
                let staging = destination + ".incoming"
                do {
                    try? fileManager.removeItem(atPath: staging)
                    try fileManager.createDirectory(
                        atPath: paths.artifactsDirectory + "/" + name, withIntermediateDirectories: true)
                } catch {
                    throw .artifactIO("Unable to copy artifacts of \(name) \(version) from \(source): \(error)")
                }
                staged.append((staging, destination, Self.versionKey(name, version)))
                do throws(ArtifactError) {
                    try ArtifactTreeCopy.copy(
                        from: source, to: staging, verifying: try expectedDigests(name, version))
                } catch {
                    throw error.isIntegrityFailure ? .artifactChecksum(error.description) : .artifactIO(error.description)
                }
            }
        }
        var imported: Set<String> = []
        for entry in staged {
            try? fileManager.removeItem(atPath: entry.destination)
            guard rename(entry.staging, entry.destination) == 0 else {
                throw .artifactIO("Unable to move artifacts into \(entry.destination): errno \(errno)")
            }
            imported.insert(entry.key)
        }
        return imported
    }

    /// How a component version is named in ``importArtifacts(from:)``'s result.
    public static func versionKey(_ name: String, _ version: String) -> String { name + "@" + version }

    /// Every recipe in the store. A stored recipe that no longer parses (edited by hand, disk error) is reported
    /// through `onError` and skipped rather than stopping the nucleus.
    ///
    /// - Parameter imported: recipes already parsed, by stored file path (what ``importRecipes(from:)`` returns):
    ///   their files are neither read nor parsed again.
    public func storedRecipes(
        reusing imported: [String: ComponentRecipe] = [:], onError: (String, any Error) -> Void = { _, _ in }
    ) -> StoredRecipes {
        var recipes: [ComponentRecipe] = []
        var locations: [String: String] = [:]
        for file in Self.recipeFiles(in: paths.recipesDirectory) {
            if let recipe = imported[file] {
                recipes.append(recipe)
                locations[recipe.identifier] = file
                continue
            }
            guard let data = FileManager.default.contents(atPath: file), !data.isEmpty,
                data.count <= Self.maximumRecipeBytes
            else { continue }
            do {
                let recipe = try parseRecipe(Array(data), file)
                recipes.append(recipe)
                locations[recipe.identifier] = file
            } catch {
                onError(file, error)
            }
        }
        return StoredRecipes(recipes: recipes, paths: locations)
    }

    /// Recipe files under `directory`, recursively, in a stable order.
    static func recipeFiles(in directory: String) -> [String] {
        var files: [String] = []
        for relative in FileSystem.relativePaths(under: directory) {
            let lowercased = relative.lowercased()
            if lowercased.hasSuffix(".yaml") || lowercased.hasSuffix(".yml") || lowercased.hasSuffix(".json") {
                files.append(directory + "/" + relative)
            }
        }
        return files.sorted()
    }

    /// Write to a temporary file, fsync, rename: a crash leaves the old file or the new one, never half of one.
    static func writeAtomically(_ data: Data, to path: String) throws {
        try data.write(to: URL(fileURLWithPath: path), options: [.atomic])
    }
}
