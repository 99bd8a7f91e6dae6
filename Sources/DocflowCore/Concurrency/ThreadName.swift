import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Names the calling thread as `top -H`, `ps -L` and `perf` show it (at most 15 bytes).
/// Foundation's `Thread.name` does not reach the kernel on Linux.
public func nameCurrentThread(_ name: String) {
    let fd = open("/proc/thread-self/comm", O_WRONLY)
    guard fd >= 0 else { return }
    let bytes = Array(name.utf8.prefix(15))
    _ = write(fd, bytes, bytes.count)
    close(fd)
}
