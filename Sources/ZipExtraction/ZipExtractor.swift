#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Who owns the extracted files (set only when the nucleus runs as root).
public struct ZipOutputOwner: Sendable, Hashable {
    public var userID: UInt32
    public var groupID: UInt32

    public init(userID: UInt32, groupID: UInt32) {
        self.userID = userID
        self.groupID = groupID
    }
}

/// The modes extracted paths get. Only the archive's execute bits choose between `file` and `executableFile`, so
/// no setuid, setgid or sticky bit and no world-writable mode ever comes from an archive.
public struct ZipOutputModes: Sendable, Hashable {
    public var directory: UInt16
    public var file: UInt16
    public var executableFile: UInt16

    public init(directory: UInt16, file: UInt16, executableFile: UInt16) {
        self.directory = directory
        self.file = file
        self.executableFile = executableFile
    }
}

/// Extracts a ZIP archive into a directory: the whole entry list is checked first (``ZipExtractionPlan``), then the
/// files are written into a fresh `<target>.partial` sibling through directory descriptors that never follow a
/// symbolic link, and the result replaces `target` only once complete; on any failure the partial output is removed.
public struct ZipExtractor: Sendable {
    public var limits: ZipLimits
    public var modes: ZipOutputModes
    public var owner: ZipOutputOwner?

    public init(limits: ZipLimits = ZipLimits(), modes: ZipOutputModes, owner: ZipOutputOwner? = nil) {
        self.limits = limits
        self.modes = modes
        self.owner = owner
    }

    public func extract(archive path: String, into target: String) throws(ZipExtractionError) {
        // A zero-byte file is not an archive, although libzip would open it as an empty one.
        var status = stat()
        guard stat(path, &status) == 0 else { throw ZipExtractionError("cannot read \(path): \(Self.errnoText())") }
        guard status.st_size > 0 else { throw ZipExtractionError("\(path) is empty, not a ZIP archive") }

        let reader = try ZipArchiveReader(path: path)
        let entries = try reader.entries(upTo: limits.maximumEntries)
        let plan: [ZipPlannedEntry]
        do { plan = try ZipExtractionPlan.plan(entries, limits: limits) } catch { throw error.about(archive: path) }

        let staging = target + ".partial"
        let (parent, stagingName, targetName) = Self.split(target)
        try Self.makeDirectories(parent)
        let parentFD = try Self.openDirectory(parent)
        defer { close(parentFD) }
        try Self.removeTree(named: stagingName, in: parentFD, shownAs: staging)
        do {
            try Self.check(mkdirat(parentFD, stagingName, 0o700), "create \(staging)")
            let stagingFD = try Self.openDirectory(stagingName, in: parentFD, shownAs: staging)
            defer { close(stagingFD) }
            for planned in plan {
                try extractEntry(planned, from: reader, under: stagingFD, shownAs: staging)
            }
            try adopt(stagingFD, mode: modes.directory, shownAs: staging)
            try Self.removeTree(named: targetName, in: parentFD, shownAs: target)
            try Self.check(renameat(parentFD, stagingName, parentFD, targetName), "move \(staging) to \(target)")
        } catch {
            try? Self.removeTree(named: stagingName, in: parentFD, shownAs: staging)
            throw error
        }
    }

    private func extractEntry(
        _ planned: ZipPlannedEntry, from reader: ZipArchiveReader, under root: Int32, shownAs rootPath: String
    ) throws(ZipExtractionError) {
        let isDirectory = planned.entry.kind == .directory
        let parents = isDirectory ? planned.components : Array(planned.components.dropLast())
        var directory = root
        var directoryPath = rootPath
        defer { if directory != root { close(directory) } }
        for component in parents {
            let next = try openOrCreateDirectory(component, in: directory, shownAs: directoryPath + "/" + component)
            if directory != root { close(directory) }
            directory = next
            directoryPath += "/" + component
        }
        guard !isDirectory, let name = planned.components.last else { return }
        let path = directoryPath + "/" + name
        // O_EXCL: the staging directory is new and the plan has no duplicates, so an existing path is an attack.
        let fd = openat(directory, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw ZipExtractionError("cannot create \(path): \(Self.errnoText())") }
        defer { close(fd) }
        try reader.stream(planned) { (chunk) throws(ZipExtractionError) in try Self.writeAll(chunk, to: fd, shownAs: path) }
        let executable = (planned.entry.unixPermissions ?? 0) & 0o111 != 0
        try adopt(fd, mode: executable ? modes.executableFile : modes.file, shownAs: path)
    }

