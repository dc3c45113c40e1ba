import NIOPosix

/// Runs a deployment's blocking file work — artifact copies, ZIP extraction, digests, fsyncs, recipe reads — on a
/// thread pool, so it never holds one of the few cooperative-pool threads (two on a two-core device) that every
/// other task of the nucleus needs. The pool belongs to whoever created it (the composition root starts it and
/// shuts it down).
public struct BlockingFileWork: Sendable {
    let pool: NIOThreadPool

    public init(pool: NIOThreadPool) {
        self.pool = pool
    }

    func run<Result: Sendable>(
        _ work: @escaping @Sendable () throws(DeploymentFailure) -> Result
    ) async throws(DeploymentFailure) -> Result {
        do {
            return try await pool.runIfActive { try work() }
        } catch let failure as DeploymentFailure {
            throw failure
        } catch {
            // Only a pool already shut down gets here: the nucleus is stopping.
            throw .artifactIO("File work could not run: \(error)")
        }
    }
}
