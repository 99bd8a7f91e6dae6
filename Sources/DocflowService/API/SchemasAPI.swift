import DocflowCore
import DocflowStore
import Foundation

/// `GET/POST /api/schemas`, `GET/PUT/DELETE /api/schemas/{id}`: the built-in extraction schemas
/// (read-only) and custom ones.
struct SchemasAPI: Sendable {
    let context: APIContext

    func register(in router: inout Router) {
        let store = context.store
        router.on("GET", "/api/schemas") { _, _ in
            let custom = try await store.read { db in try SchemaRepository.list(db) }
            return .ok(["schemas": .array((BuiltInSchemas.all + custom).map { $0.json() })])
        }
        router.on("GET", "/api/schemas/{id}") { _, parameters in
            .ok(try await context.schema(parameters["id"]).json())
        }
        router.on("POST", "/api/schemas") { request, _ in
            let id = request.body?["id"]?.stringValue ?? UUID().uuidString.lowercased()
            if BuiltInSchemas.schema(id) != nil { throw APIError.conflict("schema \(id) is built in and read-only") }
            let schema = try SchemaValidator.validate(request.body ?? .null, id: id).get()
            return try await context.mutate(request, audit: Audited("schema", "create", id: id)) { db in
                if try SchemaRepository.fetch(db, id: id) != nil {
                    throw APIError.conflict("schema \(id) already exists; PUT /api/schemas/\(id) changes it")
                }
                try SchemaRepository.save(db, schema)
                return .created(schema.json())
            }.response
        }
        router.on("PUT", "/api/schemas/{id}") { request, parameters in
            let id = parameters["id"]
            if BuiltInSchemas.schema(id) != nil { throw APIError.conflict("schema \(id) is built in and read-only") }
            let schema = try SchemaValidator.validate(request.body ?? .null, id: id).get()
            return try await context.mutate(request, audit: Audited("schema", "update", id: id)) { db in
                guard try SchemaRepository.fetch(db, id: id) != nil else {
                    throw APIError.notFound("schema \(id) does not exist")
                }
                try SchemaRepository.save(db, schema)
                return .ok(schema.json())
            }.response
        }
        router.on("DELETE", "/api/schemas/{id}") { request, parameters in
            let id = parameters["id"]
            if BuiltInSchemas.schema(id) != nil { throw APIError.conflict("schema \(id) is built in and read-only") }
            return try await context.mutate(request, audit: Audited("schema", "delete", id: id)) { db in
                guard try SchemaRepository.delete(db, id: id) else {
                    throw APIError.notFound("schema \(id) does not exist")
                }
                return .noContent
            }.response
        }
    }
}

extension APIContext {
    func schema(_ id: String) async throws -> ExtractionSchema {
        if let builtIn = BuiltInSchemas.schema(id) { return builtIn }
        guard let custom = try await store.read({ db in try SchemaRepository.fetch(db, id: id) }) else {
            throw APIError.notFound("schema \(id) does not exist")
        }
        return custom
    }
}
