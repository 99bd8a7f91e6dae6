import Foundation
import Synchronization

/// What a finished process printed, and how it ended.
public struct ProcessOutput: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String
}

/// Runs `executable` with `arguments` to its end, on a thread of its own: waiting for a process
/// must not hold one of the few threads every test's tasks share.
public func runProcess(_ executable: String, _ arguments: [String]) async throws -> ProcessOutput {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread {
            do {
                let process = Process()
                process.executableURL = URL(fileURLWithPath: executable)
                process.arguments = arguments
                let out = Pipe()
                let err = Pipe()
                process.standardOutput = out
                process.standardError = err
                try process.run()
                // Both pipes drained at once, so neither fills up while the other is read.
                let errorData = Mutex(Data())
                let errorRead = DispatchSemaphore(value: 0)
                Thread.detachNewThread {
                    errorData.withLock { $0 = err.fileHandleForReading.readDataToEndOfFile() }
                    errorRead.signal()
                }
                let output = out.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                errorRead.wait()
                continuation.resume(
                    returning: ProcessOutput(
                        status: process.terminationStatus, stdout: String(decoding: output, as: UTF8.self),
                        stderr: String(decoding: errorData.withLock { $0 }, as: UTF8.self)))
            } catch {
                continuation.resume(throwing: error)
            }
        }
    }
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
}
