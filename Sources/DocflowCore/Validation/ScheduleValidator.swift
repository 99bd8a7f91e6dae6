import Foundation

/// Checks a schedule body (`POST`/`PUT /api/workflows/{id}/schedule`, or the cron keys of a
/// scheduled workflow's `trigger_config`) and computes its next slot.
public enum ScheduleValidator {
    /// A create body, or a partial update merged over `existing`. `prefix` names where the keys
    /// sit in the request (`""` or `"trigger_config."`), for the field paths of errors.
    public static func validate(
        _ body: JSONValue, existing: Schedule?, workflowID: String, prefix: String = "", now: Date = Date()
    ) -> Result<Schedule, ValidationFailure> {
        guard case .object(let fields) = body else {
            return .failure(
                ValidationFailure(
                    field: prefix.isEmpty ? "body" : String(prefix.dropLast()), message: "must be an object"))
        }
        var details: [FieldError] = []
        // A schedule body, or the cron keys of a scheduled workflow's trigger_config (checked there).
        if prefix.isEmpty {
            var unknown = FieldErrorCollector()
            unknown.rejectUnknown(
                fields, at: "", known: APIFields.schedule, what: "a schedule")
            details = unknown.details
        }
        var schedule =
            existing
            ?? Schedule(workflowID: workflowID, cronExpression: "", createdAt: now, updatedAt: now)
        switch fields["cron_expression"] {
        case .string(let text)?:
            schedule.cronExpression = text.trimmingCharacters(in: .whitespaces)
        case nil, .null?:
            if existing == nil { details.append(FieldError(field: prefix + "cron_expression", message: "is required")) }
        default:
            details.append(FieldError(field: prefix + "cron_expression", message: "must be a string"))
        }
        switch fields["timezone"] {
        case .string(let zone)?: schedule.timezone = zone
        case nil, .null?: break
        default: details.append(FieldError(field: prefix + "timezone", message: "must be a string"))
        }
        switch fields["enabled"] {
        case .bool(let enabled)?: schedule.enabled = enabled
        case nil, .null?: break
        default: details.append(FieldError(field: prefix + "enabled", message: "must be a boolean"))
        }
        var cron: CronExpression?
        if details.allSatisfy({ $0.field != prefix + "cron_expression" }) {
            do {
                cron = try CronExpression(schedule.cronExpression)
            } catch {
                details.append(FieldError(field: prefix + "cron_expression", message: error.message))
            }
        }
        let zone = CronExpression.timeZone(named: schedule.timezone)
        if zone == nil, details.allSatisfy({ $0.field != prefix + "timezone" }) {
            details.append(
                FieldError(
                    field: prefix + "timezone", message: "is not an IANA time zone name such as America/New_York"))
        }
        guard details.isEmpty, let cron, let zone else { return .failure(ValidationFailure(details: details)) }
        schedule.updatedAt = now
        schedule.nextRunAt = schedule.enabled ? cron.next(after: now, in: zone) : nil
        if schedule.enabled, schedule.nextRunAt == nil {
            return .failure(
                ValidationFailure(field: prefix + "cron_expression", message: "never fires (no date matches it)"))
        }
        return .success(schedule)
    }
}
