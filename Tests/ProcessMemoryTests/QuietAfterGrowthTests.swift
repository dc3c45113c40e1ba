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

    /// A policy whose last return left 8,000 kB resident at 1 s of CPU.
    func afterReturn() -> QuietAfterGrowth {
        var policy = QuietAfterGrowth(growthKB: 256, quietShare: 0.005)
        policy.returned(sample(8_000, cpuMilliseconds: 1_000))
        return policy
    }

    @Test func nothingIsDueBeforeTheFirstReturn() {
        var policy = QuietAfterGrowth()
        #expect(!isDue(&policy, sample(50_000, cpuMilliseconds: 0), period: period))
        #expect(!isDue(&policy, sample(50_000, cpuMilliseconds: 0), period: period))
    }

    @Test func grownAndQuietIsDue() {
        var policy = afterReturn()
        #expect(isDue(&policy, sample(8_256, cpuMilliseconds: 1_050), period: period), "256 kB grown, 50 ms of 10 s used")
    }

    @Test func grownButBusyWaitsForAQuietPeriod() {
        var policy = afterReturn()
        #expect(!isDue(&policy, sample(9_500, cpuMilliseconds: 4_000), period: period), "3 s of CPU in the period: traffic")
        #expect(!isDue(&policy, sample(9_600, cpuMilliseconds: 7_000), period: period))
        #expect(isDue(&policy, sample(9_600, cpuMilliseconds: 7_010), period: period), "the traffic stopped")
    }

    @Test func quietWithoutGrowthIsNotDue() {
        var policy = afterReturn()
        #expect(!isDue(&policy, sample(8_255, cpuMilliseconds: 1_000), period: period), "1 kB short of the growth")
        #expect(!isDue(&policy, sample(7_000, cpuMilliseconds: 1_000), period: period), "shrunk")
    }

    @Test func quietIsJudgedAgainstThePeriod() {
        var policy = afterReturn()
        #expect(isDue(&policy, sample(9_000, cpuMilliseconds: 1_050), period: period), "exactly 0.5 % of 10 s")
        policy = afterReturn()
        #expect(!isDue(&policy, sample(9_000, cpuMilliseconds: 1_051), period: period))
        policy = afterReturn()
        #expect(isDue(&policy, sample(9_000, cpuMilliseconds: 1_150), period: .seconds(30)), "150 ms of 30 s")
    }

    @Test func aReturnResetsTheBaseline() {
        var policy = afterReturn()
        #expect(isDue(&policy, sample(9_000, cpuMilliseconds: 1_010), period: period))
        // What the return could not give back (say a library mapped later) is the new baseline: no return again.
        policy.returned(sample(8_900, cpuMilliseconds: 1_011))
        #expect(!isDue(&policy, sample(8_900, cpuMilliseconds: 1_012), period: period))
        #expect(!isDue(&policy, sample(9_100, cpuMilliseconds: 1_013), period: period))
        #expect(isDue(&policy, sample(9_156, cpuMilliseconds: 1_014), period: period))
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
