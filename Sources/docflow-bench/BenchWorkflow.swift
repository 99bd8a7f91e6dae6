import DocflowClient
import DocflowCore

/// The workflow under test: transform -> condition -> transform, started by `document.uploaded`.
/// Every execution runs three steps and skips one branch.
enum BenchWorkflow {
    static let definition: JSONValue = [
        "name": "docflow-bench 3-step",
        "description": "transform -> condition -> transform, for docflow-bench",
        "trigger_type": "event",
        "trigger_config": ["event": "document.uploaded"],
        "enabled": true,
        "definition": [
            "steps": [
                ["id": "total", "type": "transform", "config": ["expression": "{total: (.trigger.amount * 2)}"]],
                [
                    "id": "route", "type": "condition",
                    "config": ["expression": ".total > 100", "then": "big", "else": "small"],
                ],
                ["id": "big", "type": "transform", "config": ["expression": #"{size: "big"}"#], "next": "end"],
                ["id": "small", "type": "transform", "config": ["expression": #"{size: "small"}"#]],
            ]
        ],
    ]

    /// Creates the workflow through the API; returns its id.
    static func create(with client: APIClient) async throws -> String {
        let reply = try await client.call("POST", "/api/workflows", body: definition)
        guard reply.status == 201, let id = reply.body?["id"]?.stringValue else {
            throw BenchError("creating the workflow failed (\(reply.status)): \(reply.envelope.encodedString())")
        }
        return id
    }
}
