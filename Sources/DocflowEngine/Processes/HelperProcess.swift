import CSpawn
import DocflowCore
import Foundation

/// A running helper program (`docflow-jq`, `docflow-parse`): its pid, and docflow's ends of its
/// stdin and stdout, both non-blocking.
struct HelperProcess {
    let pid: pid_t
    /// -1 once closed.
    private(set) var input: Int32
    let output: Int32

    /// Why a helper could not start: docflow's trouble (no descriptors, no processes left, no
    /// binary), not the work's.
    struct SpawnError: Error, Sendable, Equatable, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    /// How a helper ended.
    enum Ending: Sendable, Equatable, CustomStringConvertible {
        case exited(status: Int32)
        case killed(signal: Int32)
        /// It could not be reaped (someone else did).
        case unknown

        var description: String {
            switch self {
            case .exited(let status): "exited with status \(status)"
            case .killed(let signal): "was killed by signal \(signal)"
            case .unknown: "ended"
            }
        }
    }

    /// Starts `executable` as `executable <docflow's pid> arguments...` with an empty environment
    /// and only descriptors 0, 1 and 2: the helper can read neither docflow's credentials nor its
    /// sockets. Call it from a thread that lives as long as the helper: the helper dies with that
    /// thread (`PR_SET_PDEATHSIG`).
    static func spawn(_ executable: String, arguments: [String] = []) throws(SpawnError) -> HelperProcess {
        var stdinPipe: [Int32] = [-1, -1]
        var stdoutPipe: [Int32] = [-1, -1]
        guard docflow_pipe_cloexec(&stdinPipe) == 0 else {
            throw SpawnError(message: "cannot create a pipe: \(errorText())")
        }
        guard docflow_pipe_cloexec(&stdoutPipe) == 0 else {
            let error = SpawnError(message: "cannot create a pipe: \(errorText())")
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
        let argv: [UnsafeMutablePointer<CChar>?] =
            ([executable, "\(getpid())"] + arguments).map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        let environment: [UnsafeMutablePointer<CChar>?] = [nil]
        var status = posix_spawnp(&pid, executable, &actions, &attributes, argv, environment)
        // "Text file busy": the helper's file is open for writing somewhere, for a moment (a
        // process forked while it was written, an upgrade copying it in place). It passes.
        var tries = 1
        while status == ETXTBSY, tries < 20 {
            usleep(25_000)
            tries += 1
            status = posix_spawnp(&pid, executable, &actions, &attributes, argv, environment)
        }
        close(stdinPipe[0])
        close(stdoutPipe[1])
        guard status == 0 else {
            close(stdinPipe[1])
            close(stdoutPipe[0])
            throw SpawnError(message: "cannot start \(executable): \(String(cString: strerror(status)))")
        }
        for fd in [stdinPipe[1], stdoutPipe[0]] { _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) }
        return HelperProcess(pid: pid, input: stdinPipe[1], output: stdoutPipe[0])
    }

    private static func errorText() -> String {
        String(cString: strerror(errno))
    }

    /// Kills the process (harmless when it already died), reaps it and says how it ended.
    func end() -> Ending {
        kill(pid, SIGKILL)
        return wait()
    }

    /// Waits for the process to end on its own, reaps it, closes docflow's ends of its pipes and
    /// says how it ended.
    func wait() -> Ending {
        var status: Int32 = 0
        var reaped = waitpid(pid, &status, 0)
        while reaped < 0, errno == EINTR { reaped = waitpid(pid, &status, 0) }
        if input >= 0 { close(input) }
        close(output)
        guard reaped == pid else { return .unknown }
        let signal = status & 0x7f
        return signal != 0 ? .killed(signal: signal) : .exited(status: (status >> 8) & 0xff)
    }

    /// Closes the helper's stdin: it reads to its end.
    mutating func closeInput() {
        if input >= 0 { close(input) }
        input = -1
    }

    /// `variable`'s value if set, else `name` beside the running executable, else in the build
    /// folder (tests), else on the PATH.
    static func locate(_ name: String, variable: String) -> String {
        if let path = ProcessInfo.processInfo.environment[variable], !path.isEmpty { return path }
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
            .deletingLastPathComponent().appendingPathComponent(name).path
        if FileManager.default.isExecutableFile(atPath: beside) { return beside }
        let build = URL(fileURLWithPath: Bundle.main.bundlePath).appendingPathComponent(name).path
        if FileManager.default.isExecutableFile(atPath: build) { return build }
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        for folder in path.split(separator: ":") where FileManager.default.isExecutableFile(atPath: "\(folder)/\(name)")
        {
            return "\(folder)/\(name)"
        }
        return name
    }
}
