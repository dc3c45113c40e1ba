/// What the process holds and has used, sampled now and then (``ProcessActivitySample/current()``).
public struct ProcessActivitySample: Equatable, Sendable {
    /// Resident pages backed by files (code, read-only data), in kB: what running code maps back.
    public var residentFileKB: Int
    /// CPU time the whole process has used since it started.
    public var cpuTime: Duration

    public init(residentFileKB: Int, cpuTime: Duration) {
        self.residentFileKB = residentFileKB
        self.cpuTime = cpuTime
    }
}

/// Decides when work that no return follows — a burst of IPC traffic, a CLI session — has mapped code back and then
/// gone quiet, so the pages it mapped can go back to the kernel as after a deployment.
///
/// Deployments and connections say when they end; traffic does not, and a hook on every forwarded message would
/// cost the hot path. So the process is sampled every period instead. A period is quiet when the process used at
/// most `quietShare` of it in CPU. The idle level is what the process holds right after a return and, until traffic
/// comes, at each quiet sample since: idle work (a sample component's publish, a keep-alive) maps back what it runs
/// slowly, over many quiet periods, and that is not growth, or an idle nucleus would go round a
/// return-and-fault-back cycle. A return is due at a quiet sample after a busy period, when resident file pages
/// stand at least `growthKB` above the idle level before it; the quiet test keeps a return from landing in sustained
/// traffic, where the pages would only be mapped back at once. Traffic that starts before the first sample after a
/// return counts too: it is judged from the level the return left.
public struct QuietAfterGrowth: Equatable, Sendable {
    public var growthKB: Int
    public var quietShare: Double
    /// What idle holds (see above); nil until the first return.
    private var idleLevelKB: Int?
    private var busySinceIdleLevel = false
    private var lastCPU: Duration?

    public init(growthKB: Int = 256, quietShare: Double = 0.005) {
        self.growthKB = growthKB
        self.quietShare = quietShare
    }

    /// Pages were just returned (by this rule or any other): what is left is the new idle level.
    public mutating func returned(_ sample: ProcessActivitySample) {
        idleLevelKB = sample.residentFileKB
        busySinceIdleLevel = false
        lastCPU = sample.cpuTime
    }

    /// Takes the sample that ends a period of `period`; true when pages should be returned now.
    public mutating func isReturnDue(_ sample: ProcessActivitySample, period: Duration) -> Bool {
        defer { lastCPU = sample.cpuTime }
        guard let idleLevelKB, let lastCPU else { return false }
        guard sample.cpuTime - lastCPU <= period * quietShare else {
            busySinceIdleLevel = true
            return false
        }
        guard busySinceIdleLevel else {
            self.idleLevelKB = sample.residentFileKB
            return false
        }
        return sample.residentFileKB - idleLevelKB >= growthKB
    }
}
