import DocflowClient
import DocflowCore
import DocflowEngine
import DocflowStore
import Foundation
import GRDB
import Logging

/// The workflow routes of the seed: list, create, get, update, delete.
struct WorkflowsAPI: Sendable {
    let context: APIContext

    func register(in router: inout Router) {
        let store = context.store
        router.on("GET", "/api/workflows", query: ListQuery.workflowParameters, handlerChecksQuery: true) {
            request, _ in
            var query = ListQuery(request, allowed: ListQuery.workflowParameters)
            let cursor = query.cursor(of: .workflows)
            // The seed lists every workflow: a page holds as many as a deployment has, up to 500.
            let limit = query.limit(standard: 500, maximum: 500)
            try query.check()
            let page = try await store.read { db in try WorkflowRepository.page(db, after: cursor, limit: limit) }
            return .ok(["workflows": .array(page.items.map { $0.json() }), "next_cursor": page.nextCursorJSON])
        }
        router.on("POST", "/api/workflows") { request, _ in
            try await create(request.body ?? .null, request: request)
        }
        router.on("GET", "/api/workflows/{id}") { _, parameters in
            .ok(try await context.workflow(parameters["id"]).json())
        }
        router.on("PUT", "/api/workflows/{id}") { request, parameters in
            let id = parameters["id"]
            let existing = try await context.workflow(id)
            let draft = try WorkflowValidator.validateUpdate(
                request.body ?? .null, existing: existing, templateLimits: context.templateLimits
            ).get()
            try await context.checkExpressions(draft.definition)
            let changesSchedule = request.body?["trigger_config"]?["cron_expression"] != nil
            let box = Box<Workflow>()
            let (response, replayed) = try await context.mutate(request, audit: Audited("workflow", "update", id: id)) {
                db in
                guard let current = try WorkflowRepository.fetch(db, id: id) else {
                    throw APIError.notFound("workflow \(id) does not exist")
                }
                let workflow = Workflow(id: id, draft: draft, createdAt: current.createdAt, updatedAt: Date())
                if changesSchedule,
                    let schedule = try Self.schedule(
                        in: draft, workflowID: id, existing: try ScheduleRepository.fetch(db, workflowID: id))
                {
                    try ScheduleRepository.save(db, schedule)
                }
                try WorkflowRepository.update(db, workflow)
                try Outbox.append(db, StatusEvents.definition(.updated, workflow, maxBytes: context.maxEventBytes))
                box.set(workflow)
                return .ok(workflow.json())
            }
            if !replayed, let workflow = box.value { context.definitionChanged(workflow, scheduled: changesSchedule) }
            return response
        }
        router.on("DELETE", "/api/workflows/{id}") { request, parameters in
            let id = parameters["id"]
            let response = try await context.mutate(request, audit: Audited("workflow", "delete", id: id)) { db in
                guard let workflow = try WorkflowRepository.fetch(db, id: id) else {
                    throw APIError.notFound("workflow \(id) does not exist")
                }
                let running = try ExecutionRepository.runningCount(db, workflowID: id)
                if running > 0 {
                    throw APIError.conflict(
                        "workflow \(id) has \(running) running execution(s); cancel them or wait before deleting it")
                }
                try WorkflowRepository.delete(db, id: id)
                try Outbox.append(db, StatusEvents.definition(.deleted, workflow, maxBytes: context.maxEventBytes))
                return .noContent
            }.response
            context.triggers.remove(id)
            return response
        }
    }

    /// Validates and creates a workflow (with the schedule its trigger_config may ask for).
    func create(_ body: JSONValue, request: APIRequest) async throws -> APIResponse {
        let draft = try WorkflowValidator.validateCreate(body, templateLimits: context.templateLimits).get()
        try await context.checkExpressions(draft.definition)
        let id = UUID().uuidString.lowercased()
        let schedule = try Self.schedule(in: draft, workflowID: id, existing: nil)
        let box = Box<Workflow>()
        let (response, replayed) = try await context.mutate(request, audit: Audited("workflow", "create", id: id)) {
            db in
            let now = Date()
            let workflow = Workflow(id: id, draft: draft, createdAt: now, updatedAt: now)
            try WorkflowRepository.insert(db, workflow)
            if let schedule { try ScheduleRepository.save(db, schedule) }
            try Outbox.append(db, StatusEvents.definition(.created, workflow, maxBytes: context.maxEventBytes))
            box.set(workflow)
            return .created(workflow.json())
        }
        if !replayed, let workflow = box.value { context.definitionChanged(workflow, scheduled: schedule != nil) }
        return response
    }

