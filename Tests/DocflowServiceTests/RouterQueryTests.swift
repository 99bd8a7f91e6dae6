import DocflowCore
import Logging
import Testing

@testable import DocflowService

/// A route declares its query parameters; the router refuses any other before the handler runs.
@Suite struct RouterQueryTests {
    static func router() -> Router {
        var router = Router(logger: Logger(label: "RouterQueryTests", factory: { _ in SwiftLogNoOpLogHandler() }))
        router.on("GET", "/api/things", query: ["limit", "cursor"]) { _, _ in .ok(["ok": true]) }
        router.on("DELETE", "/api/things/{id}") { _, _ in .noContent }
        return router
    }

    static func fields(_ response: APIResponse) -> [String] {
        response.body?["details"]?.arrayValue?.compactMap { $0["field"]?.stringValue } ?? []
    }

    @Test func undeclaredParametersAreRefusedNamingEachAndWhatTheRouteTakes() async {
        let response = await Self.router().handle(
            APIRequest(method: "GET", path: "/api/things?limit=1&enabled=true", query: ["sort": "name"]))
        #expect(response.status == 400)
        #expect(response.body?["code"] == "validation_failed")
        #expect(Self.fields(response) == ["enabled", "sort"])
        #expect(
            response.body?["details"]?.arrayValue?.first?["message"]
                == "is not a parameter of /api/things; it takes cursor, limit")
    }

    @Test func aRouteWithoutParametersRefusesEveryOneBeforeItsHandler() async {
        let response = await Self.router().handle(APIRequest(method: "DELETE", path: "/api/things/1?force=1"))
        #expect(response.status == 400)
        #expect(Self.fields(response) == ["force"])
        #expect(
            response.body?["details"]?.arrayValue?.first?["message"]
                == "is not a parameter of /api/things/1; it takes none")
    }

    @Test func aRouteWhoseHandlerChecksItsQueryGetsTheUnknownParametersToo() async {
        var router = Router(logger: Logger(label: "RouterQueryTests", factory: { _ in SwiftLogNoOpLogHandler() }))
        router.on("GET", "/api/list", query: ["limit"], handlerChecksQuery: true) { request, _ in
            .ok(["seen": .array(request.query.keys.sorted().map { .string($0) })])
        }
        let response = await router.handle(APIRequest(method: "GET", path: "/api/list?limit=1&sort=x"))
        #expect(response.body?["seen"] == ["limit", "sort"])
    }

    @Test func declaredParametersPassAndTheRoutesAreListed() async {
        let router = Self.router()
        #expect((await router.handle(APIRequest(method: "GET", path: "/api/things?limit=1&cursor=x"))).status == 200)
        #expect(router.entries.map(\.description) == ["GET /api/things", "DELETE /api/things/{id}"])
        #expect(router.entries[0].query == ["limit", "cursor"])
    }
}
