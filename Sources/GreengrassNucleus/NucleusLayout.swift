import GreengrassDeployment

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// The directories of a Greengrass root, created (with their modes) before anything is written under it.
enum NucleusLayout {
    static func create(_ paths: NucleusPaths) throws {
        for (path, mode) in paths.directoriesToCreate {
            do {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            } catch {
                throw NucleusStartupError("Cannot create \(path): \(error)")
            }
            _ = chmod(path, mode_t(mode))
        }
    }

    /// `--root` as given, made absolute against the working directory (components and the CLI see this path).
    static func absolutePath(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        let current = FileManager.default.currentDirectoryPath
        return path == "." ? current : current + "/" + path
    }
}
