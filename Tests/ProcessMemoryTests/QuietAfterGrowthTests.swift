@testable import ProcessMemory
import Testing

@Suite struct QuietAfterGrowthTests {
    let period: Duration = .seconds(10)

    func sample(_ kb: Int, cpuMilliseconds: Int) -> ProcessActivitySample {
        ProcessActivitySample(residentFileKB: kb, cpuTime: .milliseconds(cpuMilliseconds))
    }

    func isDue(_ policy: inout QuietAfterGrowth, _ sample: ProcessActivitySample, period: Duration) -> Bool {
        policy.isReturnDue(sample, period: period)
    }

    /// A policy whose last return was at 1 s of CPU, after which idle settled at 8,000 kB resident (1.01 s of CPU).
    func settled() -> QuietAfterGrowth {
        var policy = QuietAfterGrowth(growthKB: 256, quietShare: 0.005)
        policy.returned(sample(7_000, cpuMilliseconds: 1_000))
        #expect(!isDue(&policy, sample(8_000, cpuMilliseconds: 1_010), period: period), "the first quiet sample sets the idle level")
        return policy
    }

    @Test func nothingIsDueBeforeTheFirstReturn() {
        var policy = QuietAfterGrowth()
        #expect(!isDue(&policy, sample(50_000, cpuMilliseconds: 0), period: period))
        #expect(!isDue(&policy, sample(90_000, cpuMilliseconds: 0), period: period))
    }

    @Test func grownAndQuietIsDue() {
        var policy = settled()
        #expect(isDue(&policy, sample(8_256, cpuMilliseconds: 1_060), period: period), "256 kB over idle, 50 ms of 10 s used")
    }

    @Test func idleFaultingBackWhatItRunsIsNotGrowth() {
        var policy = QuietAfterGrowth(growthKB: 256, quietShare: 0.005)
        policy.returned(sample(7_000, cpuMilliseconds: 1_000))
        // Idle maps back 1.5 MB of what it runs after the return: that is the idle level, not growth.
        #expect(!isDue(&policy, sample(8_500, cpuMilliseconds: 1_020), period: period))
        #expect(!isDue(&policy, sample(8_600, cpuMilliseconds: 1_040), period: period))
        #expect(!isDue(&policy, sample(8_700, cpuMilliseconds: 1_060), period: period))
    }

    @Test func theIdleLevelWaitsForAQuietSample() {
        var policy = QuietAfterGrowth(growthKB: 256, quietShare: 0.005)
        policy.returned(sample(7_000, cpuMilliseconds: 1_000))
        #expect(!isDue(&policy, sample(12_000, cpuMilliseconds: 3_000), period: period), "busy right after the return")
        #expect(!isDue(&policy, sample(12_500, cpuMilliseconds: 3_010), period: period), "quiet: idle level 12,500")
        #expect(!isDue(&policy, sample(12_700, cpuMilliseconds: 3_020), period: period))
        #expect(isDue(&policy, sample(12_756, cpuMilliseconds: 3_030), period: period))
    }

    @Test func grownButBusyWaitsForAQuietPeriod() {
        var policy = settled()
        #expect(!isDue(&policy, sample(9_500, cpuMilliseconds: 4_000), period: period), "3 s of CPU in the period: traffic")
        #expect(!isDue(&policy, sample(9_600, cpuMilliseconds: 7_000), period: period))
        #expect(isDue(&policy, sample(9_600, cpuMilliseconds: 7_010), period: period), "the traffic stopped")
    }

    @Test func quietWithoutGrowthIsNotDue() {
        var policy = settled()
        #expect(!isDue(&policy, sample(8_255, cpuMilliseconds: 1_010), period: period), "1 kB short of the growth")
        #expect(!isDue(&policy, sample(7_000, cpuMilliseconds: 1_010), period: period), "shrunk")
    }

    @Test func quietIsJudgedAgainstThePeriod() {
        var policy = settled()
        #expect(isDue(&policy, sample(9_000, cpuMilliseconds: 1_060), period: period), "exactly 0.5 % of 10 s")
        policy = settled()
        #expect(!isDue(&policy, sample(9_000, cpuMilliseconds: 1_061), period: period))
        policy = settled()
        #expect(isDue(&policy, sample(9_000, cpuMilliseconds: 1_160), period: .seconds(30)), "150 ms of 30 s")
    }

    @Test func aReturnMeasuresTheIdleLevelAgain() {
        var policy = settled()
        #expect(isDue(&policy, sample(9_000, cpuMilliseconds: 1_020), period: period))
        policy.returned(sample(7_000, cpuMilliseconds: 1_021))
        #expect(!isDue(&policy, sample(8_900, cpuMilliseconds: 1_022), period: period), "the new idle level")
        #expect(!isDue(&policy, sample(9_100, cpuMilliseconds: 1_023), period: period))
        #expect(isDue(&policy, sample(9_156, cpuMilliseconds: 1_024), period: period))
    }

    @Test func statmThirdFieldIsTheResidentFilePages() {
        #expect(ProcessActivitySample.residentFilePages(statm: "3361 1234 567 60 0 800 0\n") == 567)
        #expect(ProcessActivitySample.residentFilePages(statm: "3361 1234 567") == 567)
        #expect(ProcessActivitySample.residentFilePages(statm: "3361 1234\n") == nil)
        #expect(ProcessActivitySample.residentFilePages(statm: "") == nil)
        #expect(ProcessActivitySample.residentFilePages(statm: "a b c d") == nil)
        #expect(ProcessActivitySample.residentFilePages(statm: "1 2 99999999999999999999999 4") == nil)
    }

    @Test func thisProcessCanBeSampled() throws {
        let first = try #require(ProcessActivitySample.current())
        var spin = 0
        for value in 0..<2_000_000 { spin &+= value }
        let second = try #require(ProcessActivitySample.current())
        #expect(spin != 1)
        #expect(first.residentFileKB > 0)
        #expect(second.cpuTime > first.cpuTime)
    }
}
