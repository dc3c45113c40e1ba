import GreengrassJSON

/// A parsed component recipe (JSON or YAML), platform-independent: all manifests are kept, so the
/// same value can be stored and later resolved for a device with `resolve(for:)`.
public struct ComponentRecipe: Sendable, Hashable {
    /// The only format version Greengrass knows.
    public static let supportedFormatVersion = "2020-01-25"

    /// `RecipeFormatVersion`.
    public var formatVersion: String
    /// `ComponentName`.
    public var name: String
    /// `ComponentVersion`.
    public var version: SemanticVersion
    /// `ComponentType` (default `aws.greengrass.generic`).
    public var componentType: ComponentType
    /// `ComponentDescription`.
    public var componentDescription: String?
    /// `ComponentPublisher`.
    public var publisher: String?
    /// `ComponentSource` (a Lambda ARN for Lambda components).
    public var source: String?
    /// `ComponentConfiguration.DefaultConfiguration`; an empty object when absent. `accessControl`
    /// lives in here.
    public var defaultConfiguration: JSONValue
    /// `ComponentDependencies`, in file order.
    public var dependencies: [ComponentDependency]
    /// `Manifests`, in file order (order matters: the first match wins).
    public var manifests: [PlatformManifest]
    /// The top-level `Lifecycle` (the "global lifecycle" that `Selections` filter), if any.
    public var globalLifecycle: RecipeNode?
    /// The file name the recipe was parsed from, for messages.
    public var fileName: String

    /// `name-version`, how Greengrass names a component version in logs and errors.
    public var identifier: String { "\(name)-\(version)" }

    /// Parses a recipe file. The format comes from the extension (`.json`, `.yaml`, `.yml`) or, failing
    /// that, from the content. Every error names `fileName`, the field path and, when known, the line.
    public init(contents: String, fileName: String, format: RecipeFormat? = nil) throws(RecipeError) {
        let format = format ?? RecipeFormat.detect(fileName: fileName, contents: contents)
        let root = try RecipeDocumentReader.read(contents: contents, fileName: fileName, format: format, kind: .recipe)
        self = try RecipeParser(file: fileName).parseRecipe(root)
    }

    /// Parses a recipe file from raw bytes, which must be UTF-8.
    public init(bytes: some Collection<UInt8>, fileName: String, format: RecipeFormat? = nil) throws(RecipeError) {
        let root = try RecipeDocumentReader.read(bytes: bytes, fileName: fileName, format: format, kind: .recipe)
        self = try RecipeParser(file: fileName).parseRecipe(root)
    }

    /// Builds a recipe from parts (tests, built-in components).
    public init(
        name: String, version: SemanticVersion, componentType: ComponentType = .generic,
        componentDescription: String? = nil, publisher: String? = nil, source: String? = nil,
        defaultConfiguration: JSONValue = [:], dependencies: [ComponentDependency] = [],
        manifests: [PlatformManifest], globalLifecycle: RecipeNode? = nil, fileName: String = "<memory>"
    ) {
        self.formatVersion = Self.supportedFormatVersion
        self.name = name
        self.version = version
        self.componentType = componentType
        self.componentDescription = componentDescription
        self.publisher = publisher
        self.source = source
        self.defaultConfiguration = defaultConfiguration
        self.dependencies = dependencies
        self.manifests = manifests
        self.globalLifecycle = globalLifecycle
        self.fileName = fileName
    }

    /// The `dependencies` value Greengrass stores under `services.<Name>`: `["Dep:HARD", "Other:SOFT"]`.
    public var dependencyConfigEntries: [String] {
        dependencies.map { "\($0.name):\($0.type.rawValue)" }
    }
}

/// `ComponentType`.
public enum ComponentType: String, Sendable, Hashable, CaseIterable {
    case generic = "aws.greengrass.generic"
    case lambda = "aws.greengrass.lambda"
    case plugin = "aws.greengrass.plugin"
    case nucleus = "aws.greengrass.nucleus"

    /// How Greengrass stores the type in `services.<Name>.componentType`: `GENERIC`, `LAMBDA`, `PLUGIN`,
    /// `NUCLEUS`.
    public var configValue: String {
        switch self {
        case .generic: return "GENERIC"
        case .lambda: return "LAMBDA"
        case .plugin: return "PLUGIN"
        case .nucleus: return "NUCLEUS"
        }
    }
}

