/// One mapping of a file into this process, as `/proc/self/smaps` lists it.
public struct FileMapping: Equatable, Sendable {
    public var start: UInt
    public var end: UInt
    /// `rwxp` as the kernel writes it: read, write, execute, and `p` (private) or `s` (shared).
    public var permissions: String
    public var path: String
    /// Resident kB of the mapping.
    public var residentKB: Int
    /// kB of the mapping's pages that are private copies (written to, or copied on write): not file contents any more.
    public var anonymousKB: Int

    public init(start: UInt, end: UInt, permissions: String, path: String, residentKB: Int, anonymousKB: Int) {
        self.start = start
        self.end = end
        self.permissions = permissions
        self.path = path
        self.residentKB = residentKB
        self.anonymousKB = anonymousKB
    }

    /// Whether the kernel can drop this mapping's pages and map them again from the page cache when they are next
    /// touched, without any change in what the process reads: a private, read-only mapping of a file the process
    /// mapped at start-up, none of whose pages was ever copied on write. Relocated read-only data (RELRO: written
    /// by the dynamic loader before it was made read-only) has copied pages and is never returnable; a library
    /// loaded later is not listed in `startupFiles`, so a mapping still being set up by `dlopen` is never touched.
    public func isReturnable(startupFiles: Set<String>) -> Bool {
        let flags = Array(permissions.utf8)
        guard flags.count == 4, flags[1] != UInt8(ascii: "w"), flags[3] == UInt8(ascii: "p") else { return false }
        return anonymousKB == 0 && residentKB > 0 && end > start && startupFiles.contains(path)
    }
}

/// Reads the mapping table of `/proc/PID/smaps` (and the headers of `/proc/PID/maps`). Pure: the caller reads the file.
public enum FileMappingTable {
    /// The file mappings in `smaps`, in address order. Mappings without a file path (heap, stacks, `[vdso]`,
    /// anonymous memory) are left out; lines it does not understand are skipped, never trusted.
    public static func parse(smaps text: String) -> [FileMapping] {
        var mappings: [FileMapping] = []
        var current: FileMapping?
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            if let header = header(line) {
                // A mapping without a file ends the one before it too: its fields are not that file's.
                if let done = current { mappings.append(done) }
                current = header.fileMapping
            } else if current != nil, let (field, kB) = sizeField(line) {
                switch field {
                case "Rss": current?.residentKB = kB
                case "Anonymous": current?.anonymousKB = kB
                default: break
                }
            }
        }
        if let done = current { mappings.append(done) }
        return mappings
    }

    /// The paths of the files mapped, from `/proc/PID/maps` (or `smaps`) text.
    public static func mappedFiles(maps text: String) -> Set<String> {
        Set(text.split(separator: "\n").compactMap { header($0)?.fileMapping?.path })
    }

    /// A mapping's first line; `fileMapping` is nil for a mapping without a file (heap, stack, `[vdso]`, anonymous).
    struct Header {
        var fileMapping: FileMapping?
    }

    /// `start-end perms offset dev inode [path]`; nil for a field line. A path can hold spaces, so it is everything
    /// after the inode.
    static func header(_ line: Substring) -> Header? {
        var rest = line[...]
        func nextField() -> Substring? {
            rest = rest.drop(while: { $0 == " " })
            guard let end = rest.firstIndex(of: " ") else { return nil }
            defer { rest = rest[end...] }
            return rest[..<end]
        }
        guard let range = nextField(), let permissions = nextField(), permissions.count == 4,
            nextField() != nil, nextField() != nil, let inode = nextField(), inode.allSatisfy(\.isNumber)
        else { return nil }
        let bounds = range.split(separator: "-")
        guard bounds.count == 2, let start = UInt(bounds[0], radix: 16), let end = UInt(bounds[1], radix: 16) else { return nil }
        let path = rest.drop(while: { $0 == " " })
        guard path.first == "/" else { return Header(fileMapping: nil) }
        return Header(fileMapping: FileMapping(
            start: start, end: end, permissions: String(permissions), path: String(path), residentKB: 0, anonymousKB: 0))
    }

    /// `Name:   123 kB`.
    static func sizeField(_ line: Substring) -> (Substring, Int)? {
        guard let colon = line.firstIndex(of: ":") else { return nil }
        let value = line[line.index(after: colon)...].split(separator: " ")
        guard value.count == 2, value[1] == "kB", let kB = Int(value[0]) else { return nil }
        return (line[..<colon], kB)
    }
}
