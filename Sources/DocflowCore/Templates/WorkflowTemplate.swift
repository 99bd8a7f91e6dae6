import Foundation

/// A ready-made workflow: `POST /api/workflows/templates` copies its definition and trigger into a
/// new workflow. Integration steps carry no integration, so the copy starts disabled.
public struct WorkflowTemplate: Sendable, Equatable {
    public enum Category: String, Sendable, CaseIterable {
        case invoice, contract, resume, general
    }

    /// Stable across releases: clients may store it.
    public let id: String
    public let name: String
    public let description: String
    public let category: Category
    public let triggerType: TriggerType
    public let triggerConfig: [String: JSONValue]
    public let steps: [JSONValue]

    public func json() -> JSONValue {
        [
            "id": .string(id),
            "name": .string(name),
            "description": .string(description),
            "category": .string(category.rawValue),
            "trigger_type": .string(triggerType.rawValue),
            "trigger_config": .object(triggerConfig),
            "definition": ["steps": .array(steps)],
        ]
    }

    /// The create body of a workflow made from this template.
    public func createBody(name: String?, description: String?) -> JSONValue {
        [
            "name": .string(name ?? self.name),
            "description": .string(description ?? self.description),
            "trigger_type": .string(triggerType.rawValue),
            "trigger_config": .object(triggerConfig),
            "definition": ["steps": .array(steps)],
            "enabled": false,
        ]
    }
}

/// The built-in catalog, at least one template per category.
public enum WorkflowTemplates {
    public static let all: [WorkflowTemplate] = [
        WorkflowTemplate(
            id: "tpl-invoice-processing", name: "Invoice Processing",
            description: "Parse uploaded PDF invoices, extract their fields, flag large totals, and notify.",
            category: .invoice, triggerType: .event,
            triggerConfig: ["event": "document.uploaded", "filters": ["file_type": "pdf"]],
            steps: [
                ["id": "parse", "type": "parse", "config": [:]],
                [
                    "id": "extract", "type": "extract",
                    "config": ["schema_id": "invoice-schema", "required_fields": ["invoice_number", "total"]],
                ],
                [
                    "id": "large_total", "type": "condition",
                    "config": ["expression": ".total >= 10000", "then": "review", "else": "notify"],
                ],
                [
                    "id": "review", "type": "integration", "next": "end",
                    "config": [
                        "template": "Invoice {{invoice_number}} from {{vendor}} needs review: {{total}} {{currency}}"
                    ],
                ],
                [
                    "id": "notify", "type": "integration",
                    "config": ["template": "Invoice processed: {{invoice_number}} ({{total}} {{currency}})"],
                ],
            ]),
        WorkflowTemplate(
            id: "tpl-contract-review", name: "Contract Review",
            description: "Extract parties, dates, governing law and value from contracts and send them for review.",
            category: .contract, triggerType: .event,
            triggerConfig: ["event": "document.uploaded", "filters": ["file_type": ["pdf", "docx"]]],
            steps: [
                ["id": "parse", "type": "parse", "config": [:]],
                ["id": "extract", "type": "extract", "config": ["schema_id": "contract-schema"]],
                [
                    "id": "summary", "type": "transform",
                    "config": [
                        "expression":
                            "{summary: \"Contract between \\((.parties // []) | join(\", \")), effective \\(.effective_date // \"unknown\")\"}"
                    ],
                ],
                ["id": "notify", "type": "integration", "config": ["template": "{{summary}}"]],
            ]),
        WorkflowTemplate(
            id: "tpl-resume-screening", name: "Resume Screening",
            description:
                "Extract contact details, skills and experience from resumes and shortlist experienced candidates.",
            category: .resume, triggerType: .event,
            triggerConfig: ["event": "document.uploaded"],
            steps: [
                ["id": "parse", "type": "parse", "config": [:]],
                ["id": "extract", "type": "extract", "config": ["schema_id": "resume-schema"]],
                [
                    "id": "experienced", "type": "condition",
                    "config": ["expression": "(.years_experience // 0) >= 5", "then": "shortlist", "else": "end"],
                ],
                [
                    "id": "shortlist", "type": "integration",
                    "config": ["template": "Shortlisted {{name}} ({{email}}): {{years_experience}} years"],
                ],
            ]),
        WorkflowTemplate(
            id: "tpl-document-routing", name: "Document Routing",
            description: "Parse every processed document and route it by type to the right team.",
            category: .general, triggerType: .event,
            triggerConfig: ["event": "document.processed"],
            steps: [
                ["id": "parse", "type": "parse", "config": [:]],
                [
                    "id": "route", "type": "transform",
                    "config": [
                        "expression":
                            "{team: (if (.text | test(\"invoice\"; \"i\")) then \"finance\" elif (.text | test(\"agreement|contract\"; \"i\")) then \"legal\" else \"operations\" end)}"
                    ],
                ],
                [
                    "id": "notify", "type": "integration",
                    "config": ["template": "New document for {{team}}: {{trigger.document_id}}"],
                ],
            ]),
    ]

    public static func template(_ id: String) -> WorkflowTemplate? {
        all.first { $0.id == id }
    }
}
