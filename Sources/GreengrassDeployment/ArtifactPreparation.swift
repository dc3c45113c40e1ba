import GreengrassRecipe
import ZIPFoundation

import Foundation

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

/// Checks a path stored in an archive before anything is written: a hostile archive must not write outside its
/// extraction directory (`../`, absolute paths) or smuggle in NUL bytes.
public enum ArchiveEntryPath {
    /// The entry path as components relative to the extraction directory.
    ///
    /// - Throws: a message naming the entry when it is absolute, empty, contains `..` or a NUL byte.
    public static func validated(_ path: String) throws(ArtifactError) -> [String] {
        guard !path.contains("\0") else { throw ArtifactError("archive entry \"\(path)\" contains a NUL byte") }
        guard !path.hasPrefix("/"), !path.hasPrefix("\\") else {
            throw ArtifactError("archive entry \"\(path)\" is an absolute path")
        }
        let components = path.split(whereSeparator: { $0 == "/" || $0 == "\\" }).map(String.init).filter { $0 != "." }
        guard !components.isEmpty else { throw ArtifactError("archive entry \"\(path)\" has an empty name") }
        guard !components.contains("..") else {
            throw ArtifactError("archive entry \"\(path)\" points outside the extraction directory")
        }
        return components
    }
}

/// Why a component's artifacts cannot be prepared.
public struct ArtifactError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
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
    /// of the files, so `OWNER` means the component's user.
    public func prepare(
        component: String, version: String, artifacts: [ComponentArtifact], owner: ArtifactOwner?
    ) throws(ArtifactError) {
        let isRoot = geteuid() == 0
        let directory = paths.artifacts(component: component, version: version)
        for artifact in artifacts {
            let name = artifact.fileName
            let file = directory + "/" + name
            guard !name.isEmpty, name != ".", name != "..", FileManager.default.fileExists(atPath: file) else {
                throw ArtifactError(
                    "Artifact \(artifact.uri) of \(component) \(version) is not in \(directory): local deployments must "
                        + "provide it with --artifactDir (this nucleus does not download artifacts)")
            }
            try Self.setMode(ArtifactMode.file(artifact.permission, nucleusIsRoot: isRoot), of: file, owner: isRoot ? owner : nil)
            if artifact.unarchive == .zip {
                let target = paths.unarchivedArtifacts(component: component, version: version) + "/" + artifact.unarchivedDirectoryName
                try unzip(file, into: target, owner: isRoot ? owner : nil, nucleusIsRoot: isRoot)
            }
        }
    }

    /// Extracts into a fresh sibling directory, then swaps it in: a failed or interrupted extraction never leaves a
    /// half-filled directory where the component looks.
    func unzip(_ file: String, into target: String, owner: ArtifactOwner?, nucleusIsRoot: Bool) throws(ArtifactError) {
        let staging = target + ".partial"
        let fileManager = FileManager.default
        try? fileManager.removeItem(atPath: staging)
        do {
            let archive = try Archive(url: URL(fileURLWithPath: file), accessMode: .read)
            var entries: [(Entry, [String])] = []
            var total: UInt64 = 0
            for entry in archive {
                entries.append((entry, try ArchiveEntryPath.validated(entry.path)))
                guard entries.count <= maximumArchiveEntries else {
                    throw ArtifactError("\(file) has more than \(maximumArchiveEntries) entries")
                }
                total += entry.uncompressedSize
                guard total <= maximumUnarchivedBytes else {
                    throw ArtifactError("\(file) would extract to more than \(maximumUnarchivedBytes) bytes")
                }
                if entry.type == .symlink {
                    throw ArtifactError("\(file): archive entry \"\(entry.path)\" is a symbolic link, which is not extracted")
                }
            }
            try fileManager.createDirectory(atPath: staging, withIntermediateDirectories: true)
            try Self.setMode(ArtifactMode.directory, of: staging, owner: owner)
            for (entry, components) in entries {
                let destination = staging + "/" + components.joined(separator: "/")
                try Self.createParents(of: components, under: staging, owner: owner)
                if entry.type == .directory {
                    try? fileManager.createDirectory(atPath: destination, withIntermediateDirectories: true)
                    try Self.setMode(ArtifactMode.directory, of: destination, owner: owner)
                    continue
                }
                _ = try archive.extract(entry, to: URL(fileURLWithPath: destination), skipCRC32: false)
                let archiveMode = (entry.fileAttributes[.posixPermissions] as? Int).map { UInt16(truncatingIfNeeded: $0) }
                let mode = ArtifactMode.extractedFile(archiveMode: archiveMode, nucleusIsRoot: nucleusIsRoot)
                try Self.setMode(mode, of: destination, owner: owner)
            }
            try? fileManager.removeItem(atPath: target)
            let parent = String(target[..<(target.lastIndex(of: "/") ?? target.startIndex)])
            try fileManager.createDirectory(atPath: parent, withIntermediateDirectories: true)
            guard rename(staging, target) == 0 else { throw ArtifactError("cannot move \(staging) to \(target): errno \(errno)") }
        } catch let error as ArtifactError {
            try? fileManager.removeItem(atPath: staging)
            throw error
        } catch {
            try? fileManager.removeItem(atPath: staging)
            throw ArtifactError("Cannot extract \(file) to \(target): \(error)")
        }
    }

    /// Directories an entry needs that the archive does not list itself.
    private static func createParents(of components: [String], under root: String, owner: ArtifactOwner?) throws(ArtifactError) {
        var path = root
        for component in components.dropLast() {
            path += "/" + component
            if mkdir(path, 0o755) == 0 {
                try setMode(ArtifactMode.directory, of: path, owner: owner)
            } else if errno != EEXIST {
                throw ArtifactError("cannot create \(path): errno \(errno)")
            }
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
