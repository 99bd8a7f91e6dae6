import DocflowCore
import Foundation
import Testing

/// Whether this machine can listen on IPv6 loopback.
let ipv6LoopbackWorks: Bool = {
    let fd = socket(AF_INET6, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in6()
    address.sin6_family = sa_family_t(AF_INET6)
    guard inet_pton(AF_INET6, "::1", &address.sin6_addr) == 1 else { return false }
    return withUnsafePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in6>.size)) == 0
        }
    }
}()

/// A workflow's webhooks, SMTP and documents against real local servers, with the policy's
/// defaults: the local server must see nothing, whatever the URL says.
@Suite("Outbound policy, end to end")
struct OutboundPolicyEndToEndTests {
    static let refusedUnlessAllowed =
        "docflow does not reach private or local addresses unless --outbound-allow lists them"

    /// Runs a workflow whose one integration step posts to `url`; returns the step's log entry.
    static func webhook(_ server: TestServer, to url: String) async throws -> JSONValue {
        let integration = try await IntegrationTests.integration(
            server, ["name": "hook", "integration_type": "webhook", "config": ["url": .string(url)]])
        let workflow = try await IntegrationTests.notifyWorkflow(server, integration: integration)
        let execution = try await server.finished(workflow, try await server.execute(workflow))
        return try #require(execution.step("notify"))
    }

    @Test func webhooksToLoopbackAreRefusedInEveryFormAndTheServerSeesNothing() async throws {
        let local = RecordingHTTPServer()
        try await local.start()
        let server = try await TestServer.start { $0.outboundAllow = [] }
        let forms: [(String, String)] = [
            ("127.0.0.1", "127.0.0.1 (loopback)"), ("localhost", "(loopback)"), ("2130706433", "127.0.0.1 (loopback)"),
            ("0x7f000001", "127.0.0.1 (loopback)"), ("0177.0.0.1", "127.0.0.1 (loopback)"),
            ("127.1", "127.0.0.1 (loopback)"), ("0.0.0.0", "0.0.0.0 (unspecified)"),
            ("[::ffff:127.0.0.1]", "::ffff:127.0.0.1 (loopback)"), ("[::]", ":: (unspecified)"),
        ]
        for (host, refused) in forms {
            let step = try await Self.webhook(server, to: "http://\(host):\(local.port)/internal")
            let error = step["error"]?.stringValue ?? ""
            #expect(step["status"] == "failed", "\(host)")
            #expect(step["attempts"] == 1, "\(host): a refusal is not retried")
            #expect(error.contains("refused to connect to "), "\(host): \(error)")
            #expect(error.contains(refused), "\(host): \(error)")
            #expect(error.contains(Self.refusedUnlessAllowed), "\(host): \(error)")
        }
        #expect(local.requests.isEmpty)
        local.stop()
        try await server.stop()
    }

    @Test func aRedirectFromAnAllowedHostToLoopbackIsRefused() async throws {
        // Linux routes all of 127/8 to loopback: 127.0.0.2 plays an allowed outside host.
        let allowed = RecordingHTTPServer(host: "127.0.0.2")
        try await allowed.start()
        let local = RecordingHTTPServer()
        try await local.start()
        let server = try await TestServer.start { $0.outboundAllow = ["127.0.0.2/32"] }

        let direct = try await Self.webhook(server, to: allowed.url("/ok"))
        #expect(direct["status"] == "completed")

        for target in ["http://127.0.0.1:\(local.port)/secret", "http://localhost:\(local.port)/secret"] {
            allowed.script([.init(status: 302, headers: ["Location": target])])
            let step = try await Self.webhook(server, to: allowed.url("/redirect"))
            let error = step["error"]?.stringValue ?? ""
            #expect(step["status"] == "failed")
            #expect(error.contains("(loopback): " + Self.refusedUnlessAllowed), "\(error)")
        }
        #expect(allowed.requests.map(\.path) == ["/ok", "/redirect", "/redirect"])
        #expect(local.requests.isEmpty)
        allowed.stop()
        local.stop()
        try await server.stop()
    }

