import CZip

/// An open ZIP archive read through libzip: lists the central directory and streams one entry's data in bounded
/// chunks. libzip checks the local headers against the central directory (`ZIP_CHECKCONS`) and each entry's CRC.
/// libzip is loaded when the first archive is opened (`CZip`), so a nucleus that never unpacks one never maps it.
final class ZipArchiveReader {
    let path: String
    private let zip: gg_libzip
    private let archive: OpaquePointer

    /// Bytes decompressed per read: memory stays bounded whatever the entry's size.
    static let chunkBytes = 64 * 1024

    init(path: String) throws(ZipExtractionError) {
        self.path = path
        guard let zip = gg_libzip_load()?.pointee else {
            let reason = gg_libzip_failure().map { String(cString: $0) } ?? "unknown error"
            throw ZipExtractionError("cannot read \(path): libzip cannot be loaded: \(reason)")
        }
        self.zip = zip
        var code: Int32 = 0
        guard let archive = zip.open(path, ZIP_RDONLY | ZIP_CHECKCONS, &code) else {
            throw ZipExtractionError("\(path) is not a readable ZIP archive: \(Self.message(forCode: code, zip: zip))")
        }
        self.archive = archive
    }

    deinit { zip.discard(archive) }

    /// The central directory in archive order, or the first `limit + 1` entries when there are more (enough for the
    /// plan to refuse the archive without reading millions of headers).
    func entries(upTo limit: Int) throws(ZipExtractionError) -> [ZipEntry] {
        let count = zip.get_num_entries(archive, 0)
        guard count >= 0 else { throw ZipExtractionError("\(path): cannot list entries: \(lastError())") }
        let listed = Int(min(count, Int64(limit) + 1))
        var entries: [ZipEntry] = []
        entries.reserveCapacity(listed)
        for index in 0..<listed {
            var stat = zip_stat_t()
            zip.stat_init(&stat)
            guard zip.stat_index(archive, zip_uint64_t(index), 0, &stat) == 0 else {
                throw ZipExtractionError("\(path): cannot read entry \(index): \(lastError())")
            }
            let required = zip_uint64_t(ZIP_STAT_NAME | ZIP_STAT_SIZE | ZIP_STAT_COMP_METHOD | ZIP_STAT_ENCRYPTION_METHOD)
            guard stat.valid & required == required, let cName = stat.name else {
                throw ZipExtractionError("\(path): entry \(index) lacks a name, size or compression method")
            }
            let name = String(cString: cName)
            var system: zip_uint8_t = 0
            var attributes: zip_uint32_t = 0
            guard zip.file_get_external_attributes(archive, zip_uint64_t(index), 0, &system, &attributes) == 0 else {
                throw ZipExtractionError("\(path): cannot read the attributes of entry \"\(name)\": \(lastError())")
            }
            let (kind, permissions) = ZipEntry.classify(
                name: name, madeOnUnix: UInt32(system) == ZIP_OPSYS_UNIX, externalAttributes: attributes)
            entries.append(
                ZipEntry(
                    name: name, uncompressedSize: stat.size, compressionMethod: stat.comp_method,
                    isEncrypted: stat.encryption_method != ZIP_EM_NONE, kind: kind, unixPermissions: permissions))
        }
        return entries
    }

    /// Decompresses entry `planned` chunk by chunk into `write`, never passing on more than its declared size.
    func stream(_ planned: ZipPlannedEntry, into write: (UnsafeRawBufferPointer) throws(ZipExtractionError) -> Void) throws(ZipExtractionError) {
        let name = planned.entry.name
        guard let file = zip.fopen_index(archive, zip_uint64_t(planned.index), 0) else {
            throw ZipExtractionError("\(path): cannot open entry \"\(name)\": \(lastError())")
        }
        defer { _ = zip.fclose(file) }
        var sizeGuard = DeclaredSizeGuard(entryName: name, declaredBytes: planned.entry.uncompressedSize)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.chunkBytes, alignment: 1)
        defer { buffer.deallocate() }
        while true {
            let count = zip.fread(file, buffer.baseAddress!, zip_uint64_t(buffer.count))
            guard count >= 0 else {
                throw ZipExtractionError("\(path): entry \"\(name)\" is damaged: \(Self.text(zip.file_strerror(file)))")
            }
            if count == 0 { break }
            do { try sizeGuard.admit(Int(count)) } catch { throw error.about(archive: path) }
            try write(UnsafeRawBufferPointer(rebasing: buffer[..<Int(count)]))
        }
        do { try sizeGuard.finish() } catch { throw error.about(archive: path) }
    }

    private func lastError() -> String { Self.text(zip.strerror(archive)) }

    /// libzip's message text (its functions, reached through pointers, return optional C strings).
    private static func text(_ message: UnsafePointer<CChar>?) -> String {
        message.map { String(cString: $0) } ?? "unknown libzip error"
    }

    private static func message(forCode code: Int32, zip: gg_libzip) -> String {
        var error = zip_error_t()
        zip.error_init_with_code(&error, code)
        defer { zip.error_fini(&error) }
        return text(zip.error_strerror(&error))
    }
}
