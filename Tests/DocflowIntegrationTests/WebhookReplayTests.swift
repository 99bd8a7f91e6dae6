import DocflowCore
import DocflowEngine
import Foundation
import Testing

/// A signed webhook request is accepted once: a replay within its window answers with the
/// execution the first one started and starts nothing.
@Suite("Webhook replays are refused")
struct WebhookReplayTests {
    static func executions(_ server: TestServer, _ workflow: String) async throws -> [String] {
        let reply = try await server.call("GET", "/api/workflows/\(workflow)/executions", query: ["limit": "100"])
        return reply.body?["executions"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
    }

    @Test func theSameSignedRequestTwiceStartsOneExecution() async throws {
        let (server, port) = try await HTTPPortTests.start()
        let workflow = try await HTTPPortTests.webhookWorkflow(port, secret: "whsec-test")
        let body = Data(#"{"invoice": "INV-7"}"#.utf8)
        let now = Int(Date().timeIntervalSince1970)
        let signature = WebhookSignature.sign(body, secret: "whsec-test", timestamp: now)

        let first = try await http(
            "POST", port, "/hooks/\(workflow)", body: body, headers: ["X-Docflow-Signature": signature])
        #expect(first.status == 202)
        #expect(first.body?["duplicate"] == nil)
        let id = try #require(first.body?["execution_id"]?.stringValue)
        _ = try await server.finished(workflow, id)

        let replay = try await http(
            "POST", port, "/hooks/\(workflow)", body: body, headers: ["X-Docflow-Signature": signature])
        #expect(replay.status == 202)
        #expect(replay.body?["duplicate"] == true)
        #expect(replay.body?["execution_id"]?.stringValue == id)
        #expect(replay.body?["status"] == "completed")
        // The same MAC beside a bogus one is the same signed request.
        let padded = try await http(
            "POST", port, "/hooks/\(workflow)", body: body,
            headers: ["X-Docflow-Signature": "t=\(now),v1=00ff," + signature.split(separator: ",")[1]])
        #expect(padded.body?["duplicate"] == true)
        #expect(padded.body?["execution_id"]?.stringValue == id)

        // Signed anew (another timestamp), it is another request.
        let resigned = WebhookSignature.sign(body, secret: "whsec-test", timestamp: now - 1)
        let fresh = try await http(
            "POST", port, "/hooks/\(workflow)", body: body, headers: ["X-Docflow-Signature": resigned])
        #expect(fresh.status == 202)
        #expect(fresh.body?["duplicate"] == nil)
        let freshID = try #require(fresh.body?["execution_id"]?.stringValue)
        #expect(freshID != id)
        _ = try await server.finished(workflow, freshID)
        #expect(Set(try await Self.executions(server, workflow)) == [id, freshID])
        try await server.stop()
    }

    @Test func fiveConcurrentCopiesStartOneExecution() async throws {
        let (server, port) = try await HTTPPortTests.start()
        let workflow = try await HTTPPortTests.webhookWorkflow(port, secret: "whsec-test")
        let body = Data(#"{"n": 1}"#.utf8)
        let signature = WebhookSignature.sign(body, secret: "whsec-test", timestamp: Int(Date().timeIntervalSince1970))
        let replies = try await withThrowingTaskGroup(of: HTTPReply.self) { group in
            for _ in 0..<5 {
                group.addTask {
                    try await http(
                        "POST", port, "/hooks/\(workflow)", body: body, headers: ["X-Docflow-Signature": signature])
                }
            }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(replies.map(\.status) == Array(repeating: 202, count: 5))
        let ids = Set(replies.compactMap { $0.body?["execution_id"]?.stringValue })
        #expect(ids.count == 1)
        #expect(replies.filter { $0.body?["duplicate"] == true }.count == 4)
        let id = try #require(ids.first)
        _ = try await server.finished(workflow, id)
        #expect(try await Self.executions(server, workflow) == [id])
        try await server.stop()
    }

    @Test func anIdempotencyKeyRepeatIsMarkedDuplicate() async throws {
        let (server, port) = try await HTTPPortTests.start()
        let open = try await HTTPPortTests.webhookWorkflow(port, secret: nil)
        let first = try await http("POST", port, "/hooks/\(open)", json: ["n": 1], headers: ["Idempotency-Key": "k-1"])
        let second = try await http("POST", port, "/hooks/\(open)", json: ["n": 1], headers: ["Idempotency-Key": "k-1"])
        #expect(first.status == 202)
        #expect(first.body?["duplicate"] == nil)
        #expect(second.status == 202)
        #expect(second.body?["duplicate"] == true)
        #expect(second.body?["execution_id"] == first.body?["execution_id"])
        // Without a key and without a secret, every request is its own.
        let third = try await http("POST", port, "/hooks/\(open)", json: ["n": 1])
        #expect(third.status == 202)
        #expect(third.body?["execution_id"] != first.body?["execution_id"])
        try await server.stop()
    }
}
