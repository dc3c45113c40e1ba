import Foundation
import GreengrassSupervisor
import GreengrassTestSupport
import Testing

/// This host's shape: v1 hierarchies (cpu and cpuacct apart) plus a v2 mount without controllers at `unified`.
private let v1MountInfo = """
    31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
    32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
    33 31 0:30 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct
    35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
    37 31 0:34 / /sys/fs/cgroup/freezer rw,relatime - cgroup cgroup rw,freezer
    39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids
    40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd
    41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw
    """
private let v1ProcSelf = """
    9:name=systemd:/
    8:pids:/
    6:freezer:/
    4:memory:/process_api/abc
    2:cpuacct:/
    1:cpu:/
    0::/
    """

@Suite("cgroup layout and writes")
struct CgroupPlanTests {
    @Test func v1IsDetectedPerControllerUnderTheNucleusCgroup() throws {
        let layout = try CgroupLayout.detect(mountinfo: v1MountInfo, procSelfCgroup: v1ProcSelf).get()
        #expect(layout.hierarchy == .v1([
            "cpu": "/sys/fs/cgroup/cpu", "cpuacct": "/sys/fs/cgroup/cpuacct", "memory": "/sys/fs/cgroup/memory/process_api/abc",
            "freezer": "/sys/fs/cgroup/freezer", "pids": "/sys/fs/cgroup/pids",
        ]))
        #expect(layout.procsFiles("com.example.A").contains("/sys/fs/cgroup/memory/process_api/abc/greengrass/com.example.A/cgroup.procs"))
        #expect(layout.procsFiles("com.example.A").count == 5)
    }

    @Test func combinedCpuMountCountsForBothControllers() throws {
        let info = "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
            + "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
            + "37 31 0:34 / /sys/fs/cgroup/freezer rw - cgroup cgroup rw,freezer\n"
        let layout = try CgroupLayout.detect(mountinfo: info, procSelfCgroup: "1:cpu,cpuacct:/system.slice/greengrass.service\n").get()
        guard case .v1(let directories) = layout.hierarchy else { Issue.record("not v1"); return }
        #expect(directories["cpu"] == "/sys/fs/cgroup/cpu,cpuacct/system.slice/greengrass.service")
        #expect(directories["cpuacct"] == directories["cpu"])
    }

    @Test func v2WhenTheUnifiedHierarchyIsAtTheRoot() throws {
        let info = "30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
        let layout = try CgroupLayout.detect(mountinfo: info, procSelfCgroup: "0::/system.slice/greengrass.service\n").get()
        #expect(layout.hierarchy == .v2("/sys/fs/cgroup/system.slice/greengrass.service"))
        #expect(layout.procsFiles("A") == ["/sys/fs/cgroup/system.slice/greengrass.service/greengrass/A/cgroup.procs"])
    }

    @Test func aNucleusAlreadyInItsV2LeafManagesTheParent() throws {
        let info = "30 23 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n"
        let layout = try CgroupLayout.detect(mountinfo: info, procSelfCgroup: "0::/system.slice/greengrass.service/nucleus\n").get()
        #expect(layout.hierarchy == .v2("/sys/fs/cgroup/system.slice/greengrass.service"))
        let atRoot = try CgroupLayout.detect(mountinfo: info, procSelfCgroup: "0::/\n").get()
        #expect(atRoot.hierarchy == .v2("/sys/fs/cgroup"))
    }

    @Test func groupNameIsGreengrassForTheStandardRootAndDistinctOtherwise() {
        #expect(CgroupLayout.groupName(forRoot: "/greengrass/v2") == "greengrass")
        let a = CgroupLayout.groupName(forRoot: "/tmp/ggA")
        #expect(a.hasPrefix("greengrass-") && a.count == "greengrass-".count + 8)
        #expect(a != CgroupLayout.groupName(forRoot: "/tmp/ggB"))
        #expect(a == CgroupLayout.groupName(forRoot: "/tmp/ggA"))
    }

    @Test func missingControllersAreReportedNotGuessed() {
        let info = "35 31 0:32 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n"
        guard case .failure(let reason) = CgroupLayout.detect(mountinfo: info, procSelfCgroup: "") else {
            Issue.record("detected a layout without cpu and freezer")
            return
        }
        #expect(reason.description.contains("cpu, freezer"))
        #expect(throws: CgroupLayout.Unavailable.self) { try CgroupLayout.detect(mountinfo: "garbage\n\n - \n", procSelfCgroup: "::::").get() }
    }

    @Test func escapedMountPointsAreDecoded() {
        #expect(CgroupLayout.unescapeMountPath(#"/mnt/a\040b"#) == "/mnt/a b")
        #expect(CgroupLayout.unescapeMountPath(#"/x\09"#) == #"/x\09"#)
    }

    @Test(arguments: [
        (0.25, 25_000), (1.0, 100_000), (2.5, 250_000), (0.001, 1000), (0.0, nil), (-1.0, nil), (Double.nan, nil), (Double.infinity, nil),
    ] as [(Double, Int?)])
    func cpusBecomeAQuotaOfTheDefaultPeriod(cpus: Double, quota: Int?) {
        #expect(CgroupLayout.cpuQuotaMicroseconds(cpus) == quota)
    }

    @Test func v1LimitWritesAndUnlimitedValues() {
        let layout = CgroupLayout(hierarchy: .v1(["memory": "/m", "cpu": "/c", "freezer": "/f"]))
        #expect(layout.limitWrites("A", ResourceLimits(memoryKilobytes: 51200, cpus: 0.25)) == [
            CgroupWrite("/m/greengrass/A/memory.limit_in_bytes", "52428800"),
            CgroupWrite("/c/greengrass/A/cpu.cfs_period_us", "100000"),
            CgroupWrite("/c/greengrass/A/cpu.cfs_quota_us", "25000"),
        ])
        #expect(layout.limitWrites("A", .none).map(\.value) == ["-1", "100000", "-1"])
        #expect(layout.freezeWrite("A", frozen: true) == CgroupWrite("/f/greengrass/A/freezer.state", "FROZEN"))
        #expect(layout.freezeWrite("A", frozen: false)?.value == "THAWED")
        #expect(layout.setupWrites(nucleusPID: 7).writes.isEmpty)
    }

    @Test func v2LimitWritesFreezeAndDelegation() {
        let layout = CgroupLayout(hierarchy: .v2("/cg/svc"))
        #expect(layout.limitWrites("A", ResourceLimits(memoryKilobytes: 1024, cpus: 1.5)) == [
            CgroupWrite("/cg/svc/greengrass/A/memory.max", "1048576"), CgroupWrite("/cg/svc/greengrass/A/cpu.max", "150000 100000"),
        ])
        #expect(layout.limitWrites("A", ResourceLimits(memoryKilobytes: -5)).map(\.value) == ["max", "max 100000"])
        #expect(layout.freezeWrite("A", frozen: true) == CgroupWrite("/cg/svc/greengrass/A/cgroup.freeze", "1"))
        let setup = layout.setupWrites(nucleusPID: 42)
        #expect(setup.directories == ["/cg/svc/nucleus", "/cg/svc/greengrass"])
        #expect(setup.writes.first == CgroupWrite("/cg/svc/nucleus/cgroup.procs", "42"))
        #expect(setup.writes.filter { $0.path == "/cg/svc/cgroup.subtree_control" }.map(\.value) == ["+cpu", "+memory", "+pids"])
        #expect(setup.writes.filter { $0.path == "/cg/svc/greengrass/cgroup.subtree_control" }.count == 3)
    }

    @Test func oomKillCountIsReadFromEitherFormat() {
        #expect(CgroupLayout.oomKillCount(in: "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n") == 3)
        #expect(CgroupLayout.oomKillCount(in: "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\n") == 1)
        #expect(CgroupLayout.oomKillCount(in: "oom_kill x\n") == 0)
        #expect(CgroupLayout.oomKillCount(in: "") == 0)
    }
}

