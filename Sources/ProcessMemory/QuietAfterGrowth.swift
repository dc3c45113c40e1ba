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
/// most `quietShare` of it in CPU. A return is due at a quiet sample once the process has been busy since the last
/// return, when resident file pages stand at least `growthKB` above what that return left. The busy period is what
/// separates traffic from idle: idle work (a sample component's publish, a keep-alive) maps back what it runs slowly,
/// over many quiet periods, and must not send an idle nucleus round a return-and-fault-back cycle; the quiet test
/// keeps a return from landing in sustained traffic, where the pages would only be mapped back at once. Growth is
/// counted from the return, not from a later quiet sample: a small burst can map code in a period quiet enough to
/// pass for idle (100 messages), and a long one after it map nothing new (seen in the benchmark), and traffic can
/// start before the first sample after a return (a deployment's settle return lands seconds before it).
public struct QuietAfterGrowth: Equatable, Sendable {
    public var growthKB: Int
    public var quietShare: Double
    /// What the last return left; nil until the first return.
    private var returnedLevelKB: Int?
    private var busySinceReturn = false
    private var lastCPU: Duration?

    public init(growthKB: Int = 256, quietShare: Double = 0.005) {
        self.growthKB = growthKB
        self.quietShare = quietShare
    }

    /// Pages were just returned (by this rule or any other): growth is counted from what is left.
    public mutating func returned(_ sample: ProcessActivitySample) {
        returnedLevelKB = sample.residentFileKB
        busySinceReturn = false
        lastCPU = sample.cpuTime
    }

    /// Takes the sample that ends a period of `period`; true when pages should be returned now.
    public mutating func isReturnDue(_ sample: ProcessActivitySample, period: Duration) -> Bool {
        defer { lastCPU = sample.cpuTime }
        guard let returnedLevelKB, let lastCPU else { return false }
        guard sample.cpuTime - lastCPU <= period * quietShare else {
            busySinceReturn = true
            return false
        }
        return busySinceReturn && sample.residentFileKB - returnedLevelKB >= growthKB
    }
}
