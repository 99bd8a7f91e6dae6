import DocflowCore
import DocflowStore
import Foundation

/// `GET/POST/PUT/DELETE /api/workflows/{id}/schedule`.
struct SchedulesAPI: Sendable {
    let context: APIContext

    func register(in router: inout Router) {
        let store = context.store
        router.on("GET", "/api/workflows/{id}/schedule") { _, parameters in
            let id = parameters["id"]
            _ = try await context.workflow(id)
            guard let schedule = try await store.read({ db in try ScheduleRepository.fetch(db, workflowID: id) }) else {
                throw APIError.notFound("workflow \(id) has no schedule")
            }
            return .ok(schedule.json())
        }
        router.on("POST", "/api/workflows/{id}/schedule") { request, parameters in
            let id = parameters["id"]
            let response = try await context.mutate(request, audit: Audited("schedule", "create", id: id)) { db in
                guard try WorkflowRepository.fetch(db, id: id) != nil else {
                    throw APIError.notFound("workflow \(id) does not exist")
                }
                if try ScheduleRepository.fetch(db, workflowID: id) != nil {
                    throw APIError.conflict("workflow \(id) already has a schedule; PUT changes it")
                }
                let schedule = try ScheduleValidator.validate(request.body ?? .null, existing: nil, workflowID: id)
                    .get()
                try ScheduleRepository.save(db, schedule)
                return .created(schedule.json())
            }.response
            context.scheduleChanged()
            return response
        }
        router.on("PUT", "/api/workflows/{id}/schedule") { request, parameters in
            let id = parameters["id"]
            let response = try await context.mutate(request, audit: Audited("schedule", "update", id: id)) { db in
                guard try WorkflowRepository.fetch(db, id: id) != nil else {
                    throw APIError.notFound("workflow \(id) does not exist")
                }
                guard let existing = try ScheduleRepository.fetch(db, workflowID: id) else {
                    throw APIError.notFound("workflow \(id) has no schedule; POST creates one")
                }
                var schedule = try ScheduleValidator.validate(request.body ?? .null, existing: existing, workflowID: id)
                    .get()
                schedule.lastRunAt = existing.lastRunAt
                try ScheduleRepository.save(db, schedule)
                return .ok(schedule.json())
            }.response
            context.scheduleChanged()
            return response
        }
        router.on("DELETE", "/api/workflows/{id}/schedule") { request, parameters in
            let id = parameters["id"]
            return try await context.mutate(request, audit: Audited("schedule", "delete", id: id)) { db in
                guard try WorkflowRepository.fetch(db, id: id) != nil else {
                    throw APIError.notFound("workflow \(id) does not exist")
                }
                guard try ScheduleRepository.delete(db, workflowID: id) else {
                    throw APIError.notFound("workflow \(id) has no schedule")
                }
                return .noContent
            }.response
        }
    }
}
