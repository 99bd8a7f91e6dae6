import DocflowCore
import DocflowDocuments
import Foundation
import Testing
import ZIPFoundation

@testable import DocflowEngine

/// The `docflow-parse` built with the tests (or `DOCFLOW_PARSE_PATH`).
func parserExecutable() throws -> String {
    let executable = ParserPool.defaultExecutable
    try #require(
        FileManager.default.isExecutableFile(atPath: executable),
        "docflow-parse not found: build it with the tests or set DOCFLOW_PARSE_PATH")
    return executable
}

/// `docflow-parse` under a name of the test's own (a symbolic link; at most 15 characters, the
/// kernel's limit on a process name), so that the test finds its helpers among the test
/// process's children whatever else runs.
func renamedParser(_ name: String) throws -> String {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("docflow-parse-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    let link = folder.appendingPathComponent(name).path
    try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: try parserExecutable())
    return link
}

/// A shell script standing in for `docflow-parse`.
func fakeParser(_ script: String) throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("fake-parse-\(UUID().uuidString)").path
    try Data("#!/bin/sh\n\(script)\n".utf8).write(to: URL(fileURLWithPath: path))
    chmod(path, 0o755)
    return path
}

typealias ParseOutcome = Result<ParsedDocument, ParserError>

func parseOutcome(
    _ pool: ParserPool, _ data: Data, fileType: String? = nil, within timeout: Duration = .seconds(60)
) async -> ParseOutcome {
    do throws(ParserError) {
        let request = ParseRequest(data: data, fileType: fileType, url: nil, documentID: "doc-1")
        return .success(try await pool.parse(request, deadline: .now + timeout))
    } catch {
        return .failure(error)
    }
}

/// Small documents of each format parsed in a helper.
enum SampleDocuments {
    /// A PDF 1.4 with one line of text per entry in `pages` and `title` in its Info dictionary.
    static func pdf(pages: [String], title: String) -> Data {
        var objects = [
            "<< /Type /Catalog /Pages 2 0 R >>", "", "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        ]
        var kids: [String] = []
        for text in pages {
            let stream = "BT /F1 12 Tf 72 720 Td (\(text)) Tj ET"
            objects.append("<< /Length \(stream.utf8.count) >>\nstream\n\(stream)\nendstream")
            objects.append(
                "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 3 0 R >> >> "
                    + "/Contents \(objects.count) 0 R >>")
            kids.append("\(objects.count) 0 R")
        }
        objects[1] = "<< /Type /Pages /Kids [\(kids.joined(separator: " "))] /Count \(pages.count) >>"
        objects.append("<< /Title (\(title)) >>")
        var pdf = "%PDF-1.4\n"
        var offsets: [Int] = []
        for (index, body) in objects.enumerated() {
            offsets.append(pdf.utf8.count)
            pdf += "\(index + 1) 0 obj\n\(body)\nendobj\n"
        }
        let xref = pdf.utf8.count
        pdf += "xref\n0 \(objects.count + 1)\n0000000000 65535 f \n"
        for offset in offsets { pdf += String(format: "%010d 00000 n \n", offset) }
        pdf += "trailer\n<< /Size \(objects.count + 1) /Root 1 0 R /Info \(objects.count) 0 R >>\n"
        pdf += "startxref\n\(xref)\n%%EOF\n"
        return Data(pdf.utf8)
    }

    /// A DOCX with one paragraph per entry in `paragraphs` and `title` in its core properties.
    static func docx(paragraphs: [String], title: String) throws -> Data {
        let word = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
        let body = paragraphs.map { "<w:p><w:r><w:t>\($0)</w:t></w:r></w:p>" }.joined()
        let files = [
            (
                "[Content_Types].xml",
                """
                <?xml version="1.0" encoding="UTF-8"?>
                <Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
                <Default Extension="xml" ContentType="application/xml"/></Types>
                """
            ),
            (
                "word/document.xml",
                "<?xml version=\"1.0\"?><w:document xmlns:w=\"\(word)\"><w:body>\(body)</w:body></w:document>"
            ),
            (
                "docProps/core.xml",
                """
                <?xml version="1.0"?><cp:coreProperties \
                xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" \
                xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:title>\(title)</dc:title></cp:coreProperties>
                """
            ),
        ]
        let archive = try Archive(accessMode: .create)
        for (path, contents) in files {
            let data = Data(contents.utf8)
            try archive.addEntry(
                with: path, type: .file, uncompressedSize: Int64(data.count), compressionMethod: .deflate
            ) { position, size in
                data.subdata(in: Int(position)..<Int(position) + size)
            }
        }
        return try #require(archive.data)
    }

    static func html(_ text: String, title: String) -> Data {
        Data("<!doctype html><html><head><title>\(title)</title></head><body><p>\(text)</p></body></html>".utf8)
    }
}

/// PDFs written by `scripts/make-pdf-bomb.py`, once per test run.
enum HostilePDFs {
    /// A page whose content inflates to 256 MB of text-drawing operators: gigabytes to parse.
    static let bomb = Task { try await generate([], name: "bomb") }
    /// A page whose content inflates to 512 MB of `q Q`: about 40 s to parse, in little memory.
    static let slow = Task { try await generate(["--slow"], name: "slow", megabytes: 512) }

    private static func generate(_ options: [String], name: String, megabytes: Int = 256) async throws -> Data {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/make-pdf-bomb.py").path
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString).pdf")
        defer { try? FileManager.default.removeItem(at: output) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", script] + options + [output.path, "\(megabytes)"]
        // Waits without holding a thread of the concurrency pool for the seconds python takes.
        let status = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do {
                try process.run()
            } catch {
                continuation.resume(throwing: error)
            }
        }
        try #require(status == 0, "\(script) failed")
        return try Data(contentsOf: output)
    }
}

/// What `/proc` says about the test process's helpers.
enum HelperTable {
    /// The live children of this process named `name`, and with `zombies` those not reaped yet.
    static func children(named name: String, zombies: Bool = false) -> [pid_t] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry -> pid_t? in
            guard let pid = pid_t(entry), let stat = read("/proc/\(pid)/stat"),
                let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")")
            else { return nil }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            // After the name: state, then the parent's pid.
            guard stat[stat.index(after: open)..<close] == name, fields.count > 1, pid_t(fields[1]) == getpid(),
                zombies || fields[0] != "Z"
            else { return nil }
            return pid
        }
    }

    /// The children named `name`, once there are some; empty after `timeout`.
    static func waitForChildren(named name: String, timeout: Duration = .seconds(20)) async throws -> [pid_t] {
        let end = ContinuousClock.now + timeout
        while ContinuousClock.now < end {
            let found = children(named: name)
            if !found.isEmpty { return found }
            try await Task.sleep(for: .milliseconds(20))
        }
        return []
    }

    /// Whether `pid` is alive (a zombie counts as gone).
    static func isAlive(_ pid: pid_t) -> Bool {
        guard let stat = read("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(after: close)...].split(separator: " ").first != "Z"
    }

    static func descriptors(of pid: pid_t) -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []).compactMap { Int32($0) }
            .sorted()
    }

    static func environment(of pid: pid_t) -> [String]? {
        read("/proc/\(pid)/environ").map { $0.split(separator: "\0").map(String.init) }
    }

    /// Resident memory of this process, in bytes.
    static func ownResidentBytes() -> Int {
        let status = read("/proc/self/status") ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
    }

    private static func read(_ path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        return String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
    }
}
