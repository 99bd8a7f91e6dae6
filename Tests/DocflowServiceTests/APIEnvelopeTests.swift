import DocflowCore
import Foundation
import Testing

@testable import DocflowService

@Suite struct APIRequestTests {
    @Test func queryStringInPathMovesIntoQuery() {
        let request = APIRequest(method: "PUT", path: "/api/workflows/integrations?id=i1&workflow_id=w1")
        #expect(request.path == "/api/workflows/integrations")
        #expect(request.query == ["id": "i1", "workflow_id": "w1"])
    }

    @Test func explicitQueryEntriesWinOverThePathQueryString() {
        let request = APIRequest(
            method: "GET", path: "/api/workflows/w1/executions?limit=5&execution_id=e1", query: ["limit": "10"])
        #expect(request.path == "/api/workflows/w1/executions")
        #expect(request.query == ["limit": "10", "execution_id": "e1"])
    }

    @Test func percentEncodedQueryValueInPathIsDecoded() {
        let request = APIRequest(method: "GET", path: "/api/workflows/templates?category=tax%20forms%26more")
        #expect(request.query == ["category": "tax forms&more"])
    }

    @Test func queryItemWithoutValueInPathReadsAsEmptyString() {
        let request = APIRequest(method: "GET", path: "/api/workflows?verbose")
        #expect(request.query == ["verbose": ""])
    }

    @Test func emptyQueryStringLeavesTheBarePath() {
        let request = APIRequest(method: "GET", path: "/api/workflows?")
        #expect(request.path == "/api/workflows")
        #expect(request.query.isEmpty)
    }

    @Test func pathWithoutQueryStringIsKeptAsGiven() {
        let request = APIRequest(method: "GET", path: "/api/workflows/w1", query: ["limit": "3"])
        #expect(request.path == "/api/workflows/w1")
        #expect(request.query == ["limit": "3"])
    }

    @Test func methodIsUppercased() {
        #expect(APIRequest(method: "delete", path: "/api/workflows/w1").method == "DELETE")
    }

    @Test(arguments: ["POST", "PUT", "PATCH", "DELETE", "post"])
    func changingMethodsAreMutating(method: String) {
        #expect(APIRequest(method: method, path: "/api/workflows").isMutating)
    }

    @Test(arguments: ["GET", "HEAD", "OPTIONS", "get"])
    func readingMethodsAreNotMutating(method: String) {
        #expect(!APIRequest(method: method, path: "/api/workflows").isMutating)
    }
}

@Suite struct APIResponseEnvelopeTests {
    @Test func okEnvelopeHasStatusAndBody() {
        let response = APIResponse.ok(["workflows": []])
        #expect(response.envelope == ["status": 200, "body": ["workflows": []]])
    }

    @Test func createdEnvelopeHasStatus201AndBody() {
        #expect(APIResponse.created(["id": "w1"]).envelope == ["status": 201, "body": ["id": "w1"]])
    }

    @Test func noContentEnvelopeHasNoBodyKey() {
        let envelope = APIResponse.noContent.envelope
        #expect(envelope == ["status": 204])
        #expect(envelope.objectValue?.keys.sorted() == ["status"])
    }

    @Test func envelopeWritesStatusAsAnInteger() {
        #expect(APIResponse.ok(["n": 1]).envelope.encodedString() == #"{"body":{"n":1},"status":200}"#)
    }

    @Test func errorEnvelopeCarriesCodeMessageAndDetails() {
        let error = APIError.validation(field: "definition.steps[1].config.schema_id", "is required")
        #expect(
            error.response.envelope == [
                "status": 400,
                "error": [
                    "code": "validation_failed",
                    "message": "the request is not valid: definition.steps[1].config.schema_id is required",
                    "details": [["field": "definition.steps[1].config.schema_id", "message": "is required"]],
                ],
            ])
    }

    @Test func errorEnvelopeHasNoBodyKey() {
        let envelope = APIError.notFound("workflow w1 does not exist").response.envelope
        #expect(envelope.objectValue?.keys.sorted() == ["error", "status"])
    }

    @Test func errorWithoutDetailsLeavesOutTheDetailsKey() {
        let envelope = APIError.notFound("workflow w1 does not exist").response.envelope
        #expect(envelope == ["status": 404, "error": ["code": "not_found", "message": "workflow w1 does not exist"]])
    }

    @Test(arguments: [
        APIResponse.ok(["workflows": [["id": "w1"]]]),
        APIResponse.created(["id": "w1", "enabled": true]),
        APIResponse.noContent,
        APIError.validation(field: "name", "is required").response,
        APIError.conflict("already scheduled").response,
        APIError.internal.response,
    ])
    func responseRoundTripsThroughItsEnvelope(response: APIResponse) throws {
        #expect(try APIResponse(envelope: response.envelope) == response)
    }

    @Test func responseRoundTripsThroughTheEnvelopeText() throws {
        let response = APIResponse.created(["id": "w1", "steps": [1, 2.5, .null]])
        let text = response.envelope.encoded()
        #expect(try APIResponse(envelope: JSONValue.parse(text)) == response)
    }

    @Test func envelopeWithoutStatusIsBadRequest() {
        let error = #expect(throws: APIError.self) { try APIResponse(envelope: ["body": [:]]) }
        #expect(error?.code == "bad_request")
    }
}