/// The v2 writer against a directory tree with cgroupfs's file names.
@Suite("cgroup v2 writer on a fake tree")
struct CgroupV2FakeTreeTests {
    func read(_ path: String) throws -> String { try String(contentsOfFile: path, encoding: .utf8) }

    @Test func prepareDelegatesCreatesAndLimitsThenFreezesListsAndRemoves() throws {
        let tree = try TemporaryDirectory(prefix: "cg2")
        let controller = CgroupController(layout: CgroupLayout(hierarchy: .v2(tree.path)))
        let files = try controller.prepare("com.example.A", owner: nil)
        try controller.apply(ResourceLimits(memoryKilobytes: 51200, cpus: 0.25), to: "com.example.A")
        let component = tree.path + "/greengrass/com.example.A"
        #expect(files == [component + "/cgroup.procs"])
        #expect(try read(tree.path + "/nucleus/cgroup.procs") == "\(getpid())")
        // One write per controller: a real cgroupfs keeps them all; a plain file keeps the last.
        #expect(try read(tree.path + "/cgroup.subtree_control") == "+pids")
        #expect(try read(tree.path + "/greengrass/cgroup.subtree_control") == "+pids")
        #expect(try read(component + "/memory.max") == "52428800")
        #expect(try read(component + "/cpu.max") == "25000 100000")

        // A deployment lifts the limits.
        try controller.apply(.none, to: "com.example.A")
        #expect(try read(component + "/memory.max") == "max")
        #expect(try read(component + "/cpu.max") == "max 100000")

        try controller.setFrozen("com.example.A", true)
        #expect(try read(component + "/cgroup.freeze") == "1")
        try controller.setFrozen("com.example.A", false)
        #expect(try read(component + "/cgroup.freeze") == "0")
        #expect(throws: CgroupError.self) { try controller.setFrozen("com.example.Other", true) }

        try "12\n34\n\nnot-a-pid\n".write(toFile: component + "/cgroup.procs", atomically: false, encoding: .utf8)
        #expect(controller.processes(of: "com.example.A") == [12, 34])
        try "oom 1\noom_kill 2\n".write(toFile: component + "/memory.events", atomically: false, encoding: .utf8)
        #expect(controller.oomKills(of: "com.example.A") == 2)
        #expect(controller.componentNames() == ["com.example.A"])

        try controller.remove("com.example.A")
        #expect(!FileManager.default.fileExists(atPath: component))
        #expect(controller.componentNames().isEmpty)
    }

    @Test func anUnwritableTreeIsAnErrorNamingThePath() {
        let controller = CgroupController(layout: CgroupLayout(hierarchy: .v2("/proc/no-such-cgroup")))
        #expect {
            _ = try controller.prepare("A", owner: nil)
        } throws: { error in
            "\(error)".contains("/proc/no-such-cgroup")
        }
    }
}
