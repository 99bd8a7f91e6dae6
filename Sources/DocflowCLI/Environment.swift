import Foundation
import Logging

/// The brokers `--amqp-url` names (repeated or comma-separated), else `DOCFLOW_AMQP_URL`
/// (comma-separated), else the local broker; as one comma-separated list.
package func brokerURLs(_ flags: [String]) -> String {
    flags.isEmpty ? env("DOCFLOW_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F") : flags.joined(separator: ",")
}

/// A flag's default: its environment variable when set, else the built-in value.
package func env(_ name: String, _ fallback: String) -> String {
    ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 } ?? fallback
}

package func env(_ name: String) -> String? {
    ProcessInfo.processInfo.environment[name].flatMap { $0.isEmpty ? nil : $0 }
}

/// Logs go to stderr, one line per event, at `DOCFLOW_LOG_LEVEL` (default info), as text or as
/// JSON (`DOCFLOW_LOG_FORMAT`).
package func bootstrapLogging(level: String, format: LogFormat = .text) -> Logger {
    let level = Logger.Level(rawValue: level.lowercased()) ?? .info
    LoggingSystem.bootstrap { label in
        switch format {
        case .text:
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        case .json:
            var handler = JSONLogHandler(label: label)
            handler.logLevel = level
            return handler
        }
    }
    return Logger(label: "docflow")
}
