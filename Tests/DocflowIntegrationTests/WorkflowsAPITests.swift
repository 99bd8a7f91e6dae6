import AMQPClient
import DocflowCore
import DocflowService
import DocflowTestSupport
import Foundation
import Testing

@Suite("Workflows API over AMQP request/reply")
struct WorkflowsAPITests {
    @Test func createWithTheSeedExampleAnswers201AndPublishesWorkflowCreated() async throws {
        let server = try await TestServer.start()
        let monitor = try await server.monitor(binding: "workflow.#")

        let reply = try await server.call("POST", "/api/workflows", body: seedCreateWorkflow)

        #expect(reply.status == 201)
        let workflow = try #require(reply.body)
        let id = try #require(workflow["id"]?.stringValue)
        #expect(id == id.lowercased() && UUID(uuidString: id) != nil)
        #expect(workflow["name"] == "Invoice Processing")
        #expect(workflow["trigger_type"] == "event")
        #expect(workflow["trigger_config"]?["filters"]?["file_type"] == "pdf")
        #expect(workflow["enabled"] == true)
        #expect(workflow["definition"]?["steps"]?.arrayValue?.count == 3)
        #expect(workflow["created_at"]?.stringValue.flatMap(RFC3339.date(from:)) != nil)

        let event = try #require(try await monitor.first(within: .seconds(10)))
        #expect(event.routingKey == "workflow.created.\(id)")
        let body = try JSONValue.parse(event.body)
        #expect(body["event"] == "workflow.created")
        #expect(body["data"]?["id"]?.stringValue == id)
        #expect(event.properties.messageID == body["id"]?.stringValue)
        #expect(event.properties.persistent)
        #expect(event.properties.headers["workflow_id"]?.stringValue == id)
        try await server.stop()
    }

    @Test func getListUpdateAndDeleteAWorkflow() async throws {
        let server = try await TestServer.start()
        let monitor = try await server.monitor(binding: "workflow.*.*")
        let created = try await server.call("POST", "/api/workflows", body: seedCreateWorkflow)
        let id = try #require(created.body?["id"]?.stringValue)

        let fetched = try await server.call("GET", "/api/workflows/\(id)")
        #expect(fetched.status == 200)
        #expect(fetched.body == created.body)

        let list = try await server.call("GET", "/api/workflows")
        #expect(list.status == 200)
        #expect(list.body?["workflows"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == [id])

        let updated = try await server.call(
            "PUT", "/api/workflows/\(id)", body: ["name": "Invoices v2", "enabled": false])
        #expect(updated.status == 200)
        #expect(updated.body?["name"] == "Invoices v2")
        #expect(updated.body?["enabled"] == false)
        #expect(updated.body?["description"] == "Automatically extract data from invoices")

        let deleted = try await server.call("DELETE", "/api/workflows/\(id)")
        #expect(deleted.status == 204)
        #expect(deleted.body == nil)

        let gone = try await server.call("GET", "/api/workflows/\(id)")
        #expect(gone.status == 404)
        #expect(gone.error?["code"] == "not_found")

        var events: [String] = []
        for try await delivery in monitor {
            events.append(delivery.routingKey)
            if events.count == 3 { break }
        }
        #expect(events == ["workflow.created.\(id)", "workflow.updated.\(id)", "workflow.deleted.\(id)"])
        try await server.stop()
    }

    @Test func invalidCreateAnswers400WithEveryProblemAndItsField() async throws {
        let server = try await TestServer.start()
        var body = seedCreateWorkflow.objectValue!
        body["name"] = ""
        body["definition"] = [
            "steps": [
                ["id": "parse", "type": "parse"],
                ["id": "extract", "type": "extract", "config": [:]],
            ]
        ]
        let reply = try await server.call("POST", "/api/workflows", body: .object(body))
        #expect(reply.status == 400)
        #expect(reply.error?["code"] == "validation_failed")
        let fields = reply.error?["details"]?.arrayValue?.compactMap { $0["field"]?.stringValue } ?? []
        #expect(fields.contains("name"))
        #expect(fields.contains("definition.steps[1].config.schema_id"))
        let list = try await server.call("GET", "/api/workflows")
        #expect(list.body?["workflows"]?.arrayValue?.isEmpty == true)
        try await server.stop()
    }

