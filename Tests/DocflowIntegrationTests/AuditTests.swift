import AMQPClient
import DocflowClient
import DocflowCore
import DocflowService
import Foundation
import Testing

/// Every change is recorded with who made it (issue 14): API key names over HTTP, broker users
/// over AMQP, the system user for `docflow keys`; `GET /api/audit` filters and pages.
@Suite("Audit log")
struct AuditTests {
    @Test func everyChangeOverHTTPNamesItsKeyAndRequest() async throws {
        let (server, port) = try await APIKeyTests.start()
        let request = ["X-Request-Id": "req-audit-1"]
        let created = try await http("POST", port, "/api/workflows", json: seedCreateWorkflow, headers: request)
        let workflow = try #require(created.body?["id"]?.stringValue)
        _ = try await http("PUT", port, "/api/workflows/\(workflow)", json: ["enabled": false])
        let integration = try await http(
            "POST", port, "/api/workflows/integrations",
            json: [
                "workflow_id": .string(workflow), "name": "hook", "integration_type": "webhook",
                "config": ["url": "https://hooks.example.com/in"],
            ])
        #expect(integration.status == 201, "\(integration.text)")
        let integrationID = try #require(integration.body?["id"]?.stringValue)
        _ = try await http("DELETE", port, "/api/workflows/integrations?id=\(integrationID)")
        let schema = try await http(
            "POST", port, "/api/schemas",
            json: ["id": "po", "name": "Purchase order", "fields": [["name": "po_number", "type": "string"]]])
        #expect(schema.status == 201, "\(schema.text)")
        // A refused change is not one.
        #expect(try await http("POST", port, "/api/workflows", json: ["name": ""]).status == 400)
        _ = try await http("DELETE", port, "/api/workflows/\(workflow)")

        let log = try await http("GET", port, "/api/audit")
        #expect(log.status == 200)
        let entries = try #require(log.body?["entries"]?.arrayValue)
        let summary = entries.map {
            "\($0["resource_type"]?.stringValue ?? "?").\($0["action"]?.stringValue ?? "?")"
        }
        #expect(
            summary == [
                "workflow.delete", "schema.create", "integration.delete", "integration.create", "workflow.update",
                "workflow.create",
            ])
        for entry in entries {
            #expect(entry["actor"] == ["kind": "api_key", "name": "tests"])
            #expect(entry["transport"] == "http")
            #expect(entry["at"]?.stringValue.flatMap(RFC3339.date(from:)) != nil)
        }
        #expect(entries.last?["resource_id"] == .string(workflow))
        #expect(entries.last?["request_id"] == "req-audit-1")
        #expect(entries[2]["resource_id"] == .string(integrationID))
        #expect(log.body?["next_cursor"] == .null)

        // Filters and a cursor.
        let mine = try await http("GET", port, "/api/audit?resource_type=workflow&resource_id=\(workflow)")
        #expect(mine.body?["entries"]?.arrayValue?.count == 3)
        let first = try await http("GET", port, "/api/audit?limit=4")
        #expect(first.body?["entries"]?.arrayValue?.count == 4)
        let cursor = try #require(first.body?["next_cursor"]?.stringValue)
        let second = try await http("GET", port, "/api/audit?limit=4&cursor=\(cursor)")
        #expect(second.body?["entries"]?.arrayValue?.map { $0["action"] } == ["update", "create"])
        #expect(second.body?["next_cursor"] == .null)
        let none = try await http("GET", port, "/api/audit?since=2999-01-01T00:00:00Z")
        #expect(none.body?["entries"]?.arrayValue?.isEmpty == true)
        let bad = try await http("GET", port, "/api/audit?since=yesterday")
        #expect(bad.status == 400)
        #expect(bad.body?["error"]?["details"]?.arrayValue?.first?["field"] == "since")
        try await server.stop()
    }

    @Test func amqpCallersAreTheirBrokerUserOrAnonymous() async throws {
        let server = try await TestServer.start()
        let identified = try await APIClient(
            connection: server.connection, queue: server.names.apiQueue, userID: "guest")
        let created = try await identified.call("POST", "/api/workflows", body: seedCreateWorkflow)
        #expect(created.status == 201)
        _ = try await server.call("POST", "/api/workflows", body: seedCreateWorkflow)
        let log = try await server.call("GET", "/api/audit")
        let actors = log.body?["entries"]?.arrayValue?.map { $0["actor"] }
        #expect(actors == [["kind": "anonymous", "name": "anonymous"], ["kind": "broker_user", "name": "guest"]])
        #expect(log.body?["entries"]?.arrayValue?.first?["transport"] == "amqp")
        try await server.stop()
    }

    @Test func brokerUserListsRestrictWhoMayCallOverAMQP() async throws {
        let server = try await TestServer.start { $0.amqpAuthorization = AMQPAuthorization(writeUsers: ["guest"]) }
        // No user_id: reads are open (no read list), writes are not.
        #expect(try await server.call("GET", "/api/workflows").status == 200)
        let anonymous = try await server.call("POST", "/api/workflows", body: seedCreateWorkflow)
        #expect(anonymous.status == 403)
        #expect(anonymous.error?["message"]?.stringValue?.contains("user_id") == true)
        let guest = try await APIClient(connection: server.connection, queue: server.names.apiQueue, userID: "guest")
        #expect(try await guest.call("POST", "/api/workflows", body: seedCreateWorkflow).status == 201)
        try await server.stop()

        let readers = try await TestServer.start {
            $0.amqpAuthorization = AMQPAuthorization(readUsers: ["monitor"], writeUsers: ["deployer"])
        }
        let asGuest = try await APIClient(
            connection: readers.connection, queue: readers.names.apiQueue, userID: "guest")
        let read = try await asGuest.call("GET", "/api/workflows")
        #expect(read.status == 403)
        #expect(read.error?["message"]?.stringValue?.contains("\"guest\"") == true)
        try await readers.stop()
    }

    @Test func keyChangesByTheCLIAreRecorded() async throws {
        let (server, port) = try await APIKeyTests.start()
        let database = server.configuration.databasePath
        let made = try await APIKeyTests.keys(["create", "--name", "ci", "--scope", "read"], database: database)
        #expect(made.status == 0)
        _ = try await APIKeyTests.keys(["revoke", "ci"], database: database)
        let log = try await http("GET", port, "/api/audit?resource_type=api_key")
        let entries = try #require(log.body?["entries"]?.arrayValue)
        #expect(entries.map { $0["action"] } == ["revoke", "create"])
        #expect(entries.allSatisfy { $0["actor"]?["kind"] == "cli" && $0["transport"] == "cli" })
        try await server.stop()
    }
}
