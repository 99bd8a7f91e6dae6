import DocflowCore
import DocflowTestSupport
import Foundation
import Testing

/// `--log-format json` on the `docflow` binary: what a log collector reads from stderr.
@Suite("Log format")
struct LogFormatTests {
    @Test func jsonLogsAreOneObjectPerLineWithTheMetadataAsFields() async throws {
        let port = try freePort()
        let child = try ServeChild(arguments: ["--http-port", "\(port)", "--log-format", "json"])
        defer { Task { await child.remove() } }
        let deadline = ContinuousClock.now.advanced(by: .seconds(30))
        while !child.log.contains("docflow is serving") {
            guard child.process.isRunning, ContinuousClock.now < deadline else {
                throw TestFailure("docflow serve did not come up; log:\n\(child.log)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        let lines = child.log.split(separator: "\n")
        #expect(lines.count > 2)
        var serving: [String: JSONValue]?
        for line in lines {
            let object = try JSONValue.parse(Data(line.utf8)).objectValue
            #expect(object != nil, "not a JSON object: \(line)")
            guard let object else { continue }
            for field in ["timestamp", "level", "label", "message", "source"] {
                #expect(object[field]?.stringValue != nil, "no \(field) in \(line)")
            }
            #expect(object["timestamp"].flatMap(\.stringValue).flatMap(RFC3339.date(from:)) != nil, "\(line)")
            if object["message"] == "docflow is serving" { serving = object }
        }
        #expect(serving?["level"] == "info")
        #expect(serving?["label"] == "docflow")
        #expect(serving?["database"] == .string(child.database))
    }

    @Test func anUnknownFormatStopsDocflowAtStart() async throws {
        let child = try ServeChild(arguments: ["--http-port", "0"], environment: ["DOCFLOW_LOG_FORMAT": "xml"])
        defer { Task { await child.remove() } }
        let status = await child.exitStatus(within: .seconds(10))
        #expect(status != nil && status != 0)
        #expect(child.log.contains("--log-format must be text or json"), "log:\n\(child.log)")
    }
}