    private func openOrCreateDirectory(_ name: String, in parent: Int32, shownAs path: String) throws(ZipExtractionError) -> Int32 {
        if mkdirat(parent, name, 0o700) == 0 {
            let fd = try Self.openDirectory(name, in: parent, shownAs: path)
            do { try adopt(fd, mode: modes.directory, shownAs: path) } catch {
                close(fd)
                throw error
            }
            return fd
        }
        guard errno == EEXIST else { throw ZipExtractionError("cannot create \(path): \(Self.errnoText())") }
        return try Self.openDirectory(name, in: parent, shownAs: path)
    }

    /// Gives an extracted path its final mode and owner through its descriptor (no path lookup to race).
    private func adopt(_ fd: Int32, mode: UInt16, shownAs path: String) throws(ZipExtractionError) {
        if let owner {
            try Self.check(fchown(fd, owner.userID, owner.groupID), "give \(path) to uid \(owner.userID)")
        }
        try Self.check(fchmod(fd, mode_t(mode)), "set the permissions of \(path)")
    }

    // MARK: Descriptor helpers

    /// The target's parent directory, and the names of the staging directory and of the target in it.
    private static func split(_ target: String) -> (parent: String, staging: String, target: String) {
        guard let slash = target.lastIndex(of: "/") else { return (".", target + ".partial", target) }
        let parent = slash == target.startIndex ? "/" : String(target[..<slash])
        let targetName = String(target[target.index(after: slash)...])
        return (parent, targetName + ".partial", targetName)
    }

    /// `mkdir -p` for the extraction directory's parent (part of the nucleus's own store, not of the archive).
    private static func makeDirectories(_ path: String) throws(ZipExtractionError) {
        var prefix = path.hasPrefix("/") ? "" : "."
        for component in path.split(separator: "/") {
            prefix += "/" + component
            guard mkdir(prefix, 0o755) == 0 || errno == EEXIST else {
                throw ZipExtractionError("cannot create \(prefix): \(errnoText())")
            }
        }
    }

    private static func openDirectory(_ path: String) throws(ZipExtractionError) -> Int32 {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw ZipExtractionError("cannot open \(path): \(errnoText())") }
        return fd
    }

    private static func openDirectory(_ name: String, in parent: Int32, shownAs path: String) throws(ZipExtractionError) -> Int32 {
        let fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw ZipExtractionError("cannot open \(path) as a directory: \(errnoText())") }
        return fd
    }

    private static func writeAll(_ chunk: UnsafeRawBufferPointer, to fd: Int32, shownAs path: String) throws(ZipExtractionError) {
        if let failure = writeFully(chunk, to: fd) {
            throw ZipExtractionError("cannot write \(path): \(String(cString: strerror(failure)))")
        }
    }

    /// Removes `name` in `parent` and everything under it without following symbolic links; absent is fine.
    static func removeTree(named name: String, in parent: Int32, shownAs path: String) throws(ZipExtractionError) {
        let failure = name.withCString { removeTree($0, in: parent) }
        guard failure == 0 || failure == ENOENT else {
            throw ZipExtractionError("cannot remove \(path): \(String(cString: strerror(failure)))")
        }
    }

    /// Works on raw directory-entry names (which need not be UTF-8); returns 0 or an errno.
    private static func removeTree(_ name: UnsafePointer<CChar>, in parent: Int32) -> Int32 {
        if unlinkat(parent, name, 0) == 0 { return 0 }
        guard errno == EISDIR else { return errno }
        let fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return errno }
        guard let directory = fdopendir(fd) else {
            let failure = errno
            close(fd)
            return failure
        }
        var failure: Int32 = 0
        while failure == 0, let entry = readdir(directory) {
            failure = withUnsafePointer(to: &entry.pointee.d_name) { tuple in
                tuple.withMemoryRebound(to: CChar.self, capacity: MemoryLayout.size(ofValue: tuple.pointee)) { child in
                    if strcmp(child, ".") == 0 || strcmp(child, "..") == 0 { return 0 }
                    return removeTree(child, in: dirfd(directory))
                }
            }
        }
        closedir(directory)
        if failure != 0 { return failure }
        return unlinkat(parent, name, AT_REMOVEDIR) == 0 ? 0 : errno
    }

    private static func check(_ result: Int32, _ action: String) throws(ZipExtractionError) {
        guard result == 0 else { throw ZipExtractionError("cannot \(action): \(errnoText())") }
    }

    static func errnoText() -> String { String(cString: strerror(errno)) }
}
