import DocflowCLI
import DocflowCore
import Foundation
import Logging
import Synchronization
import Testing

/// `--log-format json`: one JSON object per line, every metadata key a field.
@Suite struct JSONLogHandlerTests {
    /// What a handler wrote, a line each.
    final class Lines: Sendable {
        private let lines = Mutex<[String]>([])
        func append(_ line: String) { lines.withLock { $0.append(line) } }
        var all: [String] { lines.withLock { $0 } }
        var first: String? { all.first }
    }

    /// A logger whose handler writes into `lines`.
    private static func logger(label: String = "docflow", metadata: Logger.Metadata = [:], into lines: Lines)
        -> Logger
    {
        var logger = Logger(label: label) { label in
            JSONLogHandler(label: label, metadataProvider: nil) { bytes in
                lines.append(String(decoding: bytes, as: UTF8.self))
            }
        }
        logger.logLevel = .trace
        for (key, value) in metadata { logger[metadataKey: key] = value }
        return logger
    }

    private static func parse(_ line: String) throws -> [String: JSONValue] {
        try #require(try JSONValue.parse(Data(line.utf8)).objectValue)
    }

    @Test func aLineIsOneObjectWithTheFixedFieldsAndEveryMetadataKey() throws {
        let lines = Lines()
        let logger = Self.logger(metadata: ["execution_id": "e-1"], into: lines)
        logger.warning("step failed", metadata: ["step_id": "send", "attempts": "3"])
        let written = lines.all
        #expect(written.count == 1)
        let line = try #require(written.first)
        #expect(line.hasSuffix("}\n"))
        #expect(line.dropLast().contains("\n") == false)
        let object = try Self.parse(line)
        #expect(object["level"] == "warning")
        #expect(object["label"] == "docflow")
        #expect(object["message"] == "step failed")
        #expect(object["source"] == "DocflowCLITests")
        #expect(object["execution_id"] == "e-1")
        #expect(object["step_id"] == "send")
        #expect(object["attempts"] == "3")
        #expect(
            Set(object.keys) == [
                "timestamp", "level", "label", "message", "source", "execution_id", "step_id", "attempts",
            ])
    }

    @Test func theFixedFieldsComeFirstAndMetadataKeysSorted() throws {
        let lines = Lines()
        Self.logger(into: lines).info("hello", metadata: ["b": "2", "a": "1"])
        let line = try #require(lines.first)
        let order = ["\"timestamp\"", "\"level\"", "\"label\"", "\"message\"", "\"source\"", "\"a\"", "\"b\""].map {
            line.range(of: $0)!.lowerBound
        }
        #expect(order == order.sorted())
    }

    @Test func theTimestampIsRFC3339WithFractionalSecondsInUTC() throws {
        let lines = Lines()
        let before = Date()
        Self.logger(into: lines).info("now")
        let object = try Self.parse(try #require(lines.first))
        let timestamp = try #require(object["timestamp"]?.stringValue)
        #expect(timestamp.wholeMatch(of: /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/) != nil, "\(timestamp)")
        let date = try #require(RFC3339.date(from: timestamp))
        #expect(abs(date.timeIntervalSince(before)) < 60)
    }

    @Test func quotesBackslashesAndControlCharactersAreEscaped() throws {
        let lines = Lines()
        let tricky = "a \"quoted\" \\ back\nslash\ttab\r\u{0}nul\u{1F}unit\u{7F}del é 😀"
        Self.logger(into: lines).error("\(tricky)", metadata: ["error": "\(tricky)", "key \"odd\"\n": "x"])
        let line = try #require(lines.first)
        #expect(line.filter { $0 == "\n" }.count == 1)
        #expect(line.contains(#"\u0000"#) && line.contains(#"\u001f"#) && line.contains(#"\u007f"#))
        let object = try Self.parse(line)
        #expect(object["message"]?.stringValue == tricky)
        #expect(object["error"]?.stringValue == tricky)
        #expect(object["key \"odd\"\n"] == "x")
    }

    @Test func nestedMetadataIsNestedJSON() throws {
        let lines = Lines()
        Self.logger(into: lines).info(
            "nested",
            metadata: [
                "request": ["method": "POST", "path": "/api/workflows", "tags": ["a", "b"]],
                "count": .stringConvertible(42),
            ])
        let object = try Self.parse(try #require(lines.first))
        #expect(
            object["request"]
                == .object(["method": "POST", "path": "/api/workflows", "tags": .array(["a", "b"])]))
        #expect(object["count"] == "42")
    }

    @Test func metadataNamedLikeAFixedFieldKeepsBoth() throws {
        let lines = Lines()
        Self.logger(into: lines).info("the message", metadata: ["message": "shadow", "level": "shadow"])
        let object = try Self.parse(try #require(lines.first))
        #expect(object["message"] == "the message")
        #expect(object["level"] == "info")
        #expect(object["metadata.message"] == "shadow")
        #expect(object["metadata.level"] == "shadow")
    }

    @Test func anErrorOfTheEventIsAField() throws {
        struct Broken: Error, CustomStringConvertible { var description: String { "it broke" } }
        let lines = Lines()
        Self.logger(into: lines).error("failed", error: Broken())
        let object = try Self.parse(try #require(lines.first))
        #expect(object["error.message"] == "it broke")
    }
}
