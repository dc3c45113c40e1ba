import Foundation
import GreengrassTestSupport
import Testing

/// Issue 16: once started, the nucleus hands the code pages start-up ran back to the kernel, and keeps working.
@Suite("The nucleus returns its start-up code pages to the kernel", .serialized)
struct NucleusIdleMemoryTests {
    @Test func startUpCodePagesAreReturnedAndTheNucleusKeepsServing() async throws {
        try await withNucleus { nucleus, _ in
            var line = ""
            #expect(await eventually(timeout: .seconds(30)) {
                line = nucleus.log("greengrass").split(separator: "\n").first { $0.contains("idle-pages-returned") }.map(String.init) ?? ""
                return !line.isEmpty
            })
            let returnedKB = Self.number(after: "residentKB=", in: line)
            #expect(returnedKB > 1024, "\(line)")
            // What is mapped again since is what ran after start-up: far less than start-up had mapped.
            let codeNow = Self.executableCodeResidentKB(pid: nucleus.pid ?? 0)
            #expect(codeNow > 0 && codeNow < returnedKB, "code resident now \(codeNow) kB, returned \(returnedKB) kB")
            // Code pages map back on demand: the CLI and the IPC server still answer.
            let list = try await nucleus.cli(["component", "list"])
            #expect(list.stdout.contains("aws.greengrass.Nucleus"), "\(list)")
        }
    }

    static func number(after key: String, in line: String) -> Int {
        guard let range = line.range(of: key) else { return 0 }
        return Int(line[range.upperBound...].prefix { $0.isNumber }) ?? 0
    }

    /// Resident kB of the nucleus executable's code mapping (`r-xp`), from `/proc/PID/smaps`.
    static func executableCodeResidentKB(pid: Int32) -> Int {
        guard let handle = FileHandle(forReadingAtPath: "/proc/\(pid)/smaps"),
            let data = try? handle.readToEnd()
        else { return 0 }
        var inCode = false
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
            let firstField = line.prefix { $0 != " " }
            if firstField.contains("-"), firstField.allSatisfy({ $0.isHexDigit || $0 == "-" }) {
                inCode = line.contains(" r-xp ") && line.hasSuffix("/greengrass-nucleus")
            } else if inCode, line.hasPrefix("Rss:") {
                return Int(line.split(separator: " ")[1]) ?? 0
            }
        }
        return 0
    }
}
