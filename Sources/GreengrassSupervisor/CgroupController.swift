import Synchronization

#if canImport(Glibc)
@preconcurrency import Glibc
#elseif canImport(Musl)
@preconcurrency import Musl
#endif

/// Why a cgroup operation failed: the path and errno, for the log.
public struct CgroupError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Applies a ``CgroupLayout`` to the file system: creates component cgroups, writes limits, freezes, lists and
/// removes. Works on any directory tree with cgroupfs's file names (a missing file is created, which a real
/// cgroupfs never needs), so the v2 writer is testable without a v2 hierarchy.
public final class CgroupController: Sendable {
    public let layout: CgroupLayout
    private let isSetUp = Mutex(false)

    public init(layout: CgroupLayout) {
        self.layout = layout
    }

    /// The layout of this host, or why cgroups cannot be used.
    public static func detectHost(group: String = "greengrass") -> Result<CgroupLayout, CgroupLayout.Unavailable> {
        guard let mountinfo = readSmallFile("/proc/self/mountinfo"), let own = readSmallFile("/proc/self/cgroup") else {
            return .failure(CgroupLayout.Unavailable(description: "cannot read /proc/self/mountinfo or /proc/self/cgroup"))
        }
        return CgroupLayout.detect(mountinfo: mountinfo, procSelfCgroup: own, group: group)
    }

    /// Creates the component's cgroup (and, once, the group and v2 delegation); limits are ``apply(_:to:)``'s.
    ///
    /// - Parameter owner: the uid/gid the phase runs as, when not the nucleus's: the `cgroup.procs` files are given
    ///   to it so the phase's entry step, already running as that user, can join before it execs the script.
    /// - Returns: the `cgroup.procs` files the phase process must write its pid to.
    public func prepare(_ component: String, owner: (uid: UInt32, gid: UInt32)?) throws(CgroupError) -> [String] {
        try setUpOnce()
        for directory in layout.componentDirectories(component) { try Self.makeDirectory(directory) }
        let files = layout.procsFiles(component)
        if let owner {
            for file in files where chown(file, owner.uid, owner.gid) != 0 {
                throw CgroupError("cannot give \(file) to uid \(owner.uid): \(Self.errnoText())")
            }
        }
        return files
    }

    /// Writes `limits` to an existing component cgroup (a deployment changed them while it runs).
    public func apply(_ limits: ResourceLimits, to component: String) throws(CgroupError) {
        for write in layout.limitWrites(component, limits) { try Self.write(write) }
    }

    /// Whether the component has a cgroup (it ran at least one phase with cgroups in use).
    public func exists(_ component: String) -> Bool {
        layout.componentDirectories(component).allSatisfy { access($0, F_OK) == 0 }
    }

    /// Freezes (`frozen`) or thaws every process of the component.
    public func setFrozen(_ component: String, _ frozen: Bool) throws(CgroupError) {
        guard exists(component), let write = layout.freezeWrite(component, frozen: frozen) else {
            throw CgroupError("\(component) has no cgroup")
        }
        try Self.write(write)
    }

    /// Every process in the component's cgroups, whatever its session or process group.
    public func processes(of component: String) -> Set<Int32> {
        var pids: Set<Int32> = []
        for file in layout.procsFiles(component) {
            for line in (Self.readSmallFile(file) ?? "").split(separator: "\n") {
                if let pid = Int32(line), pid > 0 { pids.insert(pid) }
            }
        }
        return pids
    }

    /// Names of the component cgroups under the group (left by a previous nucleus run, for instance).
    public func componentNames() -> Set<String> {
        var names: Set<String> = []
        for directory in layout.groupDirectories {
            guard let handle = opendir(directory) else { continue }
            defer { closedir(handle) }
            while let entry = readdir(handle) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
                if name != ".", name != "..", entry.pointee.d_type == UInt8(DT_DIR) { names.insert(name) }
            }
        }
        return names
    }

    /// How many of the component's processes its memory limit killed so far.
    public func oomKills(of component: String) -> Int {
        guard let file = layout.oomEventsFile(component), let text = Self.readSmallFile(file) else { return 0 }
        return CgroupLayout.oomKillCount(in: text)
    }

    /// Removes the component's cgroups (their processes must be gone: the kernel refuses otherwise).
    public func remove(_ component: String) throws(CgroupError) {
        for directory in layout.componentDirectories(component) where rmdir(directory) != 0 && errno != ENOENT {
            // A plain directory tree (tests) holds the interface files we wrote; cgroupfs has none to delete.
            if errno == ENOTEMPTY { Self.removeFiles(in: directory) }
            guard rmdir(directory) == 0 || errno == ENOENT else {
                throw CgroupError("cannot remove \(directory): \(Self.errnoText())")
            }
        }
    }

    /// Removes every empty component cgroup and then the group itself (the kernel keeps any that still has
    /// processes; failures are left for the next start's cleanup).
    public func removeAll() {
        for name in componentNames() { try? remove(name) }
        for directory in layout.groupDirectories { rmdir(directory) }
        isSetUp.withLock { $0 = false }
    }

    private func setUpOnce() throws(CgroupError) {
        let done = isSetUp.withLock { $0 }
        guard !done else { return }
        let plan = layout.setupWrites(nucleusPID: getpid())
        for directory in layout.groupDirectories + plan.directories { try Self.makeDirectory(directory) }
        for write in plan.writes {
            do { try Self.write(write) } catch where write.path.hasSuffix("subtree_control") {
                // A controller the kernel lacks: the limit it carries fails later, naming the file.
                continue
            }
        }
        isSetUp.withLock { $0 = true }
    }

    static func makeDirectory(_ path: String) throws(CgroupError) {
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else {
            throw CgroupError("cannot create \(path): \(errnoText())")
        }
    }

    /// One `write(2)` of the whole value: cgroupfs parses each write on its own.
    static func write(_ write: CgroupWrite) throws(CgroupError) {
        let descriptor = open(write.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw CgroupError("cannot open \(write.path): \(errnoText())") }
        defer { close(descriptor) }
        let bytes = Array(write.value.utf8)
        let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        guard written == bytes.count else {
            throw CgroupError("cannot write '\(write.value)' to \(write.path): \(errnoText())")
        }
    }

    /// Reads a cgroup or proc file (never more than 1 MiB: these are small and the bound keeps memory flat).
    static func readSmallFile(_ path: String) -> String? {
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while bytes.count < 1 << 20 {
            let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { break }
            bytes += buffer[0..<count]
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static func removeFiles(in directory: String) {
        guard let handle = opendir(directory) else { return }
        defer { closedir(handle) }
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if entry.pointee.d_type == UInt8(DT_REG) { unlink(directory + "/" + name) }
        }
    }

    static func errnoText() -> String {
        let code = errno
        return "\(String(cString: strerror(code))) (errno \(code))"
    }
}