    /// The schedule a scheduled workflow's `trigger_config` asks for (`cron_expression`,
    /// `timezone`), if any.
    static func schedule(in draft: WorkflowDraft, workflowID: String, existing: Schedule?) throws -> Schedule? {
        guard draft.triggerType == .scheduled, draft.triggerConfig["cron_expression"] != nil else { return nil }
        var keys: [String: JSONValue] = [:]
        keys["cron_expression"] = draft.triggerConfig["cron_expression"]
        keys["timezone"] = draft.triggerConfig["timezone"]
        return try ScheduleValidator.validate(
            .object(keys), existing: existing, workflowID: workflowID, prefix: "trigger_config."
        ).get()
    }
}

/// What every API handler shares.
struct APIContext: Sendable {
    let store: Store
    let names: Names
    let jq: JQPool
    let engine: Engine
    let triggers: TriggerIndex
    /// What integration templates may be, checked when a workflow or an integration is saved.
    let templateLimits: TemplateLimits
    let logger: Logger
    /// Called after a commit that wrote status events, so they go out at once.
    let didCommit: @Sendable () -> Void
    /// Called after a schedule changed, so the scheduler looks again.
    let scheduleChanged: @Sendable () -> Void
    /// The largest status event, in bytes.
    var maxEventBytes = MessageLimits().maxMessageBytes

    func definitionChanged(_ workflow: Workflow, scheduled: Bool) {
        triggers.update(workflow)
        if scheduled { scheduleChanged() }
    }

    func workflow(_ id: String) async throws -> Workflow {
        guard let workflow = try await store.read({ db in try WorkflowRepository.fetch(db, id: id) }) else {
            throw APIError.notFound("workflow \(id) does not exist")
        }
        return workflow
    }

    /// Compiles every jq program of a definition, so a syntax error is a 400 naming its step.
    func checkExpressions(_ definition: WorkflowDefinition) async throws {
        var details: [FieldError] = []
        for (index, step) in definition.steps.enumerated() where step.type == .transform || step.type == .condition {
            guard let program = step.config["expression"]?.stringValue else { continue }
            let field = "definition.steps[\(index)].config.expression"
            do {
                try await jq.compile(program)
            } catch .compile(let message) {
                details.append(FieldError(field: field, message: "does not compile: \(message)"))
            } catch {
                logger.error("cannot compile a jq program", metadata: ["field": "\(field)", "error": "\(error)"])
                throw APIError.internal
            }
        }
        if !details.isEmpty { throw APIError.validation(ValidationFailure(details: details)) }
    }

    /// Runs a change in one transaction with its idempotency record and, when it succeeds, its
    /// audit entry: a request whose `message_id` was seen in the last 24 hours gets the first
    /// reply (`replayed`) and changes nothing.
    func mutate(
        _ request: APIRequest, audit: Audited?, _ change: @Sendable @escaping (Database) throws -> APIResponse
    ) async throws -> (response: APIResponse, replayed: Bool) {
        let result = try await store.write { db -> (APIResponse, Bool) in
            if let messageID = request.messageID,
                let recorded = try ProcessedMessages.reply(db, messageID: messageID)
            {
                return (try APIResponse(envelope: JSONValue.parse(recorded)), true)
            }
            let response = try change(db)
            if let audit, response.status < 400 {
                try AuditLog.record(
                    db,
                    AuditEntry(
                        actorKind: request.caller.kind.rawValue, actor: request.caller.name, action: audit.action,
                        resourceType: audit.resourceType,
                        resourceID: audit.resourceID ?? response.body?["id"]?.stringValue,
                        requestID: request.requestID ?? request.messageID, transport: request.transport))
            }
            if let messageID = request.messageID {
                try ProcessedMessages.record(db, messageID: messageID, reply: response.envelope.encoded())
            }
            return (response, false)
        }
        didCommit()
        return result
    }
}

/// What a change records in the audit log.
struct Audited: Sendable {
    var resourceType: String
    var action: String
    /// nil: the `id` of the reply's body (a resource being created).
    var resourceID: String?

    init(_ resourceType: String, _ action: String, id: String? = nil) {
        self.resourceType = resourceType
        self.action = action
        self.resourceID = id
    }
}
