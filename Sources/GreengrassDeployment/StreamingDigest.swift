import CCrypto

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
        while true {
            let count = read(input, buffer.baseAddress, chunkSize)
            if count < 0 {
                if errno == EINTR { continue }
                throw ArtifactError("cannot read \(source): errno \(errno)")
            }
            if count == 0 { break }
            let chunk = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
            digest?.update(chunk)
            if output >= 0 { try writeAll(chunk, to: output, path: destination ?? "") }
        }
        return digest?.finish()
    }

    private static func writeAll(_ bytes: UnsafeRawBufferPointer, to descriptor: Int32, path: String) throws(ArtifactError) {
        var offset = 0
        while offset < bytes.count {
            let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                throw ArtifactError("cannot write \(path): errno \(errno)")
            }
            offset += written
        }
    }
}