    @Test func jqModuleDirectivesAnswer400NamingTheExpression() async throws {
        let server = try await TestServer.start()
        let reply = try await server.call(
            "POST", "/api/workflows",
            body: [
                "name": "modules", "trigger_type": "manual",
                "definition": [
                    "steps": [
                        transform("plain", "."),
                        transform("imports", "import \"a\" as a; ."),
                        condition("includes", "include \"b\"; .", then: "end", else: "end"),
                    ]
                ],
            ])
        #expect(reply.status == 400)
        let details = reply.error?["details"]?.arrayValue ?? []
        let message = "jq modules (import/include) are not supported"
        #expect(
            details.contains {
                $0["field"] == "definition.steps[1].config.expression" && $0["message"] == .string(message)
            },
            "\(details)")
        #expect(
            details.contains {
                $0["field"] == "definition.steps[2].config.expression" && $0["message"] == .string(message)
            },
            "\(details)")
        try await server.stop()
    }

    @Test func garbageRequestWithReplyToIsAnsweredBadRequest() async throws {
        let server = try await TestServer.start()
        let reply = try JSONValue.parse(try await server.client.send(Data("this is not json".utf8)))
        #expect(reply["status"] == 400)
        #expect(reply["error"]?["code"] == "bad_request")
        let noPath = try JSONValue.parse(try await server.client.send(Data(#"{"method": "GET"}"#.utf8)))
        #expect(noPath["error"]?["code"] == "bad_request")
        try await server.stop()
    }

    @Test func garbageRequestWithoutReplyToIsDeadLetteredWithTheReason() async throws {
        let server = try await TestServer.start()
        let channel = try await server.connection.openChannel()
        try await channel.enableConfirms()
        let deadLetters = try await channel.consume(queue: server.names.deadLetterQueue)
        try await channel.publish(AMQPMessage(routingKey: server.names.apiQueue, body: Data("{{{".utf8)))

        let dead = try #require(try await deadLetters.first(within: .seconds(10)))
        #expect(String(decoding: dead.body, as: UTF8.self) == "{{{")
        let reason = dead.properties.headers["x-docflow-error"]?.stringValue ?? ""
        #expect(reason.contains("not valid JSON"))
        dead.ack()
        // The consumer goes on.
        let list = try await server.call("GET", "/api/workflows")
        #expect(list.status == 200)
        try await server.stop()
    }

    @Test func requestWithoutReplyToIsStillProcessed() async throws {
        let server = try await TestServer.start()
        let channel = try await server.connection.openChannel()
        try await channel.enableConfirms()
        let request: JSONValue = ["method": "POST", "path": "/api/workflows", "body": seedCreateWorkflow]
        try await channel.publish(AMQPMessage(routingKey: server.names.apiQueue, body: request.encoded()))
        var count = 0
        for _ in 0..<100 {
            let list = try await server.call("GET", "/api/workflows")
            count = list.body?["workflows"]?.arrayValue?.count ?? 0
            if count > 0 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(count == 1)
        try await server.stop()
    }

    @Test func repeatedMessageIDGetsTheFirstReplyAndChangesNothing() async throws {
        let server = try await TestServer.start()
        let first = try await server.call("POST", "/api/workflows", body: seedCreateWorkflow, messageID: "create-once")
        let second = try await server.call("POST", "/api/workflows", body: seedCreateWorkflow, messageID: "create-once")
        #expect(first.status == 201)
        #expect(second.envelope == first.envelope)
        let other = try await server.call("POST", "/api/workflows", body: seedCreateWorkflow, messageID: "create-twice")
        #expect(other.body?["id"] != first.body?["id"])
        let list = try await server.call("GET", "/api/workflows")
        #expect(list.body?["workflows"]?.arrayValue?.count == 2)
        try await server.stop()
    }

    @Test func queryInThePathAndWrongMethodsAreHandled() async throws {
        let server = try await TestServer.start()
        let wrongMethod = try await server.call("PATCH", "/api/workflows")
        #expect(wrongMethod.status == 405)
        #expect(wrongMethod.error?["code"] == "method_not_allowed")
        let unknown = try await server.call("GET", "/api/unknown")
        #expect(unknown.status == 404)
        let missing = try await server.call(
            "PUT", "/api/workflows/\(UUID().uuidString.lowercased())", body: ["name": "x"])
        #expect(missing.status == 404)
        try await server.stop()
    }

    @Test func stateSurvivesARestartOnTheSameDatabase() async throws {
        let first = try await TestServer.start()
        let created = try await first.call("POST", "/api/workflows", body: seedCreateWorkflow)
        let id = try #require(created.body?["id"]?.stringValue)
        let database = first.configuration.databasePath
        let prefix = first.configuration.prefix
        // One docflow per database: the first lets go of it when it has stopped.
        try await first.stopServing()

        let second = try await TestServer.start { configuration in
            configuration.databasePath = database
            configuration.prefix = prefix + "b"
        }
        let fetched = try await second.call("GET", "/api/workflows/\(id)")
        #expect(fetched.body == created.body)
        try await second.stop()
        try await first.stop()
    }
}
