import CSpawn
import Foundation

/// What a finished process printed, and how it ended.
public struct ProcessOutput: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String
}

/// Runs `executable` with `arguments` to its end, on a thread of its own: waiting for a process
/// must not hold one of the few threads every test's tasks share.
///
/// Spawned and reaped here (posix_spawn, waitpid) rather than with Foundation's `Process`, whose
/// `waitUntilExit` learns of the end from a socket the child inherits, and which any process
/// spawned at the same moment may inherit too and keep open.
public func runProcess(_ executable: String, _ arguments: [String]) async throws -> ProcessOutput {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            continuation.resume(with: Result { try spawnAndWait(executable, arguments) })
        }
    }
}

private struct SpawnFailure: Error, CustomStringConvertible {
    let description: String
}

private func spawnAndWait(_ executable: String, _ arguments: [String]) throws -> ProcessOutput {
    var out: [Int32] = [-1, -1]
    var err: [Int32] = [-1, -1]
    guard docflow_pipe_cloexec(&out) == 0, docflow_pipe_cloexec(&err) == 0 else {
        throw SpawnFailure(description: "cannot create a pipe: errno \(errno)")
    }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_adddup2(&actions, out[1], 1)
    posix_spawn_file_actions_adddup2(&actions, err[1], 2)
    docflow_spawn_add_closefrom(&actions, 3)
    let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
    defer { for argument in argv { free(argument) } }
    var pid: pid_t = 0
    let status = posix_spawn(&pid, executable, &actions, nil, argv, environ)
    close(out[1])
    close(err[1])
    defer {
        close(out[0])
        close(err[0])
    }
    guard status == 0 else {
        throw SpawnFailure(description: "cannot start \(executable): \(String(cString: strerror(status)))")
    }
    // Both pipes drained together, so neither fills up while the other is read. Until the child
    // ends, not until the pipes close: a daemon it started (epmd, an Erlang port program) may
    // hold them open for good, and waiting for their end would hang the test run.
    var collected = [Data(), Data()]
    var fds = [pollfd(fd: out[0], events: Int16(POLLIN), revents: 0), pollfd(fd: err[0], events: Int16(POLLIN), revents: 0)]
    var buffer = [UInt8](repeating: 0, count: 65536)
    var waitStatus: Int32 = 0
    var ended = false
    func drain(_ index: Int) {
        let count = buffer.withUnsafeMutableBytes { read(fds[index].fd, $0.baseAddress, $0.count) }
        if count > 0 {
            collected[index].append(contentsOf: buffer[0..<count])
        } else if count == 0 || errno != EINTR {
            fds[index].fd = -1
        }
    }
    while fds.contains(where: { $0.fd >= 0 }) {
        if poll(&fds, 2, ended ? 0 : 100) < 0 {
            if errno == EINTR { continue }
            break
        }
        let ready = (0..<2).filter { fds[$0].fd >= 0 && fds[$0].revents != 0 }
        for index in ready { drain(index) }
        if ended, ready.isEmpty { break }
        if !ended, waitpid(pid, &waitStatus, WNOHANG) == pid { ended = true }
    }
    if !ended {
        while waitpid(pid, &waitStatus, 0) < 0, errno == EINTR {}
    }
    let signal = waitStatus & 0x7f
    return ProcessOutput(
        status: signal == 0 ? (waitStatus >> 8) & 0xff : 128 + signal,
        stdout: String(decoding: collected[0], as: UTF8.self), stderr: String(decoding: collected[1], as: UTF8.self))
}

/// Waits, without holding a thread, until `pid` has exited (a zombie counts as gone); false if it
/// still runs after `limit`.
public func waitUntilGone(_ pid: pid_t, within limit: Duration) async -> Bool {
    let deadline = ContinuousClock.now.advanced(by: limit)
    while ContinuousClock.now < deadline {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return true }
        if stat[stat.index(after: close)...].split(separator: " ").first == "Z" { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return false
}

/// Runs a command line tool (found on the PATH) and returns what it printed, stdout then stderr.
@discardableResult
public func shell(_ arguments: String...) async throws -> String {
    let result = try await runProcess("/usr/bin/env", arguments)
    return result.stdout + result.stderr
}

extension AsyncSequence where Self: Sendable, Element: Sendable {
    /// The next element, or nil when none comes within `timeout`.
    public func first(within timeout: Duration) async throws -> Element? {
        try await withThrowingTaskGroup(of: Element?.self) { group in
            group.addTask {
                var iterator = self.makeAsyncIterator()
                return try await iterator.next()
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            let result = try await group.next() ?? nil
            group.cancelAll()
            return result
        }
    }

    /// The elements up to and including the first for which `last` is true, or nil when that one
    /// does not come within `timeout`.
    public func collect(within timeout: Duration, until last: @escaping @Sendable ([Element]) -> Bool)
        async throws -> [Element]?
    {
        try await withThrowingTaskGroup(of: [Element]?.self) { group in
            group.addTask {
                var elements: [Element] = []
                for try await element in self {
                    elements.append(element)
                    if last(elements) { return elements }
                }
                return nil
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            let result = try await group.next() ?? nil
            group.cancelAll()
            return result
        }
    }
}
