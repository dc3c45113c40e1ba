import GreengrassTestSupport
import Testing

/// Which Python the tests run, so a plain `swift test` (no venv on PATH) still gets the project's SDK.
@Suite("The tests' Python interpreter")
struct RepositoryPythonTests {
    @Test("the project venv's python3 when it exists, else python3 from PATH")
    func interpreterChoice() {
        #expect(RepositoryFiles.pythonInterpreter(virtualEnvironmentBin: "/r/.venv/bin", isExecutable: { $0 == "/r/.venv/bin/python3" })
            == "/r/.venv/bin/python3")
        #expect(RepositoryFiles.pythonInterpreter(virtualEnvironmentBin: "/r/.venv/bin", isExecutable: { _ in false }) == "python3")
    }

    @Test("the venv's bin goes first on a spawned nucleus's PATH, once")
    func searchPath() {
        #expect(RepositoryFiles.searchPath("/usr/bin:/bin", virtualEnvironmentBin: "/r/.venv/bin") == "/r/.venv/bin:/usr/bin:/bin")
        #expect(RepositoryFiles.searchPath("/usr/bin:/r/.venv/bin::/bin", virtualEnvironmentBin: "/r/.venv/bin") == "/r/.venv/bin:/usr/bin:/bin")
        #expect(RepositoryFiles.searchPath(nil, virtualEnvironmentBin: "/v") == "/v:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
    }

    @Test("the repository root is where this checkout is, and the venv lives in it")
    func rootAndVenv() {
        #expect(RepositoryFiles.root == String(#filePath.dropLast("/Tests/EventStreamRPCTests/RepositoryPythonTests.swift".count)))
        #expect(RepositoryFiles.virtualEnvironmentBin == RepositoryFiles.root + "/.venv/bin")
    }
}
