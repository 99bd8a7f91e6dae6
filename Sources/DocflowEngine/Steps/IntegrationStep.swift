import DocflowCore
import DocflowStore
import Foundation

/// `integration`: sends to the integration named by `config.integration_id`, with
/// `config.template` (Mustache over the step's context) as the message.
///
/// 5xx, 429 (after its `Retry-After`) and network errors are retried under the step's policy,
/// three attempts when it sets none; other 4xx fail at once. The response's status and the start
/// of its body go into the step's output or error. Errors name the integration by id and its
/// destination only through `CurlClient.redacted`: a Slack `webhook_url` is itself a secret.
package struct IntegrationStep: StepExecutor {
    /// Where email goes out.
    package struct Mail: Sendable {
        package var smtpURL: String?
        package var from: String

        package init(smtpURL: String?, from: String = "docflow@localhost") {
            self.smtpURL = smtpURL
            self.from = from
        }
    }

    /// The integration by id, secrets included: the engine's store, or a worker's task.
    let integrations: @Sendable (String) async throws -> Integration?
    let http: CurlClient
    let mail: Mail
    let templateLimits: TemplateLimits
    static let excerptBytes = 2048

    package init(
        integrations: @escaping @Sendable (String) async throws -> Integration?, http: CurlClient, mail: Mail,
        templateLimits: TemplateLimits = TemplateLimits()
    ) {
        self.integrations = integrations
        self.http = http
        self.mail = mail
        self.templateLimits = templateLimits
    }

    package var defaultRetry: RetryPolicy {
        RetryPolicy(maxAttempts: 3, initialIntervalMs: 1000, backoff: .exponential, maxIntervalMs: 30_000)
    }

    package func execute(_ step: StepDefinition, context: StepContext) async throws(StepError) -> StepResult {
        guard let id = step.config["integration_id"]?.stringValue, !id.isEmpty else {
            throw StepError("step \(step.id) names no integration (config.integration_id)", retryable: false)
        }
        let integration: Integration?
        do {
            integration = try await integrations(id)
        } catch {
            throw StepError("cannot read integration \(id): \(error)")
        }
        guard let integration else {
            throw StepError("integration \(id) does not exist", retryable: false)
        }
        let template = step.config["template"]?.stringValue ?? integration.config["template"]?.stringValue
        switch integration.type {
        case .slack: return try await slack(integration, template: template, context: context)
        case .webhook: return try await webhook(integration, template: template, context: context)
        case .email: return try await email(integration, template: template, context: context)
        }
    }

    private func slack(_ integration: Integration, template: String?, context: StepContext) async throws(StepError)
        -> StepResult
    {
        let text = try render(template ?? Self.defaultText, context)
        var payload: [String: JSONValue] = ["text": .string(text)]
        if let channel = integration.config["channel"]?.stringValue { payload["channel"] = .string(channel) }
        return try await send(
            HTTPRequest(
                method: "POST", url: integration.config["webhook_url"]?.stringValue ?? "",
                headers: [("Content-Type", "application/json")], body: JSONValue.object(payload).encoded(),
                timeout: context.remaining),
            integration: integration)
    }

    private func webhook(_ integration: Integration, template: String?, context: StepContext) async throws(StepError)
        -> StepResult
    {
        let body: Data
        var contentType = "application/json"
        if let template {
            let rendered = try render(template, context)
            body = Data(rendered.utf8)
            if (try? JSONValue.parse(body)) == nil { contentType = "text/plain; charset=utf-8" }
        } else {
            body = (context.latestOutput ?? .null).encoded()
        }
        var headers: [(String, String)] = [
            ("Content-Type", contentType),
            ("X-Docflow-Execution", context.executionID),
            ("X-Docflow-Step", context.stepID),
            ("Idempotency-Key", "\(context.executionID):\(context.stepID)"),
        ]
        var secretHeaders: Set<String> = []
        for (name, value) in integration.config["headers"]?.objectValue ?? [:] {
            if let value = value.stringValue {
                headers.append((name, value))
                secretHeaders.insert(name)
            }
        }
        if let secret = integration.config["secret"]?.stringValue, !secret.isEmpty {
            headers.append(
                (
                    WebhookSignature.header,
                    WebhookSignature.sign(body, secret: secret, timestamp: Int(Date().timeIntervalSince1970))
                ))
        }
        let method = (integration.config["method"]?.stringValue ?? "POST").uppercased()
        return try await send(
            HTTPRequest(
                method: method, url: integration.config["url"]?.stringValue ?? "", headers: headers,
                body: method == "GET" ? nil : body, timeout: context.remaining, secretHeaders: secretHeaders),
            integration: integration)
    }

    private func email(_ integration: Integration, template: String?, context: StepContext) async throws(StepError)
        -> StepResult
    {
        guard let smtpURL = mail.smtpURL else {
            throw StepError(
                "email integration \(integration.id) cannot send: docflow has no SMTP server (--smtp-url)",
                retryable: false)
        }
        let recipients: [String]
        switch integration.config["to"] {
        case .string(let address)?: recipients = [address]
        case .array(let items)?: recipients = items.compactMap(\.stringValue)
        default: recipients = []
        }
        guard !recipients.isEmpty else {
            throw StepError("email integration \(integration.id) has no recipients", retryable: false)
        }
        let subject = try render(integration.config["subject"]?.stringValue ?? "docflow: {{workflow.name}}", context)
        let body = try render(template ?? Self.defaultText, context)
        let from = integration.config["from"]?.stringValue ?? mail.from
        let message = MailMessage.build(from: from, to: recipients, subject: subject, body: body)
        do {
            try await http.sendMail(
                smtpURL: smtpURL, from: from, to: recipients, message: message, timeout: context.remaining)
        } catch {
            throw Self.stepError(error)
        }
        return StepResult(output: ["sent_to": .array(recipients.map(JSONValue.string)), "subject": .string(subject)])
    }

    private func send(_ request: HTTPRequest, integration: Integration) async throws(StepError) -> StepResult {
        let response: HTTPResponse
        do {
            response = try await http.perform(request)
        } catch {
            throw Self.stepError(error)
        }
        let excerpt = String(decoding: response.body.prefix(Self.excerptBytes), as: UTF8.self)
        let output: JSONValue = ["status": .number(Double(response.status)), "body": .string(excerpt)]
        switch response.status {
        case 200..<300:
            return StepResult(output: output)
        case 429, 500..<600:
            var error = StepError(
                "\(integration.type.rawValue) integration \(integration.id) answered \(response.status)", output: output
            )
            if let retryAfter = response.headers["retry-after"].flatMap(Self.retryAfter) {
                error.retryAfter = retryAfter
            }
            throw error
        default:
            throw StepError(
                "\(integration.type.rawValue) integration \(integration.id) answered \(response.status)",
                retryable: false,
                output: output)
        }
    }

    private func render(_ template: String, _ context: StepContext) throws(StepError) -> String {
        do {
            return try TemplateRenderer.render(
                template, context: context.json, limits: templateLimits, deadline: context.deadline)
        } catch {
            throw StepError("config.template: \(error.description)", retryable: false)
        }
    }

    static let defaultText = "docflow: workflow {{workflow.name}}, execution {{execution.id}}"

    static func stepError(_ error: TransferError) -> StepError {
        switch error {
        case .network: StepError(error.description)
        case .invalid, .refused, .tooLarge: StepError(error.description, retryable: false)
        }
    }

    /// `Retry-After` in seconds or as an HTTP date.
    static func retryAfter(_ value: String) -> Duration? {
        if let seconds = Int(value.trimmingCharacters(in: .whitespaces)) { return .seconds(max(seconds, 0)) }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        guard let date = formatter.date(from: value) else { return nil }
        return .milliseconds(Int64(max(date.timeIntervalSinceNow, 0) * 1000))
    }
}
