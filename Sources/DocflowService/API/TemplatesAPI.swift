import DocflowCore

/// `GET /api/workflows/templates[?category=]` and `POST /api/workflows/templates`: the built-in
/// catalog, and a new workflow made from one of its templates (disabled until its integration
/// steps name integrations).
struct TemplatesAPI: Sendable {
    let context: APIContext

    func register(in router: inout Router) {
        let workflows = WorkflowsAPI(context: context)
        router.on("GET", "/api/workflows/templates", query: ["category"]) { request, _ in
            var templates = WorkflowTemplates.all
            if let category = request.query["category"] {
                guard WorkflowTemplate.Category(rawValue: category) != nil else {
                    let allowed = WorkflowTemplate.Category.allCases.map(\.rawValue).joined(separator: ", ")
                    throw APIError.validation(field: "category", "must be one of \(allowed)")
                }
                templates = templates.filter { $0.category.rawValue == category }
            }
            return .ok(["templates": .array(templates.map { $0.json() })])
        }
        router.on("POST", "/api/workflows/templates") { request, _ in
            guard case .object(let body)? = request.body else {
                throw APIError.validation(field: "body", "must be an object")
            }
            try APIError.rejectUnknown(
                body, known: APIFields.createFromTemplate, what: "a create-from-template request")
            guard let templateID = body["template_id"]?.stringValue else {
                throw APIError.validation(field: "template_id", "is required")
            }
            guard let template = WorkflowTemplates.template(templateID) else {
                throw APIError.notFound("template \(templateID) does not exist")
            }
            var details: [FieldError] = []
            if let name = body["name"], name.stringValue == nil {
                details.append(FieldError(field: "name", message: "must be a string"))
            }
            if let description = body["description"], description != .null, description.stringValue == nil {
                details.append(FieldError(field: "description", message: "must be a string"))
            }
            if !details.isEmpty { throw APIError.validation(ValidationFailure(details: details)) }
            let createBody = template.createBody(
                name: body["name"]?.stringValue, description: body["description"]?.stringValue)
            return try await workflows.create(createBody, request: request)
        }
    }
}
