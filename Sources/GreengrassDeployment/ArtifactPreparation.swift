import GreengrassRecipe
import ZipExtraction

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Who owns a component's artifacts: the user its phases run as (Greengrass's `OWNER`).
public struct ArtifactOwner: Sendable, Hashable {
    public var userID: UInt32
    public var groupID: UInt32

    public init(userID: UInt32, groupID: UInt32) {
        self.userID = userID
        self.groupID = groupID
    }
}

/// Greengrass's artifact permission rules (reference §1.4) as Unix modes.
public enum ArtifactMode {
    /// Directories of the store and of extracted archives: `rwxr-xr-x`.
    public static let directory: UInt16 = 0o755

    /// The mode of an artifact file: `Read`/`Execute` `OWNER` give the owner bits, `ALL` also group and other;
    /// Execute implies Read. Owner-write is added when the nucleus is not root, so it can replace the file on the
    /// next deployment (root can anyway), as the Java nucleus does.
    public static func file(_ permission: ArtifactPermission, nucleusIsRoot: Bool) -> UInt16 {
        var mode: UInt16 = nucleusIsRoot ? 0 : 0o200
        switch permission.effectiveRead {
        case .none: break
        case .owner: mode |= 0o400
        case .all: mode |= 0o444
        }
        switch permission.execute {
        case .none: break
        case .owner: mode |= 0o100
        case .all: mode |= 0o111
        }
        return mode
    }

    /// Files extracted from a `ZIP` artifact: readable by everyone, executable bits kept from the archive.
    public static func extractedFile(archiveMode: UInt16?, nucleusIsRoot: Bool) -> UInt16 {
        let executable = (archiveMode ?? 0) & 0o111 != 0
        return (executable ? 0o555 : 0o444) | (nucleusIsRoot ? 0 : 0o200)
    }
}

/// Why a component's artifacts cannot be prepared.
public struct ArtifactError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String
    /// A `Digest` mismatch or an unusable `Digest`/`Algorithm` (Greengrass's `ARTIFACT_CHECKSUM_MISMATCH`).
    public var isIntegrityFailure: Bool
    public init(_ description: String, isIntegrityFailure: Bool = false) {
        self.description = description
        self.isIntegrityFailure = isIntegrityFailure
    }
}

/// Prepares a component version's artifacts in the package store after they were copied there: checks every
/// artifact the recipe names is present (this nucleus does not download `s3://` URIs), applies its `Permission`,
/// and extracts `Unarchive: ZIP` archives to `packages/artifacts-unarchived/<Name>/<Version>/<archive name>/`.
public struct ArtifactPreparation: Sendable {
    public let paths: NucleusPaths
    /// Upper bound on the total uncompressed size of one archive (a zip bomb must not fill the disk).
    public var maximumUnarchivedBytes: UInt64
    /// Upper bound on the number of entries of one archive.
    public var maximumArchiveEntries: Int

    public init(paths: NucleusPaths, maximumUnarchivedBytes: UInt64 = 2 << 30, maximumArchiveEntries: Int = 100_000) {
        self.paths = paths
        self.maximumUnarchivedBytes = maximumUnarchivedBytes
        self.maximumArchiveEntries = maximumArchiveEntries
    }

    /// Prepares every artifact of `component` `version`; `owner` (when the nucleus is root) becomes the owner
    /// of the files, so `OWNER` means the component's user. `verifyDigests` re-reads each artifact with a `Digest`
    /// and checks it: a stored artifact reused by a deployment may have changed since it was copied in (one this
    /// deployment just copied was verified during the copy).
    public func prepare(
        component: String, version: String, artifacts: [ComponentArtifact], owner: ArtifactOwner?,
        verifyDigests: Bool = true
    ) throws(ArtifactError) {
        let isRoot = geteuid() == 0
        let directory = paths.artifacts(component: component, version: version)
        let digests = try ExpectedArtifactDigest.byFileName(artifacts, component: component, version: version)
        for artifact in artifacts {
            let name = artifact.fileName
            let file = directory + "/" + name
            var status = stat()
            guard !name.isEmpty, name != ".", name != "..", stat(file, &status) == 0 else {
                throw ArtifactError(
                    "Artifact \(artifact.uri) of \(component) \(version) is not in \(directory): local deployments must "
                        + "provide it with --artifactDir (this nucleus does not download artifacts)")
            }
            if verifyDigests, let expected = digests[name] {
                try expected.check(actual: DigestingFileReader.stream(file, algorithm: expected.algorithm) ?? [])
            }
            try Self.setMode(ArtifactMode.file(artifact.permission, nucleusIsRoot: isRoot), of: file, owner: isRoot ? owner : nil)
            if artifact.unarchive == .zip {
                let target = paths.unarchivedArtifacts(component: component, version: version) + "/" + artifact.unarchivedDirectoryName
                try unzip(file, into: target, owner: isRoot ? owner : nil, nucleusIsRoot: isRoot)
            }
        }
    }

    /// Extracts with every archive check of `ZipExtractor`: a failed or interrupted extraction never leaves a
    /// half-filled directory where the component looks.
    func unzip(_ file: String, into target: String, owner: ArtifactOwner?, nucleusIsRoot: Bool) throws(ArtifactError) {
        let extractor = ZipExtractor(
            limits: ZipLimits(maximumTotalBytes: maximumUnarchivedBytes, maximumEntries: maximumArchiveEntries),
            modes: ZipOutputModes(
                directory: ArtifactMode.directory,
                file: ArtifactMode.extractedFile(archiveMode: 0, nucleusIsRoot: nucleusIsRoot),
                executableFile: ArtifactMode.extractedFile(archiveMode: 0o111, nucleusIsRoot: nucleusIsRoot)),
            owner: owner.map { ZipOutputOwner(userID: $0.userID, groupID: $0.groupID) })
        do { try extractor.extract(archive: file, into: target) } catch {
            throw ArtifactError("Cannot extract into \(target): \(error)")
        }
    }

    private static func setMode(_ mode: UInt16, of path: String, owner: ArtifactOwner?) throws(ArtifactError) {
        if let owner, lchown(path, owner.userID, owner.groupID) != 0 {
            throw ArtifactError("cannot give \(path) to uid \(owner.userID): errno \(errno)")
        }
        guard chmod(path, mode_t(mode)) == 0 else {
            throw ArtifactError("cannot set the permissions of \(path): errno \(errno)")
        }
    }
}
