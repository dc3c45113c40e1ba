/// What an archive entry would become on disk.
public enum ZipEntryKind: Sendable, Hashable {
    case file
    case directory
    case symbolicLink
    /// A device, FIFO or socket: never extracted.
    case special
}

/// One entry of a ZIP archive's central directory, as the archive declares it (hostile until validated).
public struct ZipEntry: Sendable, Hashable {
    public var name: String
    /// The size the archive declares; extraction stops writing if the data turns out larger.
    public var uncompressedSize: UInt64
    /// The ZIP compression method number (0 stored, 8 deflated).
    public var compressionMethod: UInt16
    public var isEncrypted: Bool
    public var kind: ZipEntryKind
    /// Permission bits (`0o7777`) when the archive was made on Unix; only the execute bits are ever used.
    public var unixPermissions: UInt16?

    public init(
        name: String, uncompressedSize: UInt64, compressionMethod: UInt16 = ZipCompression.deflated,
        isEncrypted: Bool = false, kind: ZipEntryKind = .file, unixPermissions: UInt16? = nil
    ) {
        self.name = name
        self.uncompressedSize = uncompressedSize
        self.compressionMethod = compressionMethod
        self.isEncrypted = isEncrypted
        self.kind = kind
        self.unixPermissions = unixPermissions
    }

    /// The kind and permissions an entry's external attributes declare. Archives made on Unix carry `st_mode` in
    /// the upper 16 bits; others (DOS, NTFS) only flag directories, with bit 4 or a trailing `/`.
    public static func classify(
        name: String, madeOnUnix: Bool, externalAttributes: UInt32
    ) -> (kind: ZipEntryKind, unixPermissions: UInt16?) {
        let namedLikeDirectory = name.hasSuffix("/") || name.hasSuffix("\\")
        guard madeOnUnix, externalAttributes >> 16 != 0 else {
            let dosDirectory = externalAttributes & 0x10 != 0
            return (namedLikeDirectory || dosDirectory ? .directory : .file, nil)
        }
        let mode = UInt16(truncatingIfNeeded: externalAttributes >> 16)
        let permissions = mode & 0o7777
        switch mode & 0o170000 {
        case 0o120000: return (.symbolicLink, permissions)
        case 0o040000: return (.directory, permissions)
        // Some tools write no file type at all; the name still tells a directory.
        case 0o100000, 0: return (namedLikeDirectory ? .directory : .file, permissions)
        default: return (.special, permissions)
        }
    }
}

/// Compression methods this extractor reads: the two Greengrass's Java nucleus reads (`java.util.zip`).
public enum ZipCompression {
    public static let stored: UInt16 = 0
    public static let deflated: UInt16 = 8
    public static let supported: Set<UInt16> = [stored, deflated]
}

/// Why an archive is refused or could not be extracted; always names the archive and, when one is at fault, the entry.
public struct ZipExtractionError: Error, Sendable, Hashable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }

    /// The same error with the archive's path in front, for messages raised where only the entry is known.
    func about(archive: String) -> ZipExtractionError { ZipExtractionError("\(archive): \(description)") }
}
