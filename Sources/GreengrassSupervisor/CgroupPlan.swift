/// `systemResourceLimits` of a component: memory in KB, cpus as a fraction of one core's time (Greengrass units).
public struct ResourceLimits: Sendable, Hashable {
    public var memoryKilobytes: Int64?
    public var cpus: Double?

    public init(memoryKilobytes: Int64? = nil, cpus: Double? = nil) {
        self.memoryKilobytes = memoryKilobytes
        self.cpus = cpus
    }

    /// No limit at all.
    public static let none = ResourceLimits()
}

/// One write to a cgroup control file.
public struct CgroupWrite: Sendable, Hashable {
    public var path: String
    public var value: String

    public init(_ path: String, _ value: String) {
        self.path = path
        self.value = value
    }
}

/// Where the component cgroups live and which interface files control them: cgroup v1 (one hierarchy per
/// controller) or v2 (one unified hierarchy). Pure: every method only computes paths and contents.
///
/// Layout: `<hierarchy>/<nucleus's own cgroup>/<group>/<ComponentName>` (`<group>` is `greengrass`, as in the Java
/// nucleus). Nesting under the nucleus's own cgroup keeps components inside the service's accounting (systemd's
/// `greengrass.service`) and is what `Delegate=yes` hands over on v2.
public struct CgroupLayout: Sendable, Hashable {
    public enum Hierarchy: Sendable, Hashable {
        /// Controller name (`memory`, `cpu`, `cpuacct`, `freezer`, `pids`) → directory of the nucleus's cgroup in it.
        case v1([String: String])
        /// The nucleus's cgroup in the unified hierarchy.
        case v2(String)
    }

    public var hierarchy: Hierarchy
    /// Directory name of the parent of all component cgroups.
    public var group: String

    /// CFS period written with a cpu quota (the kernel's default, 100 ms).
    public static let cpuPeriodMicroseconds = 100_000
    /// The controllers v1 needs: limits (memory, cpu) and pause (freezer); pids is used when mounted.
    public static let requiredV1Controllers = ["memory", "cpu", "freezer"]
    static let optionalV1Controllers = ["cpuacct", "pids"]
    /// v2 controllers enabled for the component cgroups (freezing is built into v2's `cgroup.freeze`).
    public static let v2Controllers = ["cpu", "memory", "pids"]

    public init(hierarchy: Hierarchy, group: String = "greengrass") {
        self.hierarchy = hierarchy
        self.group = group
    }

    /// Why cgroups cannot be used, when they cannot.
    public struct Unavailable: Error, Sendable, Hashable, CustomStringConvertible {
        public var description: String
    }

