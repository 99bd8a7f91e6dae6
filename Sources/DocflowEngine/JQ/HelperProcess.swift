import CSpawn
import DocflowCore
import Foundation
import Logging

/// A running `docflow-jq`: its pid, and docflow's ends of its stdin and stdout, both non-blocking.
struct HelperProcess {
    let pid: pid_t
    let input: Int32
    let output: Int32

    /// Starts `executable` with an empty environment and only descriptors 0, 1 and 2: a jq program
    /// can read neither docflow's credentials (`$ENV`) nor its sockets. Call it from a thread that
    /// lives as long as the helper: the helper dies with that thread (`PR_SET_PDEATHSIG`).
    static func spawn(_ executable: String) throws(JQError) -> HelperProcess {
        var stdinPipe: [Int32] = [-1, -1]
        var stdoutPipe: [Int32] = [-1, -1]
        guard docflow_pipe_cloexec(&stdinPipe) == 0 else { throw .unavailable("cannot create a pipe: \(errorText())") }
        guard docflow_pipe_cloexec(&stdoutPipe) == 0 else {
            let error = JQError.unavailable("cannot create a pipe: \(errorText())")
            close(stdinPipe[0])
            close(stdinPipe[1])
            throw error
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, stdinPipe[0], 0)
        posix_spawn_file_actions_adddup2(&actions, stdoutPipe[1], 1)
        // Close-on-exec is the rule in docflow (`CloseOnExec`); this holds whatever a library
        // opened without it since.
        docflow_spawn_add_closefrom(&actions, 3)
        CloseOnExec.markAll()
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
        let argv: [UnsafeMutablePointer<CChar>?] = [strdup(executable), strdup("\(getpid())"), nil]
        defer { for argument in argv { free(argument) } }
        let environment: [UnsafeMutablePointer<CChar>?] = [nil]
        let status = posix_spawnp(&pid, executable, &actions, &attributes, argv, environment)
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

    private static func errorText() -> String {
        String(cString: strerror(errno))
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
