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
/// cost the hot path. So the process is sampled every period instead: a return is due when resident file pages
/// grew by at least `growthKB` since the last return, and the process used at most `quietShare` of the last period
/// in CPU. The quiet test keeps a return from ever landing in sustained traffic, where the pages would only be
/// mapped back at once; the growth test keeps an idle nucleus from returning anything.
public struct QuietAfterGrowth: Equatable, Sendable {
    public var growthKB: Int
    public var quietShare: Double
    /// Resident file kB right after the last return; nil until the first one (start-up returns first).
    private var baselineKB: Int?
    private var lastCPU: Duration?

    public init(growthKB: Int = 256, quietShare: Double = 0.005) {
        self.growthKB = growthKB
        self.quietShare = quietShare
    }

    /// Pages were just returned (by this rule or any other): growth counts from what stayed resident.
    public mutating func returned(_ sample: ProcessActivitySample) {
        baselineKB = sample.residentFileKB
        lastCPU = sample.cpuTime
    }

    /// Takes the sample that ends a period of `period`; true when pages should be returned now.
    public mutating func isReturnDue(_ sample: ProcessActivitySample, period: Duration) -> Bool {
        defer { lastCPU = sample.cpuTime }
        guard let baselineKB, let lastCPU else { return false }
        let used = sample.cpuTime - lastCPU
        return sample.residentFileKB - baselineKB >= growthKB && used <= period * quietShare
    }
}