    /// Reads the layout from `/proc/self/mountinfo` and `/proc/self/cgroup`. cgroup v2 is used when the unified
    /// hierarchy is mounted at `cgroupRoot` itself (it then has `cgroup.controllers`); v1 otherwise, which needs
    /// the memory, cpu and freezer controllers mounted.
    public static func detect(
        mountinfo: String, procSelfCgroup: String, cgroupRoot: String = "/sys/fs/cgroup", group: String = "greengrass"
    ) -> Result<CgroupLayout, Unavailable> {
        var v1Mounts: [String: String] = [:]
        var unifiedAtRoot = false
        for line in mountinfo.split(separator: "\n") {
            // `id parent major:minor root mountpoint options [optional...] - fstype source superoptions`
            // The optional fields end at the first field that is exactly `-` (paths escape spaces as `\040`). Split on
            // single characters only: a `String` separator would run `_StringProcessing` code at start-up (issue 16).
            let fields = line.split(separator: " ")
            guard let dash = fields.firstIndex(of: "-") else { continue }
            let left = Array(fields[..<dash])
            let right = Array(fields[(dash + 1)...])
            guard left.count >= 5, right.count >= 3 else { continue }
            let mountPoint = unescapeMountPath(String(left[4]))
            switch right[0] {
            case "cgroup2":
                if mountPoint == cgroupRoot { unifiedAtRoot = true }
            case "cgroup":
                for option in right[2].split(separator: ",") where (requiredV1Controllers + optionalV1Controllers).contains(String(option)) {
                    if v1Mounts[String(option)] == nil { v1Mounts[String(option)] = mountPoint }
                }
            default:
                continue
            }
        }
        // `/proc/self/cgroup`: `id:controllers:path`; v2 is `0::path`.
        var ownPaths: [String: String] = [:]
        var unifiedPath: String?
        for line in procSelfCgroup.split(separator: "\n") {
            let fields = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard fields.count == 3 else { continue }
            let path = String(fields[2])
            if fields[0] == "0" && fields[1].isEmpty { unifiedPath = path }
            for controller in fields[1].split(separator: ",") { ownPaths[String(controller)] = path }
        }
        if unifiedAtRoot {
            // A nucleus that already moved itself into its `nucleus` leaf (a restart in place) manages the parent.
            var own = unifiedPath ?? "/"
            if own.hasSuffix("/" + v2NucleusLeaf) { own.removeLast(v2NucleusLeaf.count + 1) }
            return .success(CgroupLayout(hierarchy: .v2(join(cgroupRoot, own)), group: group))
        }
        let missing = requiredV1Controllers.filter { v1Mounts[$0] == nil }
        guard missing.isEmpty else {
            return .failure(Unavailable(description:
                "no cgroup v2 hierarchy at \(cgroupRoot) and cgroup v1 controllers \(missing.joined(separator: ", ")) are not mounted"))
        }
        var directories: [String: String] = [:]
        for (controller, mountPoint) in v1Mounts {
            directories[controller] = join(mountPoint, ownPaths[controller] ?? "/")
        }
        return .success(CgroupLayout(hierarchy: .v1(directories), group: group))
    }

    /// The leaf the nucleus moves itself into on v2.
    static let v2NucleusLeaf = "nucleus"

    /// The group directory for a nucleus root: `greengrass` (the Java nucleus's name) for the standard
    /// `/greengrass/v2`; any other root gets `greengrass-<hash of the root>`, so two nuclei on one host (tests,
    /// side-by-side installs) never manage, or clean up, each other's components.
    public static func groupName(forRoot root: String) -> String {
        if root == "/greengrass/v2" { return "greengrass" }
        var hash: UInt32 = 2_166_136_261
        for byte in root.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        let hex = String(hash, radix: 16)
        return "greengrass-" + String(repeating: "0", count: 8 - hex.count) + hex
    }

