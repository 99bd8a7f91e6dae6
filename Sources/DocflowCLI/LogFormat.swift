/// How `docflow serve` and `docflow worker` write their log (`--log-format`).
package enum LogFormat: String, CaseIterable, Sendable {
    /// swift-log's line: time, level, label, metadata, source and message.
    case text
    /// One JSON object per line (`JSONLogHandler`).
    case json
}
