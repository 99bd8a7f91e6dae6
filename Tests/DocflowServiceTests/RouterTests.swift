import DocflowCore
import Logging
import Testing

@testable import DocflowService

/// A router whose handlers answer with their own name and the parameters they received.
private func router(_ register: (inout Router) -> Void) -> Router {
    var router = Router(logger: Logger(label: "RouterTests", factory: { _ in SwiftLogNoOpLogHandler() }))
    register(&router)
    return router
}

private func answering(_ name: String) -> Router.Handler {
    { _, parameters in .ok(["handler": .string(name), "id": .string(parameters["id"])]) }
}

private func throwing(_ error: any Error) -> Router.Handler {
    { _, _ in throw error }
}

private struct DiskFull: Error, CustomStringConvertible {
    var description: String { "disk full writing /var/lib/docflow/secret.sqlite" }
}

/// The handler a response came from, or nil for an error response.
private func handler(of response: APIResponse) -> String? {
    response.body?["handler"]?.stringValue
}

@Suite struct RouterTests {
    @Test func literalSegmentWinsOverParameterRegisteredBeforeIt() async {
        let router = router { router in
            router.on("GET", "/api/workflows/{id}", answering("workflow"))
            router.on("GET", "/api/workflows/templates", answering("templates"))
        }
        let response = await router.handle(APIRequest(method: "GET", path: "/api/workflows/templates"))
        #expect(response.status == 200)
        #expect(handler(of: response) == "templates")
    }

    @Test func literalSegmentWinsOverParameterRegisteredAfterIt() async {
        let router = router { router in
            router.on("GET", "/api/workflows/templates", answering("templates"))
            router.on("GET", "/api/workflows/{id}", answering("workflow"))
        }
        let response = await router.handle(APIRequest(method: "GET", path: "/api/workflows/templates"))
        #expect(handler(of: response) == "templates")
    }

    @Test func parameterSegmentMatchesAnyOtherValue() async {
        let router = router { router in
            router.on("GET", "/api/workflows/{id}", answering("workflow"))
            router.on("GET", "/api/workflows/templates", answering("templates"))
        }
        let response = await router.handle(APIRequest(method: "GET", path: "/api/workflows/abc"))
        #expect(response.status == 200)
        #expect(handler(of: response) == "workflow")
        #expect(response.body?["id"] == "abc")
    }

    @Test func earlierLiteralSegmentWinsOverEarlierParameter() async {
        let router = router { router in
            router.on("GET", "/api/workflows/{id}/executions", answering("executions"))
            router.on("GET", "/api/workflows/templates/{id}", answering("template"))
        }
        let response = await router.handle(APIRequest(method: "GET", path: "/api/workflows/templates/executions"))
        #expect(handler(of: response) == "template")
        #expect(response.body?["id"] == "executions")
    }

    @Test func literalPathWithoutTheRequestedMethodIsNotReadAsAParameter() async {
        // Like the seed: `/api/workflows/templates` has GET and POST, `{id}` has GET, PUT and DELETE.
        let router = router { router in
            router.on("GET", "/api/workflows/{id}", answering("workflow"))
            router.on("DELETE", "/api/workflows/{id}", answering("delete workflow"))
            router.on("GET", "/api/workflows/templates", answering("templates"))
            router.on("POST", "/api/workflows/templates", answering("create from template"))
        }
        let response = await router.handle(APIRequest(method: "DELETE", path: "/api/workflows/templates"))
        #expect(response.status == 405)
        #expect(response.body?["code"] == "method_not_allowed")
    }

    @Test func unknownPathIsNotFound() async {
        let router = router { router in
            router.on("GET", "/api/workflows", answering("list"))
            router.on("GET", "/api/workflows/{id}", answering("workflow"))
        }
        let response = await router.handle(APIRequest(method: "GET", path: "/api/workflows/abc/nothing"))
        #expect(response.status == 404)
        #expect(response.body?["code"] == "not_found")
        #expect(response.body?["message"]?.stringValue?.isEmpty == false)
    }

    @Test func rootPathIsNotFound() async {
        let router = router { router in router.on("GET", "/api/workflows", answering("list")) }
        let response = await router.handle(APIRequest(method: "GET", path: "/"))
        #expect(response.status == 404)
        #expect(response.body?["code"] == "not_found")
    }

    @Test func knownPathWithAnotherMethodIsMethodNotAllowedListingTheAllowedMethods() async {
        let router = router { router in
            router.on("PUT", "/api/workflows/{id}", answering("update"))
            router.on("GET", "/api/workflows/{id}", answering("workflow"))
            router.on("DELETE", "/api/workflows/{id}", answering("delete"))
        }
        let response = await router.handle(APIRequest(method: "POST", path: "/api/workflows/abc"))
        #expect(response.status == 405)
        #expect(response.body?["code"] == "method_not_allowed")
        let message = response.body?["message"]?.stringValue ?? ""
        #expect(message.contains("POST"))
        #expect(message.contains("DELETE, GET, PUT"))
    }

