import DocflowCore
import Foundation

/// What the `docflow-parse` helper writes on its stdout, as JSON: `{"ok": true, "document":
/// <the parse step's output>}` or `{"ok": false, "error": "<DocumentError's message>"}`.
package enum ParseReply: Sendable, Equatable {
    case document(ParsedDocument)
    case failure(DocumentError)

    package func encoded() -> Data {
        switch self {
        case .document(let document): JSONValue.object(["ok": true, "document": document.json()]).encoded()
        case .failure(let error): JSONValue.object(["ok": false, "error": .string(error.message)]).encoded()
        }
    }

    /// The reply `bytes` hold, or nil when they hold none.
    package static func decode(_ bytes: some Collection<UInt8>) -> ParseReply? {
        guard let json = try? JSONValue.parse(bytes) else { return nil }
        if json["ok"] == true {
            return json["document"].flatMap(ParsedDocument.init(json:)).map(ParseReply.document)
        }
        return json["error"]?.stringValue.map { .failure(DocumentError($0)) }
    }
}