    @Test func parseStepsCannotReadLoopbackDocumentsAndZeroesAreNotLoopbacksBackDoor() async throws {
        let local = RecordingHTTPServer()
        try await local.start()
        local.script([.init(status: 200, body: "internal secret")])
        // Loopback allowed: 0.0.0.0, which Linux connects to loopback, must still be refused.
        let server = try await TestServer.start {
            $0.outboundAllow = ["127.0.0.1/32"]
            $0.documentURLTemplate = "http://0.0.0.0:\(local.port)/{{document_id}}/raw"
        }
        let workflow = try await server.createWorkflow([["id": "parse", "type": "parse", "config": [:]]])
        for trigger: JSONValue in [
            ["document_url": .string("http://0.0.0.0:\(local.port)/doc.txt")],
            ["document_url": .string("http://[::ffff:0.0.0.0]:\(local.port)/doc.txt")],
            ["document_id": "doc-1", "file_type": "txt"],
        ] {
            let execution = try await server.finished(workflow, try await server.execute(workflow, trigger))
            let error = execution.step("parse")?["error"]?.stringValue ?? ""
            #expect(execution["status"] == "failed")
            #expect(error.contains("(unspecified): " + Self.refusedUnlessAllowed), "\(error)")
            #expect(!(execution.step("parse")?["output"]?.encodedString().contains("internal secret") ?? false))
        }
        #expect(local.requests.isEmpty)

        let allowedRead = try await server.finished(
            workflow,
            try await server.execute(
                workflow, ["document_url": .string(local.url("/doc.txt")), "file_type": "txt"]))
        #expect(allowedRead["status"] == "completed")
        #expect(allowedRead.step("parse")?["output"]?["text"] == "internal secret")
        local.stop()
        try await server.stop()
    }

    @Test func smtpToLoopbackIsRefusedByDefault() async throws {
        let smtp = SMTPListener()
        try smtp.start()
        let server = try await TestServer.start {
            $0.outboundAllow = []
            $0.smtpURL = "smtp://localhost:\(smtp.port)"
        }
        let integration = try await IntegrationTests.integration(
            server, ["name": "mail", "integration_type": "email", "config": ["to": ["ap@example.com"]]])
        let workflow = try await IntegrationTests.notifyWorkflow(server, integration: integration)
        let execution = try await server.finished(workflow, try await server.execute(workflow))
        let error = execution.step("notify")?["error"]?.stringValue ?? ""
        #expect(execution["status"] == "failed")
        #expect(execution.step("notify")?["attempts"] == 1)
        #expect(error.contains("(loopback): " + Self.refusedUnlessAllowed), "\(error)")
        #expect(smtp.messages.isEmpty)
        smtp.stop()
        try await server.stop()
    }

    @Test(.enabled(if: ipv6LoopbackWorks, "this machine has no IPv6 loopback"))
    func anAllowedIPv6LiteralIsReachedAndARefusedOneIsNot() async throws {
        let local = RecordingHTTPServer(host: "::1")
        try await local.start()
        #expect(local.url("/hook").hasPrefix("http://[::1]:"))
        let allowing = try await TestServer.start()  // allows ::1/128, as every test server does
        let reached = try await Self.webhook(allowing, to: local.url("/hook"))
        #expect(reached["status"] == "completed", "\(reached)")
        #expect(local.requests.map(\.path) == ["/hook"])
        try await allowing.stop()

        let refusing = try await TestServer.start { $0.outboundAllow = [] }
        let refused = try await Self.webhook(refusing, to: local.url("/hook"))
        #expect(refused["error"]?.stringValue?.contains("refused to connect to ::1 (loopback)") == true)
        #expect(local.requests.count == 1)
        local.stop()
        try await refusing.stop()
    }

    @Test func aDocumentIDFillsTheTemplateAsOneEscapedPathSegment() async throws {
        let documents = RecordingHTTPServer()
        try await documents.start()
        documents.script([.init(status: 200, body: "the document")])
        let server = try await TestServer.start {
            $0.documentURLTemplate = "http://127.0.0.1:\(documents.port)/docs/{{document_id}}/raw"
        }
        let workflow = try await server.createWorkflow([["id": "parse", "type": "parse", "config": [:]]])
        let read = try await server.finished(
            workflow, try await server.execute(workflow, ["document_id": "a b?c#d%e", "file_type": "txt"]))
        #expect(read["status"] == "completed")
        #expect(read.step("parse")?["output"]?["text"] == "the document")
        #expect(documents.requests.map(\.path) == ["/docs/a%20b%3Fc%23d%25e/raw"])

        for id in ["../../admin?x=", "..", "a/b", "a\\b"] {
            let refused = try await server.finished(
                workflow, try await server.execute(workflow, ["document_id": .string(id), "file_type": "txt"]))
            let error = refused.step("parse")?["error"]?.stringValue ?? ""
            #expect(refused["status"] == "failed")
            #expect(refused.step("parse")?["attempts"] == 1)
            #expect(error.hasPrefix("trigger.document_id "), "\(error)")
        }
        #expect(documents.requests.count == 1)
        documents.stop()
        try await server.stop()
    }
}
