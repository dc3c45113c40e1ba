import Foundation
import GreengrassLogFormat
import GreengrassLogging
import Synchronization

/// A fresh directory under the system temp dir, removed by `remove()`.
struct TempDir {
    let path: String

    init() throws {
        var template = Array((NSTemporaryDirectory() + "/gglog-XXXXXX").utf8CString)
        guard let created = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw CocoaError(.fileWriteUnknown)
        }
        path = String(cString: created)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }

    /// File names in `sub` (default: the log directory), sorted.
    func files(_ sub: String = "logs") -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: path + "/" + sub)) ?? []).sorted()
    }

    func read(_ relative: String) -> String {
        (try? String(contentsOfFile: path + "/" + relative, encoding: .utf8)) ?? ""
    }

    func size(_ relative: String) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: path + "/" + relative))?[.size] as? NSNumber)?.int64Value ?? -1
    }

    func mode(_ relative: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path + "/" + relative))?[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    /// Lines of a log file (without the final empty piece).
    func lines(_ relative: String) -> [String] {
        read(relative).split(separator: "\n", omittingEmptySubsequences: false).dropLast().map(String.init)
    }
}

/// A manually advanced clock (epoch ms) for timestamps and rotation periods.
final class ManualClock: Sendable {
    private let value: Atomic<Int64>

    init(_ start: Int64) { value = Atomic(start) }

    var now: Int64 { value.load(ordering: .relaxed) }

    func advance(by ms: Int64) { value.add(ms, ordering: .relaxed) }

    func set(_ ms: Int64) { value.store(ms, ordering: .relaxed) }

    var function: @Sendable () -> Int64 { { self.now } }
}

/// Resident set size of this process in bytes (Linux `/proc/self/statm`).
func residentBytes() -> Int64 {
    guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = statm.split(separator: " ")
    guard fields.count > 1, let pages = Int64(fields[1]) else { return 0 }
    return pages * Int64(sysconf(Int32(_SC_PAGESIZE)))
}

extension GreengrassLogFiles {
    /// Files in `dir/logs` with the given settings and clock.
    static func inTemp(
        _ dir: TempDir, clock: ManualClock, level: GreengrassLogLevel = .info, format: LogLineFormat = .text,
        fileSizeKB: Int = 1024, totalLogsSizeKB: Int = 10240,
        contextOrder: GreengrassLogConfiguration.ContextOrder = .greengrass, maxMessageBytes: Int = 256 * 1024
    ) -> GreengrassLogFiles {
        GreengrassLogFiles(
            configuration: GreengrassLogConfiguration(
                outputDirectory: dir.path + "/logs", level: level, format: format, fileSizeKB: fileSizeKB,
                totalLogsSizeKB: totalLogsSizeKB, contextOrder: contextOrder, maxMessageBytes: maxMessageBytes),
            now: clock.function)
    }
}
