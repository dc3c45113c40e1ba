/// UTF-8 validation for the hot paths (every JSON string, every event-stream header name).
public enum UTF8Text {
    /// The string `bytes` spell, or nil when they are not valid UTF-8: `String(validating:as: UTF8.self)` with an
    /// ASCII fast path. The standard-library initializer is generic and unspecialized, so it looks up generic
    /// metadata on every call (a measurable share of a small IPC request); ASCII — nearly every header name, JSON
    /// key and topic — is valid UTF-8 as it is and decodes without that lookup.
    public static func validated(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        if isASCII(bytes) { return String(decoding: bytes, as: UTF8.self) }
        return String(validating: bytes, as: UTF8.self)
    }

    static func isASCII(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        var combined: UInt8 = 0
        for byte in bytes { combined |= byte }
        return combined < 0x80
    }
}
