import AMQPClient
import DocflowCore
import DocflowService
import DocflowTestSupport
import Foundation
import Testing

/// Bodies that are not strict JSON, through each transport: a 400 naming the field, or a dead letter.
@Suite("Strict JSON through the API")
struct StrictJSONAPITests {
    @Test func aDuplicateMethodInAnAMQPRequestAnswers400AndDeletesNothing() async throws {
        let server = try await TestServer.start()
        let id = try await server.createWorkflow([transform("t", ".")])

        let request = #"{"method": "GET", "path": "/api/workflows/\#(id)", "method": "DELETE"}"#
        let reply = try JSONValue.parse(try await server.client.send(Data(request.utf8), timeout: .seconds(30)))
        #expect(reply["status"] == 400)
        #expect(reply["error"]?["code"] == "bad_request")
        #expect(reply["error"]?["details"]?.arrayValue?.first?["field"] == "method")
        #expect((try await server.call("GET", "/api/workflows/\(id)")).status == 200)

        let nul = try await server.call("PUT", "/api/workflows/\(id)", body: ["name": "a\u{0}b"])
        #expect(nul.status == 400)
        #expect(nul.error?["details"]?.arrayValue?.first?["field"] == "name")
        try await server.stop()
    }

    @Test func strictJSONOverHTTPAnswers400NamingTheField() async throws {
        let (server, port) = try await HTTPPortTests.start()
        let duplicate = #"""
            {"name": "dup", "trigger_type": "manual",
             "definition": {"steps": [{"id": "t", "type": "transform", "config": {"expression": ".", "expression": "1"}}]}}
            """#
        let created = try await http("POST", port, "/api/workflows", body: Data(duplicate.utf8))
        #expect(created.status == 400)
        #expect(created.body?["error"]?["code"] == "bad_request")
        #expect(
            created.body?["error"]?["details"]?.arrayValue?.first?["field"] == "definition.steps[0].config.expression")
        #expect((try await http("GET", port, "/api/workflows")).body?["workflows"]?.arrayValue?.isEmpty == true)

        let hook = try await HTTPPortTests.webhookWorkflow(port, secret: nil)
        let overflow = try await http("POST", port, "/hooks/\(hook)", body: Data(#"{"amount": 1e400}"#.utf8))
        #expect(overflow.status == 400)
        #expect(overflow.body?["error"]?["details"]?.arrayValue?.first?["field"] == "amount")
        #expect((try await server.call("GET", "/api/workflows/\(hook)/executions")).body?["executions"] == [])
        try await server.stop()
    }

    @Test func anEventWithADuplicateKeyIsDeadLetteredNamingIt() async throws {
        let server = try await TestServer.start()
        let channel = try await server.connection.openChannel()
        try await channel.enableConfirms()
        let deadLetters = try await channel.consume(queue: server.names.deadLetterQueue)
        let body = #"{"id": "e1", "event": "document.uploaded", "data": {"document_id": "a", "document_id": "b"}}"#
        try await channel.publish(
            AMQPMessage(exchange: server.names.eventsExchange, routingKey: "document.uploaded", body: Data(body.utf8)))

        let dead = try #require(try await deadLetters.first(within: .seconds(15)))
        #expect(
            dead.properties.headers["x-docflow-error"]?.stringValue?.contains("data.document_id: duplicate key") == true
        )
        dead.ack()
        try await server.stop()
    }
}
