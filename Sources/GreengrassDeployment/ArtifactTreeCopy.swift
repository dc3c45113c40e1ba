#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Copies a component version's artifact directory (files, sub-directories, symbolic links, modes), verifying the
/// top-level files that have an expected digest in the same pass that copies them.
enum ArtifactTreeCopy {
    static func copy(
        from source: String, to destination: String, verifying digests: [String: ExpectedArtifactDigest],
    ) throws(ArtifactError) {
        guard mkdir(destination, 0o755) == 0 else { throw ArtifactError("cannot create \(destination): errno \(errno)") }
        for relative in FileSystem.relativePaths(under: source).sorted() {
            let from = source + "/" + relative
            let to = destination + "/" + relative
            var status = stat()
            guard lstat(from, &status) == 0 else { throw ArtifactError("cannot read \(from): errno \(errno)") }
            let permissions = status.st_mode & 0o7777
            switch status.st_mode & S_IFMT {
            case S_IFDIR:
                guard mkdir(to, permissions | 0o700) == 0 else { throw ArtifactError("cannot create \(to): errno \(errno)") }
            case S_IFLNK:
                var target = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                let length = readlink(from, &target, Int(PATH_MAX))
                guard length >= 0 else { throw ArtifactError("cannot read link \(from): errno \(errno)") }
                target[length] = 0
                guard symlink(target, to) == 0 else { throw ArtifactError("cannot create link \(to): errno \(errno)") }
            case S_IFREG:
                let expected = digests[relative]
                let actual = try DigestingFileReader.stream(
                    from, to: to, mode: permissions | 0o200, algorithm: expected?.algorithm)
                try expected?.check(actual: actual ?? [])
            default:
                continue  // sockets, fifos, devices are not artifacts
            }
        }
    }
}
