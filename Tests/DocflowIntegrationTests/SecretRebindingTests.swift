import DocflowCore
import Foundation
import Testing

/// An integration's stored secrets stay with the destination they were given for: an update
/// that moves it to another scheme, host or port must send them again.
@Suite("Secrets are bound to their destination")
struct SecretRebindingTests {
    static func fields(_ reply: JSONValue?) -> [String] {
        reply?["details"]?.arrayValue?.compactMap { $0["field"]?.stringValue }.sorted() ?? []
    }

    @Test func movingAWebhookElsewhereWithoutItsSecretsIsRefusedAndSendsNothing() async throws {
        let server = try await TestServer.start()
        let original = RecordingHTTPServer()
        let attacker = RecordingHTTPServer(host: "127.0.0.2")
        try await original.start()
        try await attacker.start()
        let id = try await IntegrationTests.integration(
            server,
            [
                "name": "ERP", "integration_type": "webhook",
                "config": [
                    "url": .string(original.url("/in")), "headers": ["Authorization": "Bearer stored-token"],
                    "secret": "whsec-stored",
                ],
            ])

        let moved = try await server.call(
            "PUT", "/api/workflows/integrations", query: ["id": id],
            body: ["config": ["url": .string(attacker.url("/collect"))]])
        #expect(moved.status == 400)
        #expect(moved.error?["code"] == "validation_failed")
        #expect(Self.fields(moved.error) == ["config.headers", "config.secret"])
        let message = moved.error?["details"]?.arrayValue?.first?["message"]?.stringValue ?? ""
        #expect(
            message.contains(
                "config.url changes the destination from 127.0.0.1:\(original.port) to 127.0.0.2:\(attacker.port)"),
            "\(message)")
        #expect(message.contains("secrets are not carried to a new destination"))

        // Sent back masked is not sent again.
        let masked = try await server.call(
            "PUT", "/api/workflows/integrations", query: ["id": id],
            body: [
                "config": [
                    "url": .string(attacker.url("/collect")), "headers": ["Authorization": "********"],
                    "secret": "********",
                ]
            ])
        #expect(Self.fields(masked.error) == ["config.headers.Authorization", "config.secret"])

        // Nothing changed: a run still goes to the original, with the stored secrets.
        let workflow = try await IntegrationTests.notifyWorkflow(server, integration: id)
        let first = try await server.finished(workflow, try await server.execute(workflow))
        #expect(first["status"] == "completed")
        #expect(attacker.requests.isEmpty)
        #expect(original.requests.first?.headers["authorization"] == "Bearer stored-token")

        // A new path on the same host keeps them.
        let samePlace = try await server.call(
            "PUT", "/api/workflows/integrations", query: ["id": id],
            body: ["config": ["url": .string(original.url("/in/v2"))]])
        #expect(samePlace.status == 200)

        // Sent again, they go with the move.
        let resent = try await server.call(
            "PUT", "/api/workflows/integrations", query: ["id": id],
            body: [
                "config": [
                    "url": .string(attacker.url("/collect")), "headers": ["Authorization": "Bearer new-token"],
                    "secret": "whsec-new",
                ]
            ])
        #expect(resent.status == 200)
        let second = try await server.finished(workflow, try await server.execute(workflow))
        #expect(second["status"] == "completed")
        #expect(attacker.requests.first?.headers["authorization"] == "Bearer new-token")
        #expect(original.requests.count == 1)
        original.stop()
        attacker.stop()
        try await server.stop()
    }

    @Test func aRedirectToAnotherHostDropsTheIntegrationsHeaders() async throws {
        let server = try await TestServer.start()
        let first = RecordingHTTPServer()
        let elsewhere = RecordingHTTPServer(host: "127.0.0.2")
        try await first.start()
        try await elsewhere.start()
        first.script([
            .init(status: 307, headers: ["Location": first.url("/moved")]),
            .init(status: 307, headers: ["Location": elsewhere.url("/landing")]),
        ])
        let id = try await IntegrationTests.integration(
            server,
            [
                "name": "ERP", "integration_type": "webhook",
                "config": ["url": .string(first.url("/in")), "headers": ["Authorization": "Bearer stored-token"]],
            ])
        let workflow = try await IntegrationTests.notifyWorkflow(server, integration: id)
        let execution = try await server.finished(workflow, try await server.execute(workflow))
        #expect(execution["status"] == "completed")
        // Same origin: kept; another host: dropped.
        #expect(first.requests.map { $0.headers["authorization"] } == ["Bearer stored-token", "Bearer stored-token"])
        let landed = try #require(elsewhere.requests.first)
        #expect(landed.path == "/landing")
        #expect(landed.headers["authorization"] == nil)
        #expect(landed.headers["content-type"] == "application/json")
        first.stop()
        elsewhere.stop()
        try await server.stop()
    }
}
