import DocflowCore
import Foundation
import Logging
import Synchronization

/// A running `docflow-jq`: its pid, and docflow's ends of its stdin and stdout, both non-blocking.
struct HelperProcess {
    let pid: pid_t
    let input: Int32
    let output: Int32

    static func spawn(_ executable: String) throws(JQError) -> HelperProcess {
        // Swift's Glibc has no pipe2: the lock keeps a helper starting on another worker's thread from
        // inheriting these pipes before they are marked close-on-exec.
        try spawning.withLock { _ throws(JQError) in try spawnLocked(executable) }
    }

    private static let spawning = Mutex(())

    private static func spawnLocked(_ executable: String) throws(JQError) -> HelperProcess {
        var stdinPipe: [Int32] = [-1, -1]
        var stdoutPipe: [Int32] = [-1, -1]
        guard pipe(&stdinPipe) == 0 else { throw .unavailable("cannot create a pipe: errno \(errno)") }
        guard pipe(&stdoutPipe) == 0 else {
            close(stdinPipe[0])
            close(stdinPipe[1])
            throw .unavailable("cannot create a pipe: errno \(errno)")
        }
        for fd in stdinPipe + stdoutPipe { _ = fcntl(fd, F_SETFD, FD_CLOEXEC) }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdinPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, stdoutPipe[1], 1)
        // The helper gets default signal handling, whatever docflow's threads block or ignore.
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var signals = sigset_t()
        sigemptyset(&signals)
        posix_spawnattr_setsigmask(&attributes, &signals)
        sigaddset(&signals, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &signals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var pid: pid_t = 0
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup(executable), nil]
        defer { free(argv[0]) }
        let status = posix_spawnp(&pid, executable, &actions, &attributes, argv, environ)
        close(stdinPipe[0])
        close(stdoutPipe[1])
        guard status == 0 else {
            close(stdinPipe[1])
            close(stdoutPipe[0])
            throw .unavailable("cannot start \(executable): \(String(cString: strerror(status)))")
        }
        for fd in [stdinPipe[1], stdoutPipe[0]] { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        return HelperProcess(pid: pid, input: stdinPipe[1], output: stdoutPipe[0])
    }

    /// Kills the process (harmless when it already died), reaps it and says how it ended.
    func end() -> String {
        kill(pid, SIGKILL)
        var status: Int32 = 0
        var reaped = waitpid(pid, &status, 0)
        while reaped < 0, errno == EINTR { reaped = waitpid(pid, &status, 0) }
        close(input)
        close(output)
        guard reaped == pid else { return "the jq process ended" }
        let signal = status & 0x7f
        return signal != 0
            ? "the jq process was killed by signal \(signal)"
            : "the jq process exited with status \((status >> 8) & 0xff)"
    }
}