/// One entry of `ComponentDependencies`.
public struct ComponentDependency: Sendable, Hashable {
    public var name: String
    /// `VersionRequirement`.
    public var versionRequirement: VersionRequirement
    /// `DependencyType` (default `HARD`).
    public var type: DependencyType

    public init(name: String, versionRequirement: VersionRequirement, type: DependencyType = .hard) {
        self.name = name
        self.versionRequirement = versionRequirement
        self.type = type
    }
}

/// `HARD` dependencies order start-up and restart the dependent when they restart; `SOFT` ones only
/// constrain versions and get installed.
public enum DependencyType: String, Sendable, Hashable, CaseIterable {
    case hard = "HARD"
    case soft = "SOFT"
}

/// One element of `Manifests`.
public struct PlatformManifest: Sendable, Hashable {
    /// Position in the recipe's `Manifests` list (for messages).
    public var index: Int
    /// `Platform`: attribute → template (`linux`, `*`, `/arm.*/`, a list of alternatives, null).
    public var platform: [String: PlatformTemplate]
    /// `Name`.
    public var name: String?
    /// `Lifecycle`; when non-empty it replaces the global lifecycle entirely.
    public var lifecycle: RecipeNode?
    /// `Selections`: keys into the global lifecycle, in priority order.
    public var selections: [String]
    /// `Artifacts`.
    public var artifacts: [ComponentArtifact]

    public init(
        index: Int = 0, platform: [String: PlatformTemplate] = [:], name: String? = nil, lifecycle: RecipeNode? = nil,
        selections: [String] = [], artifacts: [ComponentArtifact] = []
    ) {
        self.index = index
        self.platform = platform
        self.name = name
        self.lifecycle = lifecycle
        self.selections = selections
        self.artifacts = artifacts
    }
}

/// One element of a manifest's `Artifacts`.
public struct ComponentArtifact: Sendable, Hashable {
    /// `URI` (`s3://…`, `greengrass:…`, `docker:…`).
    public var uri: String
    /// `Unarchive`.
    public var unarchive: UnarchiveType
    /// `Permission`.
    public var permission: ArtifactPermission
    /// `Digest` (set by the cloud service).
    public var digest: String?
    /// `Algorithm` (e.g. `SHA-256`).
    public var algorithm: String?

    public init(uri: String, unarchive: UnarchiveType = .none, permission: ArtifactPermission = ArtifactPermission(),
                digest: String? = nil, algorithm: String? = nil) {
        self.uri = uri
        self.unarchive = unarchive
        self.permission = permission
        self.digest = digest
        self.algorithm = algorithm
    }

    /// The file name the artifact has in `packages/artifacts/<Name>/<Version>/`: the URI's last path
    /// segment (`s3://bucket/a/b/hello.py` → `hello.py`).
    public var fileName: String {
        var path = Substring(uri)
        if let scheme = LiteralSearch.firstRange(of: "://", in: path) { path = path[scheme.upperBound...] } else if let colon = path.firstIndex(of: ":") {
            path = path[path.index(after: colon)...]
        }
        return path.split(separator: "/").last.map(String.init) ?? String(path)
    }

    /// For `ZIP` artifacts, the directory name the archive extracts to under
    /// `packages/artifacts-unarchived/<Name>/<Version>/`: the file name without its extension.
    public var unarchivedDirectoryName: String {
        let name = fileName
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return name }
        return String(name[..<dot])
    }
}

/// `Unarchive`.
public enum UnarchiveType: String, Sendable, Hashable, CaseIterable {
    case none = "NONE"
    case zip = "ZIP"
}

/// `Permission` of an artifact.
public struct ArtifactPermission: Sendable, Hashable {
    /// Who may read the file; default `OWNER`.
    public var read: PermissionType
    /// Who may execute the file; default `NONE`.
    public var execute: PermissionType

    public init(read: PermissionType = .owner, execute: PermissionType = .none) {
        self.read = read
        self.execute = execute
    }

    /// Read as applied to the file: executing needs reading, so Execute widens Read.
    public var effectiveRead: PermissionType { max(read, execute) }
}

/// `NONE`, `OWNER` or `ALL`.
public enum PermissionType: String, Sendable, Hashable, CaseIterable, Comparable {
    case none = "NONE"
    case owner = "OWNER"
    case all = "ALL"

    private var rank: Int {
        switch self {
        case .none: return 0
        case .owner: return 1
        case .all: return 2
        }
    }

    public static func < (lhs: PermissionType, rhs: PermissionType) -> Bool { lhs.rank < rhs.rank }
}
