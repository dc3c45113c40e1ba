import GreengrassJSON
import GreengrassRecipe

#if canImport(Glibc)
import Glibc
#endif
#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `<root>/config/effectiveConfig.yaml`: a human-readable dump of the configuration, as Greengrass keeps one.
/// Informational only — the store is the source of truth — so a write failure is not fatal.
enum EffectiveConfiguration {
    /// Writes the dump unless the file already holds exactly this text. Temporary file + rename, so a reader never
    /// sees half a file, but no fsync: the file is derived from the store and rewritten at every start, so start-up
    /// does not wait for the disk over it.
    static func write(_ tree: JSONValue, to path: String) {
        let bytes = Array(YAMLWriter.document(tree).utf8)
        if let existing = FileManager.default.contents(atPath: path), existing.elementsEqual(bytes) { return }
        let temporary = path + ".tmp"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return }
        let written = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        close(descriptor)
        if written == bytes.count { rename(temporary, path) } else { unlink(temporary) }
    }
}
