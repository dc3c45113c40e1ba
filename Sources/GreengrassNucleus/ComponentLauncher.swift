import GreengrassConfig
import GreengrassDeployment
import GreengrassIPCModel
import GreengrassIPCServices
import GreengrassJSON
import GreengrassLifecycle
import GreengrassRecipe
import GreengrassStore
import GreengrassSupervisor

/// Turns a deployed component (its recipe, configuration and run-as user) into what the supervisor runs:
/// the platform's lifecycle, interpolated as Greengrass does at deployment time, plus the process environment
/// Greengrass gives every component (reference §5).
struct ComponentLauncher: Sendable {
    let paths: NucleusPaths
    let settings: NucleusSettings
    let platform: Platform
    let tokens: AuthenticationTokens
    /// The socket path components are told to use (absolute, or `../../ipc.socket` when too long).
    let componentSocketPath: String

    /// Builds the run spec from the recipe of `component` as `recipes` resolved it (throwing why it did not resolve).
    func runSpec(for component: DeployedComponent, deployed: [String: DeployedComponent], recipes: ResolvedRecipes)
        throws -> (ComponentRunSpec, [UnresolvedVariable])
    {
        guard let resolved = try recipes.recipe(component.name, component.version) else {
            throw LaunchError("No recipe for \(component.name) \(component.version) in \(paths.recipesDirectory)")
        }
        let recipe = resolved.recipe
        var dependencies: [String: InterpolationComponent] = [:]
        for dependency in recipe.dependencies {
            guard let deployedDependency = deployed[dependency.name] else { continue }
            dependencies[dependency.name] = InterpolationComponent.standard(
                rootPath: paths.root, name: dependency.name, version: deployedDependency.version,
                configuration: deployedDependency.configuration)
        }
        let interpolator = RecipeInterpolator(
            rootPath: paths.root, thingName: settings.thingName,
            component: InterpolationComponent.standard(
                rootPath: paths.root, name: component.name, version: component.version,
                configuration: component.configuration),
            dependencies: dependencies)
        let lifecycle = try resolved.interpolatedLifecycle(interpolator)
        let definition = lifecycle.definition

        var phases: [LifecyclePhase: PhaseSpec] = [:]
        for (name, phase) in definition.phases {
            phases[name] = PhaseSpec(
                script: phase.script,
                timeout: phase.explicitTimeoutSeconds.map { .seconds($0) },
                requiresPrivilege: phase.requiresPrivilege,
                setenv: phase.setenv,
                skipIf: phase.skipIf,
                scriptNameContext: phase.scriptName(component: component.name))
        }
        // Greengrass ignores Run when Startup is present.
        if phases[.startup] != nil { phases[.run] = nil }

        let spec = ComponentRunSpec(
            name: component.name,
            version: component.version,
            phases: phases,
            componentSetenv: definition.setenv,
            environment: environment(for: component.name),
            hardDependencies: recipe.dependencies.filter { $0.type == .hard }.map(\.name),
            softDependencies: recipe.dependencies.filter { $0.type == .soft }.map(\.name),
            posixUser: component.runWith?.posixUser,
            errorResetTime: .seconds(definition.errorResetTimeSeconds ?? 3600),
            resourceLimits: resourceLimits(for: component))
        return (spec, lifecycle.unresolved)
    }

    /// The component's `runWith.systemResourceLimits`, each limit falling back to `runWithDefault`'s.
    func resourceLimits(for component: DeployedComponent) -> ResourceLimits {
        let own = component.runWith?.systemResourceLimits
        return ResourceLimits(
            memoryKilobytes: own?.memory ?? settings.defaultMemoryKilobytes.map(Int64.init),
            cpus: own?.cpus ?? settings.defaultCpus)
    }

    /// The variables every component process gets; global `setenv` first so that the nucleus's own
    /// variables cannot be overridden by it.
    func environment(for name: String) -> [String: String] {
        var environment = settings.setenv
        let token = tokens.token(for: name)
        environment["SVCUID"] = token
        environment["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = token
        environment["AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH_FOR_COMPONENT"] = componentSocketPath
        environment["AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH"] = paths.ipcSocket
        environment["AWS_IOT_THING_NAME"] = settings.thingName
        environment["GG_ROOT_CA_PATH"] = settings.rootCaPath ?? ""
        environment["GGC_VERSION"] = NucleusVersion.current
        if let region = settings.awsRegion {
            environment["AWS_REGION"] = region
            environment["AWS_DEFAULT_REGION"] = region
        }
        return environment
    }
}

struct LaunchError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

public enum NucleusVersion {
    /// The Greengrass nucleus version this implementation reports (`GGC_VERSION`, `component list`).
    public static let current = "2.14.0"
}
