import AMQPClient
import DocflowClient
import DocflowCore
import DocflowEngine
import Foundation

/// Hands extraction to a platform service over AMQP request/reply: the request
/// `{"document", "schema", "execution_id", "step_id"}` goes to the named queue with `reply_to`
/// and an `expiration` at the step's deadline; the reply's JSON object is the step's output
/// (`{"error": "..."}` fails the step).
final class AMQPExtractionDelegate: ExtractionDelegate {
    private let client: APIClient

    init(client: APIClient) {
        self.client = client
    }

    func extract(service: String, request: JSONValue, timeout: Duration) async throws(StepError) -> JSONValue {
        let data: Data
        do {
            data = try await client.send(request.encoded(), to: service, timeout: timeout)
        } catch {
            throw StepError("extraction service \(service) did not answer: \(error)")
        }
        guard let reply = try? JSONValue.parse(data), case .object(let fields) = reply else {
            throw StepError(
                "extraction service \(service) answered something that is not a JSON object", retryable: false)
        }
        if let error = fields["error"], error != .null {
            throw StepError(
                "extraction service \(service) failed: \(error.stringValue ?? error.encodedString())", retryable: false)
        }
        return reply
    }
}
