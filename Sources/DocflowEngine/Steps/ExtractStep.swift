import DocflowCore
import Foundation

/// Sends a document and a schema to another service and returns its extraction: lets a platform's
/// own extraction service replace the built-in one (`config.service`).
package protocol ExtractionDelegate: Sendable {
    func extract(service: String, request: JSONValue, timeout: Duration) async throws(StepError) -> JSONValue
}

/// `extract`: finds `config.schema_id`'s fields in the parsed text (parsing the trigger's
/// document first when no earlier step did). Fields under `config.confidence_min` count as
/// missing; a missing one of `config.required_fields` fails the step.
package struct ExtractStep: StepExecutor {
    let schemas: @Sendable (String) async throws -> ExtractionSchema?
    let parse: ParseStep
    let delegate: (any ExtractionDelegate)?

    package init(
        schemas: @escaping @Sendable (String) async throws -> ExtractionSchema?, parse: ParseStep,
        delegate: (any ExtractionDelegate)?
    ) {
        self.schemas = schemas
        self.parse = parse
        self.delegate = delegate
    }

    package func execute(_ step: StepDefinition, context: StepContext) async throws(StepError) -> StepResult {
        guard let schemaID = step.config["schema_id"]?.stringValue else {
            throw StepError("config.schema_id is missing", retryable: false)
        }
        let found: ExtractionSchema?
        do {
            found = try await schemas(schemaID)
        } catch {
            throw StepError("cannot read schema \(schemaID): \(error)")
        }
        guard let schema = found else { throw StepError("schema \(schemaID) does not exist", retryable: false) }
        let document: JSONValue
        if let parsed = context.parsedDocument {
            document = parsed
        } else {
            document = try await parse.parse(context).json()
        }
        let output: JSONValue
        if let service = step.config["service"]?.stringValue {
            guard let delegate else { throw StepError("extraction services are not available", retryable: false) }
            output = try await delegate.extract(
                service: service,
                request: [
                    "document": document, "schema": schema.json(), "execution_id": .string(context.executionID),
                    "step_id": .string(context.stepID),
                ],
                timeout: context.remaining)
        } else {
            let result = Extractor.extract(
                document["text"]?.stringValue ?? "", schema: schema,
                confidenceMin: step.config["confidence_min"]?.doubleValue)
            output = result.json()
        }
        let required = step.config["required_fields"]?.arrayValue?.compactMap(\.stringValue) ?? []
        let missing = required.filter { name in output[name] == nil || output[name] == .null }
        if !missing.isEmpty {
            throw StepError(
                "required fields not found: \(missing.joined(separator: ", "))", retryable: false, output: output)
        }
        return StepResult(output: output)
    }
}
