import Foundation

/// What tests read or run from this repository: vendored fixtures and the project's Python. Tests never read
/// outside the repository, so a clone anywhere runs them the same way.
public enum RepositoryFiles {
    /// The repository's root folder, from this source file's place in it (`Tests/GreengrassTestSupport/`).
    public static let root: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// `Tests/Fixtures/<relative>` as an absolute path.
    public static func fixturePath(_ relative: String) -> String {
        root + "/Tests/Fixtures/" + relative
    }

    /// A fixture that is missing or unreadable: the test using it fails with this message, the run goes on.
    public struct FixtureError: Error, CustomStringConvertible {
        /// The absolute path of the fixture.
        public var path: String
        /// What is wrong with it.
        public var problem: String
        public init(path: String, problem: String) {
            self.path = path
            self.problem = problem
        }

        public var description: String {
            "test fixture \(path): \(problem) (fixtures are vendored in Tests/Fixtures; see its README.md)"
        }
    }

    /// The contents of `Tests/Fixtures/<relative>`, bounded (fixtures are small; anything bigger is not one of ours).
    public static func fixture(_ relative: String, maximumBytes: Int = 1 << 20) throws -> Data {
        let path = fixturePath(relative)
        guard FileManager.default.fileExists(atPath: path) else { throw FixtureError(path: path, problem: "missing") }
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw FixtureError(path: path, problem: "cannot be opened")
        }
        defer { try? handle.close() }
        let data = (try? handle.read(upToCount: maximumBytes + 1)) ?? Data()
        guard data.count <= maximumBytes else {
            throw FixtureError(path: path, problem: "larger than \(maximumBytes) bytes")
        }
        return data
    }

    /// The bytes of a hex fixture (how the vectors' `.hex` files store frames).
    public static func hexFixture(_ relative: String) throws -> [UInt8] {
        guard let bytes = hexBytes(String(decoding: try fixture(relative), as: UTF8.self)) else {
            throw FixtureError(path: fixturePath(relative), problem: "not an even number of hex digits")
        }
        return bytes
    }

    /// The bytes spelled by hex digits (whitespace ignored); nil for anything else or an odd digit count.
    public static func hexBytes(_ text: String) -> [UInt8]? {
        let digits = Array(text.utf8.filter { !($0 == 10 || $0 == 13 || $0 == 32) })
        let isHexDigit = { (c: UInt8) in (48...57).contains(c) || (65...70).contains(c) || (97...102).contains(c) }
        guard digits.count.isMultiple(of: 2), digits.allSatisfy(isHexDigit) else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(digits.count / 2)
        for index in stride(from: 0, to: digits.count, by: 2) {
            guard let byte = UInt8(String(decoding: digits[index...index + 1], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(byte)
        }
        return bytes
    }

    /// The project's virtual environment (`scripts/setup-deps.sh` makes it; it holds awsiotsdk and paho-mqtt).
    public static var virtualEnvironmentBin: String { root + "/.venv/bin" }

    /// The Python interpreter tests run: the project's `.venv/bin/python3` when it exists, so a plain `swift test`
    /// from a shell without the venv on PATH still gets the SDK; otherwise `python3` from PATH.
    public static var python3: String {
        pythonInterpreter(virtualEnvironmentBin: virtualEnvironmentBin, isExecutable: FileManager.default.isExecutableFile(atPath:))
    }

    /// The choice behind `python3`, with the file check as a parameter.
    public static func pythonInterpreter(virtualEnvironmentBin: String, isExecutable: (String) -> Bool) -> String {
        let candidate = virtualEnvironmentBin + "/python3"
        return isExecutable(candidate) ? candidate : "python3"
    }

    /// `path` with the project's venv bin first (once), for processes that run `python3` themselves: a nucleus's
    /// component scripts (`sh -c "python3 …"`) find the SDK the way a device's components find a device-wide venv.
    public static func searchPath(_ path: String?, virtualEnvironmentBin: String = virtualEnvironmentBin) -> String {
        let rest = (path ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin").split(separator: ":", omittingEmptySubsequences: true).filter { $0 != virtualEnvironmentBin }
        return ([virtualEnvironmentBin] + rest.map(String.init)).joined(separator: ":")
    }
}
