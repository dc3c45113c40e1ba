import GreengrassJSON
import GreengrassStore
import GreengrassSupervisor
import Logging

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// What the nucleus remembers about the run that recorded the process groups in the store.
enum NucleusRunRecord {
    static let documentName = "nucleusRun"
    static let bootIDKey = "bootId"
}

/// Processes a previous nucleus run left behind (it crashed or was killed): stopped before any component starts
/// again, so nothing runs twice.
enum OrphanCleanup {
    /// Everything left behind, cgroups first (they hold every process, whatever session it moved to), then the
    /// recorded and unrecorded process groups.
    static func run(store: NucleusStore, socketPath: String, cgroups: CgroupController?, logger: Logger) {
        if let cgroups { killLeftoverCgroupProcesses(cgroups, logger: logger) }
        killLeftoverProcessGroups(store: store, socketPath: socketPath, logger: logger)
    }

    /// Process groups a previous nucleus recorded and that still exist were orphaned by a crash: stop them
    /// before starting components again, so nothing runs twice.
    static func killLeftoverProcessGroups(store: NucleusStore, socketPath: String, logger: Logger) {
        var groups = (try? store.processGroups()) ?? []
        // After a reboot (a power cut) every recorded group is gone and its number may now belong to an unrelated
        // process: signal nothing from a previous boot.
        let currentBoot = Host.bootID()
        let recordedBoot = (try? store.document(named: NucleusRunRecord.documentName))?[NucleusRunRecord.bootIDKey]?.stringValue
        if let recordedBoot, let currentBoot, recordedBoot != currentBoot, !groups.isEmpty {
            logger.info(
                "The host rebooted since the previous nucleus run: its recorded process groups are gone, none is signalled",
                metadata: ["eventType": "orphan-cleanup-skipped", "groups": "\(groups.count)"])
            for (pgid, _) in groups { try? store.forgetProcessGroup(pgid) }
            groups = []
        }
        // Only a new boot is written: a plain restart costs no store commit (and no fsync) here.
        if let currentBoot, currentBoot != recordedBoot {
            try? store.setDocument([NucleusRunRecord.bootIDKey: .string(currentBoot)], named: NucleusRunRecord.documentName)
        }
        let live = LeftoverSessions.live(among: Set(groups.map(\.pgid).filter { $0 > 1 }))
        for (pgid, component) in groups where live.contains(pgid) {
            logger.warning(
                "Stopping a process group left by the previous nucleus run",
                metadata: ["eventType": "orphan-cleanup", "serviceName": "\(component)", "pgid": "\(pgid)"])
        }
        // A process spawned just before a crash may not be recorded yet; every component process carries this
        // root's socket path in its environment, and none of this run's components has started yet.
        let unrecorded = LeftoverSessions.sessions(withEnvironment: "AWS_GG_NUCLEUS_DOMAIN_SOCKET_FILEPATH=\(socketPath)")
            .subtracting(live)
        if !unrecorded.isEmpty {
            logger.warning(
                "Stopping unrecorded component processes left by the previous nucleus run",
                metadata: ["eventType": "orphan-cleanup", "pgids": "\(unrecorded.sorted())"])
        }
        // All groups at once, and exited processes that init has not reaped yet count as gone: stopping them one
        // by one with `kill(-pgid, 0)` waited the full 2 s per group whenever init reaps slowly.
        let killed = LeftoverSessions.terminate(live.union(unrecorded), gracePeriod: .seconds(2))
        if !killed.isEmpty {
            logger.warning(
                "Left-over process groups ignored SIGTERM: killed with SIGKILL",
                metadata: ["eventType": "orphan-cleanup", "pgids": "\(killed.sorted())"])
        }
        for (pgid, _) in groups { try? store.forgetProcessGroup(pgid) }
    }

    /// After a crash (`kill -9`) every process of the previous run's components is still in its component's
    /// cgroup, whatever session or process group it moved to: kill them all before anything starts, wait until the
    /// cgroups are empty (bounded), then remove them.
    static func killLeftoverCgroupProcesses(_ cgroups: CgroupController, logger: Logger) {
        let names = cgroups.componentNames()
        var leftovers: [String: Set<Int32>] = [:]
        for name in names {
            let pids = cgroups.processes(of: name)
            if !pids.isEmpty { leftovers[name] = pids }
        }
        for (name, pids) in leftovers.sorted(by: { $0.key < $1.key }) {
            logger.warning(
                "Killing processes left in the component's cgroup by the previous nucleus run",
                metadata: ["eventType": "orphan-cleanup", "serviceName": "\(name)", "pids": "\(pids.sorted())"])
            // A frozen (paused) process only dies once thawed.
            try? cgroups.setFrozen(name, false)
            for pid in pids { kill(pid, SIGKILL) }
        }
        for _ in 0..<200 where names.contains(where: { !cgroups.processes(of: $0).isEmpty }) {
            usleep(10_000)
        }
        for name in names { try? cgroups.remove(name) }
    }
}
