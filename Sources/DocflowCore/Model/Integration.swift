import Foundation

public enum IntegrationType: String, Sendable, CaseIterable, Codable {
    case slack, email, webhook
}

/// Where an `integration` step sends: a Slack webhook, email recipients, or an HTTP endpoint.
public struct Integration: Sendable, Equatable {
    public var id: String
    /// The workflow it belongs to, if any; a workflow's steps may also name integrations of others.
    public var workflowID: String?
    public var name: String
    public var type: IntegrationType
    /// Secrets included; mask before serving.
    public var config: [String: JSONValue]
    public var createdAt: Date
    public var updatedAt: Date

    public init(
        id: String, workflowID: String?, name: String, type: IntegrationType, config: [String: JSONValue],
        createdAt: Date, updatedAt: Date
    ) {
        self.id = id
        self.workflowID = workflowID
        self.name = name
        self.type = type
        self.config = config
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }

    public static let mask = "********"

    /// The seed's integration object with secrets masked (contract section 6): every field of
    /// `secretKeys(of:)`, a Slack `webhook_url`, a webhook's header values and its signing `secret`.
    public func json() -> JSONValue {
        var config = self.config
        for key in Self.secretKeys(of: type) {
            switch config[key] {
            case nil, .null?: break
            case .object(let values)?: config[key] = .object(values.mapValues { _ in .string(Self.mask) })
            default: config[key] = .string(Self.mask)
            }
        }
        return [
            "id": .string(id),
            "workflow_id": workflowID.map(JSONValue.string) ?? .null,
            "name": .string(name),
            "integration_type": .string(type.rawValue),
            "config": .object(config),
            "created_at": .string(RFC3339.string(from: createdAt)),
            "updated_at": .string(RFC3339.string(from: updatedAt)),
        ]
    }
}
