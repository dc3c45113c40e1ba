#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// File-system queries FoundationEssentials lacks in the shape we need (no `ObjCBool`, no directory enumerator).
enum FileSystem {
    static func isDirectory(_ path: String) -> Bool {
        (try? FileManager.default.attributesOfItem(atPath: path)[.type] as? FileAttributeType) == .typeDirectory
    }

    /// Every path under `directory`, relative to it, recursively.
    static func relativePaths(under directory: String) -> [String] {
        (try? FileManager.default.subpathsOfDirectory(atPath: directory)) ?? []
    }
}
