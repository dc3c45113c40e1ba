#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif
#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// File-system queries FoundationEssentials lacks in the shape we need (no `ObjCBool`, no directory enumerator).
enum FileSystem {
    /// Whether `path` names a directory, following symbolic links as Greengrass does (`Files.isDirectory`): a
    /// `--recipeDir` or a component version's artifact directory may be a link to the real one.
    static func isDirectory(_ path: String) -> Bool {
        var status = stat()
        return stat(path, &status) == 0 && status.st_mode & S_IFMT == S_IFDIR
    }

    /// Every path under `directory`, relative to it, recursively. A `directory` that is a symbolic link is listed
    /// through it (the enumerator alone lists nothing under a link); links below it are listed, not followed.
    static func relativePaths(under directory: String) -> [String] {
        var root = directory
        if let resolved = realpath(directory, nil) {
            root = String(cString: resolved)
            free(resolved)
        }
        return (try? FileManager.default.subpathsOfDirectory(atPath: root)) ?? []
    }
}
