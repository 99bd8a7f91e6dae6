import DocflowCore
import DocflowDocuments
import Foundation

/// Where a `parse` step reads its document (contract section 7), first match wins:
/// `trigger.content`, `trigger.content_base64` (with `file_type`), `trigger.document_url`, or
/// `trigger.document_id` through the document URL template. Event data is untrusted: `file://`
/// is read only below the document root, `http(s)://` passes the outbound address checks.
package struct DocumentSource: Sendable {
    package struct Loaded: Sendable {
        package var data: Data
        package var fileType: String?
        package var url: String?
        package var documentID: String?
    }

    let http: CurlClient
    let root: String
    let urlTemplate: String?
    let maxBytes: Int

    package init(http: CurlClient, root: String, urlTemplate: String?, maxBytes: Int = 50 * 1024 * 1024) {
        self.http = http
        self.root = root
        self.urlTemplate = urlTemplate
        self.maxBytes = maxBytes
    }

    package func load(_ trigger: JSONValue, timeout: Duration) async throws(StepError) -> Loaded {
        let fileType = trigger["file_type"]?.stringValue
        let documentID = trigger["document_id"]?.stringValue
        if let content = trigger["content"]?.stringValue {
            return Loaded(data: Data(content.utf8), fileType: fileType ?? "txt", url: nil, documentID: documentID)
        }
        if let encoded = trigger["content_base64"]?.stringValue {
            guard let data = Data(base64Encoded: encoded, options: .ignoreUnknownCharacters) else {
                throw StepError("trigger.content_base64 is not valid base64", retryable: false)
            }
            guard data.count <= maxBytes else {
                throw StepError("the document is larger than \(maxBytes) bytes", retryable: false)
            }
            return Loaded(data: data, fileType: fileType, url: nil, documentID: documentID)
        }
        var url = trigger["document_url"]?.stringValue
        if url == nil, let documentID {
            guard let urlTemplate else {
                throw StepError(
                    "trigger names document_id \(documentID) but docflow has no --document-url-template to find it",
                    retryable: false)
            }
            let segment = try DocumentID.pathSegment(documentID)
            do {
                url = try TemplateRenderer.render(urlTemplate, context: ["document_id": .string(segment)])
            } catch {
                throw StepError("--document-url-template: \(error.description)", retryable: false)
            }
        }
        guard let url else {
            throw StepError(
                "the trigger names no document: give content, content_base64, document_url or document_id",
                retryable: false)
        }
        let data = try await read(url, timeout: timeout)
        return Loaded(data: data, fileType: fileType, url: url, documentID: documentID)
    }

    private func read(_ text: String, timeout: Duration) async throws(StepError) -> Data {
        let shown = CurlClient.redacted(text)
        guard let url = URL(string: text), let scheme = url.scheme?.lowercased() else {
            throw StepError("cannot read document \(shown): not a URL", retryable: false)
        }
        switch scheme {
        case "file":
            return try readFile(url.path, shown: shown)
        case "http", "https":
            do {
                let response = try await http.perform(
                    HTTPRequest(url: text, timeout: timeout, maxResponseBytes: maxBytes))
                guard (200..<300).contains(response.status) else {
                    throw StepError(
                        "cannot read document \(shown): the server answered \(response.status)",
                        retryable: response.status >= 500 || response.status == 429)
                }
                return response.body
            } catch let error as StepError {
                throw error
            } catch let error as TransferError {
                let retryable: Bool
                if case .network = error { retryable = true } else { retryable = false }
                throw StepError("cannot read document \(shown): \(error)", retryable: retryable)
            } catch {
                throw StepError("cannot read document \(shown): \(error)")
            }
        default:
            throw StepError(
                "cannot read document \(shown): the \(scheme) scheme is not supported (file, http, https)",
                retryable: false)
        }
    }

    /// Reads a file below the document root, after resolving `..` and symbolic links.
    private func readFile(_ path: String, shown: String) throws(StepError) -> Data {
        let resolvedRoot = URL(fileURLWithPath: root).standardizedFileURL.resolvingSymlinksInPath().path
        let resolved = URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
        guard
            resolved == resolvedRoot
                || resolved.hasPrefix(resolvedRoot.hasSuffix("/") ? resolvedRoot : resolvedRoot + "/")
        else {
            throw StepError(
                "cannot read document \(shown): it is outside the document root \(resolvedRoot)", retryable: false)
        }
        let attributes = try? FileManager.default.attributesOfItem(atPath: resolved)
        guard let size = attributes?[.size] as? Int else {
            throw StepError("cannot read document \(shown): no such file", retryable: false)
        }
        guard size <= maxBytes else {
            throw StepError("cannot read document \(shown): it is larger than \(maxBytes) bytes", retryable: false)
        }
        guard let data = FileManager.default.contents(atPath: resolved) else {
            throw StepError("cannot read document \(shown): permission denied or not a file", retryable: false)
        }
        return data
    }
}

/// `parse`: reads the trigger's document and outputs its text, pages and metadata. PDF, DOCX and
/// HTML are parsed in a helper process (`ParserPool`), which is killed at the step's deadline.
package struct ParseStep: StepExecutor {
    let source: DocumentSource
    let parser: ParserPool

    package init(source: DocumentSource, parser: ParserPool) {
        self.source = source
        self.parser = parser
    }

    package func execute(_ step: StepDefinition, context: StepContext) async throws(StepError) -> StepResult {
        StepResult(output: try await parse(context).json())
    }

    func parse(_ context: StepContext) async throws(StepError) -> ParsedDocument {
        let trigger = context.json["trigger"] ?? .null
        let loaded = try await source.load(trigger, timeout: context.remaining)
        let what = loaded.url.map(CurlClient.redacted) ?? "the trigger's document"
        let format = DocumentParser.detectType(loaded.data, declared: loaded.fileType, url: loaded.url)
        guard let format, ParserPool.isolatedFormats.contains(format) else {
            return try await parseHere(loaded, what: what)
        }
        let request = ParseRequest(
            data: loaded.data, fileType: loaded.fileType, url: loaded.url, documentID: loaded.documentID)
        do {
            return try await parser.parse(request, deadline: context.deadline)
        } catch .timeout(let waiting) {
            throw StepError(
                waiting
                    ? "parsing timed out after \(context.timeout.milliseconds) ms waiting for one of the \(parser.processes) parsers (--parse-processes)"
                    : "parsing timed out after \(context.timeout.milliseconds) ms; the parser was stopped")
        } catch .cancelled {
            throw StepError("cancelled", retryable: false)
        } catch .unavailable(let reason) {
            // No descriptors or processes left for a helper: docflow's trouble, which passes.
            throw StepError(ParserError.unavailable(reason).description, transient: true)
        } catch {
            throw StepError("cannot parse \(what): \(error.description)", retryable: false)
        }
    }

    /// Text, Markdown, CSV and JSON: read in linear time, off the concurrency pool.
    private func parseHere(_ loaded: DocumentSource.Loaded, what: String) async throws(StepError) -> ParsedDocument {
        let result: Result<ParsedDocument, DocumentError> = await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(
                    returning: Result { () throws(DocumentError) -> ParsedDocument in
                        try DocumentParser.parse(
                            loaded.data, fileType: loaded.fileType, url: loaded.url, documentID: loaded.documentID)
                    })
            }
        }
        switch result {
        case .success(let document):
            return document
        case .failure(let error):
            throw StepError("cannot parse \(what): \(error.message)", retryable: false)
        }
    }
}
