#if canImport(Glibc)
@preconcurrency import Glibc
#endif

/// Runs the C library's thread teardown once, at start-up.
///
/// The first time any thread of the process ends, glibc's teardown calls into the dynamic loader through a lazily
/// bound entry (libc itself is not linked with `-z now`), and the loader looks the symbol up through every
/// library's symbol tables: a dozen 64 KiB windows of loader code and hash tables. In the nucleus the first thread
/// to end was a concurrency worker thread retiring after a burst of traffic, long after the idle pages had been
/// returned (a page-fault trace, BENCHMARKS.md §8). Ending one thread at start-up binds the entry while start-up
/// code is resident anyway, and the first return hands those pages back; later thread exits map only the teardown
/// code itself.
public enum ThreadTeardown {
    /// Starts a thread that does nothing and waits for it to end; false when the thread could not be started.
    @discardableResult
    public static func bindNow() -> Bool {
        var thread = pthread_t()
        guard pthread_create(&thread, nil, { _ in nil }, nil) == 0 else { return false }
        return pthread_join(thread, nil) == 0
    }
}
