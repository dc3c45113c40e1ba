import Foundation

/// A fresh directory under `/tmp`, removed with everything in it when the object goes away.
///
/// The path is deliberately short (`/tmp/<prefix>XXXXXX`) so a Unix socket inside it stays well within the
/// 107-byte `sun_path` limit.
public final class TemporaryDirectory: @unchecked Sendable {
    /// The absolute path of the directory.
    public let path: String

    /// Creates the directory; `prefix` should be short (a few letters).
    public init(prefix: String = "gg") throws {
        var template = Array("/tmp/\(prefix)XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { buffer -> Bool in
            mkdtemp(buffer.baseAddress!) != nil
        }
        guard created else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: "/tmp/\(prefix)XXXXXX"])
        }
        path = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `path` joined with `name`.
    public func file(_ name: String) -> String {
        path + "/" + name
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }
}
