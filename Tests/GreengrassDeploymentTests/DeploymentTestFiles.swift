import Foundation
import GreengrassDeployment
import GreengrassTestSupport

/// A nucleus root with its package store folders and a recipe folder to deploy from, in a temporary directory.
struct DeploymentTestFiles {
    let directory: TemporaryDirectory
    let paths: NucleusPaths
    /// The folder `--recipeDir` names.
    let recipes: String

    init(prefix: String) throws {
        directory = try TemporaryDirectory(prefix: prefix)
        paths = NucleusPaths(root: directory.file("root"))
        recipes = directory.file("recipes")
        for folder in [paths.configDirectory, paths.recipesDirectory, paths.artifactsDirectory, recipes] {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
    }

    /// Writes `<Name>-1.0.0.yaml` (Run: sleep 600, optionally one dependency) into `folder` (default the recipe folder).
    func writeRecipe(_ name: String, dependsOn dependency: String? = nil, in folder: String? = nil) throws {
        var text = "RecipeFormatVersion: '2020-01-25'\nComponentName: \(name)\nComponentVersion: 1.0.0\n"
        if let dependency { text += "ComponentDependencies:\n  \(dependency):\n    VersionRequirement: '>=1.0.0'\n" }
        text += "Manifests:\n  - Lifecycle:\n      Run: sleep 600\n"
        try text.write(toFile: "\(folder ?? recipes)/\(name)-1.0.0.yaml", atomically: true, encoding: .utf8)
    }
}