@Suite struct APIConsumerParseTests {
    private func parse(_ text: String, messageID: String? = nil) throws(APIError) -> APIRequest {
        try APIConsumer.parse(Data(text.utf8), messageID: messageID)
    }

    private func parseError(_ text: String) -> APIError? {
        #expect(throws: APIError.self) { try parse(text) }
    }

    @Test func notJSONIsBadRequest() {
        let error = parseError("GET /api/workflows")
        #expect(error?.code == "bad_request")
        #expect(error?.status == 400)
    }

    @Test func emptyBodyIsBadRequest() {
        #expect(parseError("")?.code == "bad_request")
    }

    @Test func jsonArrayIsBadRequest() {
        #expect(parseError(#"[{"method": "GET", "path": "/api/workflows"}]"#)?.code == "bad_request")
    }

    @Test func missingMethodIsBadRequest() {
        #expect(parseError(#"{"path": "/api/workflows"}"#)?.code == "bad_request")
    }

    @Test func emptyMethodIsBadRequest() {
        #expect(parseError(#"{"method": "", "path": "/api/workflows"}"#)?.code == "bad_request")
    }

    @Test func nonStringMethodIsBadRequest() {
        #expect(parseError(#"{"method": 1, "path": "/api/workflows"}"#)?.code == "bad_request")
    }

    @Test func missingPathIsBadRequest() {
        #expect(parseError(#"{"method": "GET"}"#)?.code == "bad_request")
    }

    @Test func pathNotStartingWithSlashIsBadRequest() {
        #expect(parseError(#"{"method": "GET", "path": "api/workflows"}"#)?.code == "bad_request")
    }

    @Test func methodAndPathAreRead() throws {
        let request = try parse(#"{"method": "get", "path": "/api/workflows/w1"}"#)
        #expect(request.method == "GET")
        #expect(request.path == "/api/workflows/w1")
        #expect(request.query.isEmpty)
        #expect(request.body == nil)
        #expect(request.messageID == nil)
    }

    @Test func queryStringValuesAreKept() throws {
        let request = try parse(#"{"method": "GET", "path": "/api/workflows", "query": {"category": "tax"}}"#)
        #expect(request.query == ["category": "tax"])
    }

    @Test func queryNumberBecomesAString() throws {
        let request = try parse(#"{"method": "GET", "path": "/x", "query": {"limit": 10, "ratio": 2.5}}"#)
        #expect(request.query == ["limit": "10", "ratio": "2.5"])
    }

    @Test func queryBooleanBecomesAString() throws {
        let request = try parse(#"{"method": "GET", "path": "/x", "query": {"enabled": true}}"#)
        #expect(request.query == ["enabled": "true"])
    }

    @Test func queryNullIsNoQuery() throws {
        #expect(try parse(#"{"method": "GET", "path": "/x", "query": null}"#).query.isEmpty)
    }

    @Test func queryWithNestedObjectIsBadRequest() {
        #expect(parseError(#"{"method": "GET", "path": "/x", "query": {"filter": {"a": "b"}}}"#)?.code == "bad_request")
    }

    @Test func queryWithArrayValueIsBadRequest() {
        #expect(parseError(#"{"method": "GET", "path": "/x", "query": {"id": ["a", "b"]}}"#)?.code == "bad_request")
    }

    @Test func queryThatIsNotAnObjectIsBadRequest() {
        #expect(parseError(#"{"method": "GET", "path": "/x", "query": "limit=10"}"#)?.code == "bad_request")
    }

    @Test func queryObjectWinsOverTheQueryStringInPath() throws {
        let request = try parse(#"{"method": "GET", "path": "/x?limit=5&id=i1", "query": {"limit": 10}}"#)
        #expect(request.path == "/x")
        #expect(request.query == ["limit": "10", "id": "i1"])
    }

    @Test func bodyPassesThrough() throws {
        let request = try parse(
            #"{"method": "POST", "path": "/api/workflows", "body": {"name": "Invoices", "steps": [1, true, null]}}"#)
        #expect(request.body == ["name": "Invoices", "steps": [1, true, .null]])
    }

    @Test func messageIDPassesThrough() throws {
        let request = try parse(#"{"method": "DELETE", "path": "/api/workflows/w1"}"#, messageID: "msg-42")
        #expect(request.messageID == "msg-42")
    }
}
