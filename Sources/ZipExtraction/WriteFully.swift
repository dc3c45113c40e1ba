#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Writes all of `bytes` to `descriptor`, continuing after short writes and `EINTR`; returns the `errno` of the
/// first failure, or nil. Shared by the ZIP extractor and the artifact copy (`GreengrassDeployment`), which wrap the
/// code in their own errors.
public func writeFully(_ bytes: UnsafeRawBufferPointer, to descriptor: Int32) -> Int32? {
    var offset = 0
    while offset < bytes.count {
        let written = write(descriptor, bytes.baseAddress! + offset, bytes.count - offset)
        if written < 0 {
            if errno == EINTR { continue }
            return errno
        }
        offset += written
    }
    return nil
}