    @Test func methodNotAllowedListsOnlyTheMethodsOfTheWinningPath() async {
        let router = router { router in
            router.on("DELETE", "/api/workflows/{id}", answering("delete"))
            router.on("GET", "/api/workflows/templates", answering("templates"))
        }
        let response = await router.handle(APIRequest(method: "POST", path: "/api/workflows/templates"))
        #expect(response.status == 405)
        #expect(response.body?["message"]?.stringValue?.hasSuffix("allowed: GET") == true)
    }

    @Test func methodsMatchWhateverTheirCase() async {
        let router = router { router in router.on("get", "/api/workflows", answering("list")) }
        let response = await router.handle(APIRequest(method: "Get", path: "/api/workflows"))
        #expect(handler(of: response) == "list")
    }

    @Test func trailingSlashIsTolerated() async {
        let router = router { router in router.on("GET", "/api/workflows/{id}", answering("workflow")) }
        let response = await router.handle(APIRequest(method: "GET", path: "/api/workflows/abc/"))
        #expect(handler(of: response) == "workflow")
        #expect(response.body?["id"] == "abc")
    }

    @Test func doubleSlashesAreTolerated() async {
        let router = router { router in router.on("GET", "/api/workflows/{id}", answering("workflow")) }
        let response = await router.handle(APIRequest(method: "GET", path: "//api//workflows//abc"))
        #expect(handler(of: response) == "workflow")
        #expect(response.body?["id"] == "abc")
    }

    @Test func queryStringDoesNotTakePartInMatching() async {
        let router = router { router in
            router.on("GET", "/api/workflows/{id}", answering("workflow"))
            router.on("GET", "/api/workflows/templates", query: ["category"], answering("templates"))
        }
        let response = await router.handle(APIRequest(method: "GET", path: "/api/workflows/templates?category=tax"))
        #expect(handler(of: response) == "templates")
    }

    @Test func percentEncodedParameterIsDecoded() async {
        let router = router { router in router.on("GET", "/api/workflows/{id}", answering("workflow")) }
        let response = await router.handle(APIRequest(method: "GET", path: "/api/workflows/a%20b%2Fc%C3%A9"))
        #expect(response.body?["id"] == "a b/cé")
    }

    @Test func malformedPercentEncodingInAParameterIsKeptAsSent() async {
        let router = router { router in router.on("GET", "/api/workflows/{id}", answering("workflow")) }
        let response = await router.handle(APIRequest(method: "GET", path: "/api/workflows/100%zz"))
        #expect(response.body?["id"] == "100%zz")
    }

    @Test func handlerThrowingAPIErrorAnswersWithThatError() async {
        let conflict = APIError.conflict("workflow abc already has a schedule")
        let router = router { router in router.on("POST", "/api/workflows/{id}/schedule", throwing(conflict)) }
        let response = await router.handle(APIRequest(method: "POST", path: "/api/workflows/abc/schedule"))
        #expect(response == conflict.response)
        #expect(response.status == 409)
        #expect(response.body == ["code": "conflict", "message": "workflow abc already has a schedule"])
    }

    @Test func handlerThrowingValidationFailureAnswersValidationFailedWithDetails() async {
        let failure = ValidationFailure(details: [
            FieldError(field: "name", message: "is required"),
            FieldError(field: "definition.steps[1].config.schema_id", message: "is required"),
        ])
        let router = router { router in router.on("POST", "/api/workflows", throwing(failure)) }
        let response = await router.handle(APIRequest(method: "POST", path: "/api/workflows", body: [:]))
        #expect(response.status == 400)
        #expect(response.body?["code"] == "validation_failed")
        #expect(response.body?["message"] == .string(failure.message))
        #expect(
            response.body?["details"] == [
                ["field": "name", "message": "is required"],
                ["field": "definition.steps[1].config.schema_id", "message": "is required"],
            ])
    }

    @Test func handlerThrowingAnyOtherErrorAnswersInternalWithoutItsText() async {
        let router = router { router in router.on("GET", "/api/workflows", throwing(DiskFull())) }
        let response = await router.handle(APIRequest(method: "GET", path: "/api/workflows"))
        #expect(response.status == 500)
        #expect(response.body?["code"] == "internal")
        #expect(response == APIError.internal.response)
        let text = response.envelope.encodedString()
        #expect(!text.contains("disk full"))
        #expect(!text.contains("secret.sqlite"))
    }

    @Test func handlerReceivesTheRequestItWasGiven() async {
        let router = router { router in
            router.on("POST", "/api/workflows/{id}/execute", query: ["mode"]) { request, parameters in
                .ok([
                    "id": .string(parameters["id"]), "query": .object(request.query.mapValues(JSONValue.string)),
                    "body": request.body ?? .null, "message_id": request.messageID.map(JSONValue.string) ?? .null,
                ])
            }
        }
        let request = APIRequest(
            method: "POST", path: "/api/workflows/w1/execute?mode=test", body: ["input": 1], messageID: "m-1")
        let response = await router.handle(request)
        #expect(response.body == ["id": "w1", "query": ["mode": "test"], "body": ["input": 1], "message_id": "m-1"])
    }

    @Test func missingParameterReadsAsEmptyString() async {
        let router = router { router in router.on("GET", "/api/workflows", answering("list")) }
        let response = await router.handle(APIRequest(method: "GET", path: "/api/workflows"))
        #expect(response.body?["id"] == "")
    }
}
