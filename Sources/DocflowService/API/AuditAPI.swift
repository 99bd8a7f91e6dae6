import DocflowCore
import DocflowStore
import Foundation

/// `GET /api/audit`: who changed what, newest first, with filters and a cursor.
///
/// Query: `actor`, `action`, `resource_type`, `resource_id`, `since` and `until` (RFC 3339),
/// `limit` (1 to 500, default 50) and `cursor` (the `next_cursor` of the page before).
struct AuditAPI: Sendable {
    let context: APIContext

    func register(in router: inout Router) {
        let store = context.store
        router.on(
            "GET", "/api/audit",
            query: ["actor", "action", "resource_type", "resource_id", "since", "until", "limit", "cursor"]
        ) { request, _ in
            var filter = AuditLog.Filter()
            filter.actor = request.query["actor"]
            filter.action = request.query["action"]
            filter.resourceType = request.query["resource_type"]
            filter.resourceID = request.query["resource_id"]
            filter.since = try Self.time(request.query["since"], field: "since")
            filter.until = try Self.time(request.query["until"], field: "until")
            if let cursor = request.query["cursor"] {
                guard let before = Int64(cursor), before > 0 else {
                    throw APIError.validation(field: "cursor", "must be the next_cursor of an earlier page")
                }
                filter.before = before
            }
            let limit = try Self.limit(request.query["limit"])
            let chosen = filter
            let page = try await store.read { db in try AuditLog.list(db, chosen, limit: limit + 1) }
            var body: [String: JSONValue] = ["entries": .array(page.prefix(limit).map { $0.json() })]
            body["next_cursor"] = page.count > limit ? .string(String(page[limit - 1].id)) : .null
            return .ok(.object(body))
        }
    }

    static func time(_ text: String?, field: String) throws -> Date? {
        guard let text else { return nil }
        guard let date = RFC3339.date(from: text) else {
            throw APIError.validation(field: field, "must be an RFC 3339 time, such as 2026-12-04T10:00:00Z")
        }
        return date
    }

    static func limit(_ text: String?) throws -> Int {
        guard let text else { return 50 }
        guard let value = Int(text), (1...500).contains(value) else {
            throw APIError.validation(field: "limit", "must be an integer from 1 to 500")
        }
        return value
    }
}
