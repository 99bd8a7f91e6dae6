import DocflowCore
import DocflowStore
import Logging

/// Maps `(method, path)` to a handler, independent of transport. Literal path segments win over
/// parameters, so `/api/workflows/templates` never reads as a workflow id. A query parameter the
/// route does not declare is a `validation_failed` naming it, before the handler runs.
package struct Router: Sendable {
    package typealias Handler = @Sendable (APIRequest, Parameters) async throws -> APIResponse

    /// The `{name}` segments of the matched path.
    package struct Parameters: Sendable {
        var values: [String: String]
        package subscript(_ name: String) -> String { values[name] ?? "" }
    }

    private enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
    }

    private struct Route: Sendable {
        let method: String
        let pattern: [Segment]
        let query: Set<String>
        let handlerChecksQuery: Bool
        let handler: Handler
    }

    /// A route as registered: what the OpenAPI document must describe.
    package struct Entry: Sendable, Hashable, CustomStringConvertible {
        package var method: String
        /// As given to `on`, such as `/api/workflows/{id}/execute`.
        package var pattern: String
        /// The query parameters the route takes.
        package var query: Set<String>
        package var description: String { "\(method) \(pattern)" }
    }

    private var routes: [Route] = []
    /// Every route, in registration order.
    package private(set) var entries: [Entry] = []
    private let logger: Logger

    package init(logger: Logger) {
        self.logger = logger
    }

    /// Adds a route; `pattern` is a path such as `/api/workflows/{id}/execute`, `query` the names
    /// of the query parameters it takes: any other is refused before the handler runs, unless
    /// `handlerChecksQuery` (a `ListQuery` reports it with the bad values, every problem at once).
    /// Describe the route in `OpenAPIDocument` too.
    package mutating func on(
        _ method: String, _ pattern: String, query: Set<String> = [], handlerChecksQuery: Bool = false,
        _ handler: @escaping Handler
    ) {
        let segments = Self.split(pattern).map { part -> Segment in
            part.hasPrefix("{") && part.hasSuffix("}")
                ? .parameter(String(part.dropFirst().dropLast())) : .literal(part)
        }
        routes.append(
            Route(
                method: method.uppercased(), pattern: segments, query: query, handlerChecksQuery: handlerChecksQuery,
                handler: handler))
        entries.append(Entry(method: method.uppercased(), pattern: pattern, query: query))
    }

    /// Runs the request's handler; every failure becomes an error response.
    package func handle(_ request: APIRequest) async -> APIResponse {
        let segments = Self.split(request.path)
        var best: (route: Route, parameters: [String: String], rank: [Bool])?
        var allowed: Set<String> = []
        var bestRank: [Bool]?
        for route in routes {
            guard let parameters = Self.match(route.pattern, segments) else { continue }
            let rank = route.pattern.map { if case .literal = $0 { true } else { false } }
            if bestRank == nil || Self.outranks(rank, bestRank!) {
                bestRank = rank
                allowed = []
                best = nil
            }
            guard rank == bestRank! else { continue }
            allowed.insert(route.method)
            if route.method == request.method { best = (route, parameters, rank) }
        }
        guard bestRank != nil else {
            return APIError.notFound("no route for \(request.path)").response
        }
        guard let best else {
            return APIError.methodNotAllowed(request.method, request.path, allowed: allowed.sorted()).response
        }
        let unknown = request.query.keys.filter { !best.route.query.contains($0) }.sorted()
        if !unknown.isEmpty, !best.route.handlerChecksQuery {
            let takes = best.route.query.isEmpty ? "none" : best.route.query.sorted().joined(separator: ", ")
            return APIError.validation(
                ValidationFailure(
                    details: unknown.map {
                        FieldError(field: $0, message: "is not a parameter of \(request.path); it takes \(takes)")
                    })
            ).response
        }
        do {
            return try await best.route.handler(request, Parameters(values: best.parameters))
        } catch let error as APIError {
            return error.response
        } catch let failure as ValidationFailure {
            return APIError.validation(failure).response
        } catch {
            logger.error(
                "request failed",
                metadata: [
                    "method": "\(request.method)", "path": "\(request.path)", "error": "\(logDescription(of: error))",
                ])
            return APIError.internal.response
        }
    }

    private static func split(_ path: String) -> [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
    }

    private static func match(_ pattern: [Segment], _ segments: [String]) -> [String: String]? {
        guard pattern.count == segments.count else { return nil }
        var parameters: [String: String] = [:]
        for (part, segment) in zip(pattern, segments) {
            switch part {
            case .literal(let literal): if literal != segment { return nil }
            case .parameter(let name): parameters[name] = segment.removingPercentEncoding ?? segment
            }
        }
        return parameters
    }

    /// A literal earlier in the path beats a parameter there.
    private static func outranks(_ a: [Bool], _ b: [Bool]) -> Bool {
        for (x, y) in zip(a, b) where x != y { return x }
        return false
    }
}
