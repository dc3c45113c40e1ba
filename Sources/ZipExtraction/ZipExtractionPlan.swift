/// Bounds on one archive, checked on the declared entry list before anything is written.
public struct ZipLimits: Sendable, Hashable {
    /// Upper bound on the total uncompressed size (a zip bomb must not fill the disk).
    public var maximumTotalBytes: UInt64
    public var maximumEntries: Int
    /// Longest entry name in bytes: Linux's `PATH_MAX` less one, so every extracted path stays usable.
    public var maximumNameBytes: Int

    public init(maximumTotalBytes: UInt64 = 2 << 30, maximumEntries: Int = 100_000, maximumNameBytes: Int = 4095) {
        self.maximumTotalBytes = maximumTotalBytes
        self.maximumEntries = maximumEntries
        self.maximumNameBytes = maximumNameBytes
    }
}

/// An entry accepted for extraction, with its path split into components relative to the extraction directory.
public struct ZipPlannedEntry: Sendable, Hashable {
    /// Position in the archive's central directory.
    public var index: Int
    public var entry: ZipEntry
    public var components: [String]
}

/// Checks a path stored in an archive: a hostile archive must not write outside its extraction directory
/// (`../`, absolute paths) or smuggle in NUL bytes.
public enum ZipEntryPath {
    /// The entry path as components relative to the extraction directory (`.` components dropped; `\` is a separator
    /// too, as archives made on Windows use it).
    ///
    /// - Throws: a message naming the entry when it is absolute, empty, contains `..` or a NUL byte.
    public static func components(of path: String) throws(ZipExtractionError) -> [String] {
        guard !path.contains("\0") else { throw ZipExtractionError("archive entry \"\(path)\" contains a NUL byte") }
        guard !path.hasPrefix("/"), !path.hasPrefix("\\") else {
            throw ZipExtractionError("archive entry \"\(path)\" is an absolute path")
        }
        let components = path.split(whereSeparator: { $0 == "/" || $0 == "\\" }).map(String.init).filter { $0 != "." }
        guard !components.isEmpty else { throw ZipExtractionError("archive entry \"\(path)\" has an empty name") }
        guard !components.contains("..") else {
            throw ZipExtractionError("archive entry \"\(path)\" points outside the extraction directory")
        }
        return components
    }
}

/// Decides, from the declared entry list alone, whether an archive may be extracted: every refusal happens here,
/// before the first byte is written.
public enum ZipExtractionPlan {
    /// The entries to extract in archive order.
    ///
    /// - Throws: a message naming the offending entry: a path outside the directory, a symbolic link or special
    ///   file, an encrypted entry, an unsupported compression method, a name used twice or both as a file and a
    ///   directory, too many entries, or a total declared size above the bound.
    public static func plan(_ entries: [ZipEntry], limits: ZipLimits) throws(ZipExtractionError) -> [ZipPlannedEntry] {
        guard entries.count <= limits.maximumEntries else {
            throw ZipExtractionError("the archive has more than \(limits.maximumEntries) entries")
        }
        var planned: [ZipPlannedEntry] = []
        planned.reserveCapacity(entries.count)
        var files = Set<[String]>()
        var directories = Set<[String]>()
        var total: UInt64 = 0
        for (index, entry) in entries.enumerated() {
            let name = entry.name
            guard name.utf8.count <= limits.maximumNameBytes else {
                throw ZipExtractionError("archive entry \"\(name.prefix(64))…\" has a name longer than \(limits.maximumNameBytes) bytes")
            }
            let components = try ZipEntryPath.components(of: name)
            switch entry.kind {
            case .file, .directory: break
            case .symbolicLink: throw ZipExtractionError("archive entry \"\(name)\" is a symbolic link, which is not extracted")
            case .special: throw ZipExtractionError("archive entry \"\(name)\" is a device, FIFO or socket, which is not extracted")
            }
            if entry.kind == .file {
                guard !entry.isEncrypted else { throw ZipExtractionError("archive entry \"\(name)\" is encrypted") }
                guard ZipCompression.supported.contains(entry.compressionMethod) else {
                    throw ZipExtractionError(
                        "archive entry \"\(name)\" uses compression method \(entry.compressionMethod); only stored (0) and deflated (8) are supported")
                }
                let (sum, overflow) = total.addingReportingOverflow(entry.uncompressedSize)
                guard !overflow, sum <= limits.maximumTotalBytes else {
                    throw ZipExtractionError(
                        "archive entry \"\(name)\" brings the archive to more than \(limits.maximumTotalBytes) bytes uncompressed")
                }
                total = sum
            }
            // Two entries for one path would make the second overwrite the first, and a file where a later entry
            // needs a directory (or the reverse) cannot be extracted: refuse both now rather than halfway.
            for depth in 1..<components.count where files.contains(Array(components.prefix(depth))) {
                throw ZipExtractionError("archive entry \"\(name)\" is inside \"\(components.prefix(depth).joined(separator: "/"))\", which is a file")
            }
            for depth in 1..<components.count { directories.insert(Array(components.prefix(depth))) }
            if entry.kind == .file {
                guard !files.contains(components) else { throw ZipExtractionError("archive entry \"\(name)\" appears twice") }
                guard !directories.contains(components) else {
                    throw ZipExtractionError("archive entry \"\(name)\" is both a file and a directory")
                }
                files.insert(components)
            } else {
                guard !files.contains(components) else {
                    throw ZipExtractionError("archive entry \"\(name)\" is both a file and a directory")
                }
                directories.insert(components)
            }
            planned.append(ZipPlannedEntry(index: index, entry: entry, components: components))
        }
        return planned
    }
}

/// Counts the bytes actually decompressed for one entry against its declared size: a header that lies about the
/// size must not turn the size bound into a bomb, so writing stops at the first byte past the declaration.
public struct DeclaredSizeGuard: Sendable, Hashable {
    public let entryName: String
    public let declaredBytes: UInt64
    public private(set) var receivedBytes: UInt64 = 0

    public init(entryName: String, declaredBytes: UInt64) {
        self.entryName = entryName
        self.declaredBytes = declaredBytes
    }

    /// Records `count` more bytes before they are written.
    public mutating func admit(_ count: Int) throws(ZipExtractionError) {
        let (sum, overflow) = receivedBytes.addingReportingOverflow(UInt64(count))
        guard !overflow, sum <= declaredBytes else {
            throw ZipExtractionError("archive entry \"\(entryName)\" holds more than its declared \(declaredBytes) bytes")
        }
        receivedBytes = sum
    }

    /// Checks the data ended exactly at the declared size (shorter data means a damaged archive).
    public func finish() throws(ZipExtractionError) {
        guard receivedBytes == declaredBytes else {
            throw ZipExtractionError(
                "archive entry \"\(entryName)\" holds \(receivedBytes) bytes, not its declared \(declaredBytes)")
        }
    }
}