    /// Mount points escape space, tab, newline and backslash as octal (`\040`).
    public static func unescapeMountPath(_ path: String) -> String {
        guard path.contains("\\") else { return path }
        var bytes: [UInt8] = []
        let utf8 = Array(path.utf8)
        var index = 0
        while index < utf8.count {
            if utf8[index] == UInt8(ascii: "\\"), index + 3 < utf8.count,
                let value = UInt8(String(decoding: utf8[(index + 1)...(index + 3)], as: UTF8.self), radix: 8)
            {
                bytes.append(value)
                index += 4
            } else {
                bytes.append(utf8[index])
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    static func join(_ base: String, _ path: String) -> String {
        let trimmed = path.split(separator: "/").joined(separator: "/")
        return trimmed.isEmpty ? base : base + "/" + trimmed
    }

    /// The directory of each hierarchy's group (`…/greengrass`).
    public var groupDirectories: [String] {
        switch hierarchy {
        case .v1(let directories): directories.keys.sorted().map { directories[$0]! + "/" + group }
        case .v2(let own): [own + "/" + group]
        }
    }

    /// The component's cgroup in every hierarchy.
    public func componentDirectories(_ component: String) -> [String] {
        groupDirectories.map { $0 + "/" + component }
    }

    /// The `cgroup.procs` a process writes its pid to, in every hierarchy, to join the component's cgroup.
    public func procsFiles(_ component: String) -> [String] {
        componentDirectories(component).map { $0 + "/cgroup.procs" }
    }

    /// v2 only: before component cgroups can have controllers, the nucleus leaves its own cgroup for a leaf
    /// (`<own>/nucleus`, the "no internal processes" rule) and enables the controllers down to the group. Each
    /// controller is its own write so that one the kernel lacks does not block the others.
    public func setupWrites(nucleusPID: Int32) -> (directories: [String], writes: [CgroupWrite]) {
        guard case .v2(let own) = hierarchy else { return ([], []) }
        var writes = [CgroupWrite(own + "/" + Self.v2NucleusLeaf + "/cgroup.procs", "\(nucleusPID)")]
        for directory in [own, own + "/" + group] {
            writes += Self.v2Controllers.map { CgroupWrite(directory + "/cgroup.subtree_control", "+" + $0) }
        }
        return ([own + "/" + Self.v2NucleusLeaf, own + "/" + group], writes)
    }

    /// The writes that set `limits` on the component's cgroup; an absent limit writes the "unlimited" value, so a
    /// limit removed by a deployment is lifted.
    public func limitWrites(_ component: String, _ limits: ResourceLimits) -> [CgroupWrite] {
        let memoryBytes = limits.memoryKilobytes.flatMap { $0 > 0 && $0 <= Int64.max / 1024 ? $0 * 1024 : nil }
        let quota = Self.cpuQuotaMicroseconds(limits.cpus)
        switch hierarchy {
        case .v1(let directories):
            var writes: [CgroupWrite] = []
            if let memory = directories["memory"] {
                writes.append(CgroupWrite("\(memory)/\(group)/\(component)/memory.limit_in_bytes", memoryBytes.map(String.init) ?? "-1"))
            }
            if let cpu = directories["cpu"] {
                let base = "\(cpu)/\(group)/\(component)"
                writes.append(CgroupWrite(base + "/cpu.cfs_period_us", "\(Self.cpuPeriodMicroseconds)"))
                writes.append(CgroupWrite(base + "/cpu.cfs_quota_us", quota.map(String.init) ?? "-1"))
            }
            return writes
        case .v2(let own):
            let base = "\(own)/\(group)/\(component)"
            return [
                CgroupWrite(base + "/memory.max", memoryBytes.map(String.init) ?? "max"),
                CgroupWrite(base + "/cpu.max", "\(quota.map(String.init) ?? "max") \(Self.cpuPeriodMicroseconds)"),
            ]
        }
    }

    /// `cpus` × period, at least the kernel's 1 ms minimum; `nil` (no limit) for an absent, non-positive or
    /// non-finite value.
    public static func cpuQuotaMicroseconds(_ cpus: Double?) -> Int? {
        guard let cpus, cpus.isFinite, cpus > 0 else { return nil }
        let quota = (Double(cpuPeriodMicroseconds) * cpus).rounded()
        guard quota < Double(Int32.max) else { return nil }
        return max(1000, Int(quota))
    }

    /// The write that freezes (pauses) or thaws (resumes) every process of the component.
    public func freezeWrite(_ component: String, frozen: Bool) -> CgroupWrite? {
        switch hierarchy {
        case .v1(let directories):
            directories["freezer"].map { CgroupWrite("\($0)/\(group)/\(component)/freezer.state", frozen ? "FROZEN" : "THAWED") }
        case .v2(let own):
            CgroupWrite("\(own)/\(group)/\(component)/cgroup.freeze", frozen ? "1" : "0")
        }
    }

    /// The file whose `oom_kill N` line counts the component's processes killed by its memory limit.
    public func oomEventsFile(_ component: String) -> String? {
        switch hierarchy {
        case .v1(let directories): directories["memory"].map { "\($0)/\(group)/\(component)/memory.oom_control" }
        case .v2(let own): "\(own)/\(group)/\(component)/memory.events"
        }
    }

    /// The value of the `oom_kill` key in `memory.oom_control` (v1) or `memory.events` (v2); 0 when absent.
    public static func oomKillCount(in text: String) -> Int {
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count == 2, fields[0] == "oom_kill", let count = Int(fields[1]) { return count }
        }
        return 0
    }
}
