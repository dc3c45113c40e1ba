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

    /// A policy whose last return left 8,000 kB resident at 1 s of CPU, after which idle stayed at 8,000 kB (1.01 s
    /// of CPU), and then traffic came (2 s of CPU in one period, until 3.01 s).
    func afterTraffic() -> QuietAfterGrowth {
        var policy = QuietAfterGrowth(growthKB: 256, quietShare: 0.005)
        policy.returned(sample(8_000, cpuMilliseconds: 1_000))
        #expect(!isDue(&policy, sample(8_000, cpuMilliseconds: 1_010), period: period), "quiet, no traffic yet")
        #expect(!isDue(&policy, sample(9_000, cpuMilliseconds: 3_010), period: period), "busy: traffic")
        return policy
    }

    @Test func nothingIsDueBeforeTheFirstReturn() {
        var policy = QuietAfterGrowth()
        #expect(!isDue(&policy, sample(50_000, cpuMilliseconds: 0), period: period))
        #expect(!isDue(&policy, sample(50_000, cpuMilliseconds: 5_000), period: period))
        #expect(!isDue(&policy, sample(90_000, cpuMilliseconds: 5_000), period: period))
    }

    @Test func grownAndQuietAfterTrafficIsDue() {
        var policy = afterTraffic()
        #expect(isDue(&policy, sample(8_256, cpuMilliseconds: 3_060), period: period), "256 kB over what the return left, 50 ms of 10 s used")
    }

    @Test func idleFaultingBackWhatItRunsIsNeverDue() {
        var policy = QuietAfterGrowth(growthKB: 256, quietShare: 0.005)
        policy.returned(sample(7_000, cpuMilliseconds: 1_000))
        // Idle maps back what it runs over many quiet periods, far past the growth: no traffic, no return.
        for (index, kb) in [7_500, 8_000, 8_500, 9_000, 9_500, 10_000].enumerated() {
            #expect(!isDue(&policy, sample(kb, cpuMilliseconds: 1_010 + 10 * index), period: period))
        }
    }

    @Test func trafficRightAfterAReturnIsJudgedFromTheLevelTheReturnLeft() {
        // The nucleus's settle return can land a few seconds before traffic starts, so the first sample after it
        // is already busy: what the traffic mapped is still growth (a benchmark run lost its return to this).
        var policy = QuietAfterGrowth(growthKB: 256, quietShare: 0.005)
        policy.returned(sample(7_000, cpuMilliseconds: 1_000))
        #expect(!isDue(&policy, sample(12_000, cpuMilliseconds: 3_000), period: period), "busy right after the return")
        #expect(isDue(&policy, sample(12_500, cpuMilliseconds: 3_010), period: period), "quiet, 5,500 kB over the return's level")
    }

    @Test func growthInAQuietPeriodBeforeTheTrafficCounts() {
        // 100 messages map code in a period quiet enough to pass for idle; the 9,900 after them map nothing new.
        var policy = QuietAfterGrowth(growthKB: 256, quietShare: 0.005)
        policy.returned(sample(7_000, cpuMilliseconds: 1_000))
        #expect(!isDue(&policy, sample(7_900, cpuMilliseconds: 1_040), period: period), "quiet: the small burst")
        #expect(!isDue(&policy, sample(7_900, cpuMilliseconds: 4_040), period: period), "busy: the long one")
        #expect(isDue(&policy, sample(7_900, cpuMilliseconds: 4_050), period: period), "900 kB over what the return left")
    }

    @Test func grownButBusyWaitsForAQuietPeriod() {
        var policy = afterTraffic()
        #expect(!isDue(&policy, sample(9_500, cpuMilliseconds: 6_000), period: period), "3 s of CPU in the period: traffic")
        #expect(!isDue(&policy, sample(9_600, cpuMilliseconds: 9_000), period: period))
        #expect(isDue(&policy, sample(9_600, cpuMilliseconds: 9_010), period: period), "the traffic stopped")
    }

    @Test func quietWithoutGrowthIsNotDue() {
        var policy = afterTraffic()
        #expect(!isDue(&policy, sample(8_255, cpuMilliseconds: 3_010), period: period), "1 kB short of the growth")
        #expect(!isDue(&policy, sample(7_000, cpuMilliseconds: 3_010), period: period), "shrunk")
    }

    @Test func quietIsJudgedAgainstThePeriod() {
        var policy = afterTraffic()
        #expect(isDue(&policy, sample(9_000, cpuMilliseconds: 3_060), period: period), "exactly 0.5 % of 10 s")
        policy = afterTraffic()
        #expect(!isDue(&policy, sample(9_000, cpuMilliseconds: 3_061), period: period))
        policy = afterTraffic()
        #expect(isDue(&policy, sample(9_000, cpuMilliseconds: 3_160), period: .seconds(30)), "150 ms of 30 s")
    }

    @Test func aReturnResetsTheLevelAndWaitsForNewTraffic() {
        var policy = afterTraffic()
        #expect(isDue(&policy, sample(9_000, cpuMilliseconds: 3_020), period: period))
        policy.returned(sample(7_000, cpuMilliseconds: 3_021))
        #expect(!isDue(&policy, sample(8_900, cpuMilliseconds: 3_022), period: period), "quiet: idle mapped back")
        #expect(!isDue(&policy, sample(9_200, cpuMilliseconds: 3_023), period: period), "no traffic since the return")
        #expect(!isDue(&policy, sample(9_200, cpuMilliseconds: 4_023), period: period), "traffic")
        #expect(isDue(&policy, sample(9_200, cpuMilliseconds: 4_024), period: period), "2,200 kB over what the return left")
    }

    @Test func statmSecondAndThirdFieldsAreResidentAndFilePages() {
        #expect(ResidentPages.parse(statm: "3361 1234 567 60 0 800 0\n", pageKB: 4) == ResidentPages(residentKB: 4_936, fileKB: 2_268))
        #expect(ResidentPages.parse(statm: "3361 1234 567 60 0 800 0\n", pageKB: 4)?.anonymousKB == 2_668)
        #expect(ResidentPages.parse(statm: "3361 1234 567", pageKB: 4) == ResidentPages(residentKB: 4_936, fileKB: 2_268))
        #expect(ResidentPages.parse(statm: "3361 1234\n", pageKB: 4) == nil)
        #expect(ResidentPages.parse(statm: "", pageKB: 4) == nil)
        #expect(ResidentPages.parse(statm: "a b c d", pageKB: 4) == nil)
        #expect(ResidentPages.parse(statm: "1 2 99999999999999999999999 4", pageKB: 4) == nil)
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
