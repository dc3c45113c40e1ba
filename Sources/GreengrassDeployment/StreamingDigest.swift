import CCrypto
import ZipExtraction

#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// An incremental libcrypto EVP digest: the bytes of an artifact go through it in fixed chunks, so a file of any
/// size is hashed in constant memory.
final class StreamingDigest {
    private let context: OpaquePointer

    init(_ algorithm: ArtifactDigestAlgorithm) throws(ArtifactError) {
        let method: OpaquePointer? =
            switch algorithm {
            case .sha1: EVP_sha1()
            case .sha256: EVP_sha256()
            case .sha384: EVP_sha384()
            case .sha512: EVP_sha512()
            }
        guard let method, let context = EVP_MD_CTX_new() else {
            throw ArtifactError("libcrypto cannot provide \(algorithm.rawValue)")
        }
        guard EVP_DigestInit_ex(context, method, nil) == 1 else {
            EVP_MD_CTX_free(context)
            throw ArtifactError("libcrypto cannot start a \(algorithm.rawValue) digest")
        }
        self.context = context
    }

    deinit { EVP_MD_CTX_free(context) }

    func update(_ bytes: UnsafeRawBufferPointer) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return }
        _ = EVP_DigestUpdate(context, base, bytes.count)
    }

    func finish() -> [UInt8] {
        var output = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        _ = EVP_DigestFinal_ex(context, &output, &length)
        return Array(output.prefix(Int(length)))
    }
}

/// Reads (and optionally copies) a file through one fixed buffer, feeding a digest as it goes: verification costs
/// no second read of the file and memory stays flat whatever the artifact's size.
enum DigestingFileReader {
    static let chunkSize = 1 << 20

    /// Streams `source` into `destination` (created with `mode`, truncated) when given, and returns the digest of
    /// what was read when `algorithm` is given.
    @discardableResult
    static func stream(
        _ source: String, to destination: String? = nil, mode: mode_t = 0o644, algorithm: ArtifactDigestAlgorithm?
    ) throws(ArtifactError) -> [UInt8]? {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { throw ArtifactError("cannot open \(source): errno \(errno)") }
        defer { close(input) }
        var output: Int32 = -1
        if let destination {
            output = open(destination, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode)
            guard output >= 0 else { throw ArtifactError("cannot create \(destination): errno \(errno)") }
        }
        defer { if output >= 0 { close(output) } }
        let digest = try algorithm.map { algorithm throws(ArtifactError) in try StreamingDigest(algorithm) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { buffer.deallocate() }
        var copiedBytes = 0
        while true {
            let count = read(input, buffer.baseAddress, chunkSize)
            if count < 0 {
                if errno == EINTR { continue }
                throw ArtifactError("cannot read \(source): errno \(errno)")
            }
            if count == 0 { break }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
            digest?.update(chunk)
            guard output >= 0 else { continue }
            // A hole stays a hole: a sparse artifact (a disk image, say) is not inflated by the copy.
            if isAllZero(chunk) {
                guard lseek(output, off_t(count), SEEK_CUR) >= 0 else { throw ArtifactError("cannot seek in \(destination ?? ""): errno \(errno)") }
                copiedBytes += count
                continue
            }
            try writeAll(chunk, to: output, path: destination ?? "")
            copiedBytes += count
        }
        // Trailing holes need the size set explicitly.
        if output >= 0, ftruncate(output, off_t(copiedBytes)) != 0 {
            throw ArtifactError("cannot size \(destination ?? ""): errno \(errno)")
        }
        return digest?.finish()
    }

    static func isAllZero(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let words = bytes.count / 8
        for index in 0..<words where bytes.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self) != 0 { return false }
        for index in (words * 8)..<bytes.count where bytes[index] != 0 { return false }
        return true
    }

    private static func writeAll(_ bytes: UnsafeRawBufferPointer, to descriptor: Int32, path: String) throws(ArtifactError) {
        if let failure = writeFully(bytes, to: descriptor) { throw ArtifactError("cannot write \(path): errno \(failure)") }
    }
}

extension ArtifactDigestAlgorithm {
    /// The digest of the file at `path`, read once through a fixed buffer.
    public func digest(ofFile path: String) throws(ArtifactError) -> [UInt8] {
        try DigestingFileReader.stream(path, algorithm: self) ?? []
    }
}
