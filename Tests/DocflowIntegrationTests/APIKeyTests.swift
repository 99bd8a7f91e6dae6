import DocflowCore
import DocflowService
import DocflowStore
import DocflowTestSupport
import Foundation
import Testing

/// The HTTP API answers only callers with an API key (issue 14): keys made, listed and revoked
/// with `docflow keys`, scopes, expiry, and the routes that stay open.
@Suite("API keys")
struct APIKeyTests {
    static func start(withTestKey: Bool = true, _ configure: @escaping (inout ServiceConfiguration) -> Void = { _ in })
        async throws -> (TestServer, Int)
    {
        try await TestServer.startWithHTTP(withTestKey: withTestKey, configure)
    }

    /// Runs `docflow keys ARGUMENTS --database PATH`; its status, stdout and stderr.
    static func keys(_ arguments: [String], database: String) async throws -> (status: Int32, out: String, err: String) {
        let result = try await runProcess(ExternalServer.binary, ["keys"] + arguments + ["--database", database])
        return (result.status, result.stdout, result.stderr)
    }

    @Test func withoutAnyKeyTheAPIRefusesEveryoneAndSaysHowToMakeOne() async throws {
        let (server, port) = try await Self.start(withTestKey: false)
        for (method, path) in [("GET", "/api/workflows"), ("POST", "/api/workflows"), ("GET", "/api/nothing")] {
            let reply =
                method == "POST"
                ? try await http(method, port, path, json: seedCreateWorkflow, authorized: false)
                : try await http(method, port, path, authorized: false)
            #expect(reply.status == 401, "\(method) \(path)")
            #expect(reply.body?["error"]?["code"] == "unauthorized")
            let message = reply.body?["error"]?["message"]?.stringValue ?? ""
            #expect(message.contains("docflow keys create"), "\(message)")
            #expect(reply.headers["www-authenticate"]?.hasPrefix("Bearer") == true)
        }
        // Nothing was created by the refused POST.
        let list = try await server.call("GET", "/api/workflows")
        #expect(list.body?["workflows"]?.arrayValue?.isEmpty == true, "\(list.envelope)")
        // Health, readiness and metrics stay open.
        #expect(try await http("GET", port, "/healthz").status == 200)
        #expect(try await http("GET", port, "/readyz").status == 200)
        #expect(try await http("GET", port, "/metrics").status == 200)
        try await server.stop()
    }

    @Test func serveSaysAtStartWhenNoKeyExistsYet() async throws {
        for withKey in [false, true] {
            let port = try freePort()
            let child = try ServeChild(arguments: ["--http-port", "\(port)"], withTestKey: withKey)
            let deadline = ContinuousClock.now.advanced(by: .seconds(60))
            while (try? await http("GET", port, "/healthz"))?.status != 200, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(100))
            }
            // The warning comes before the port serves, so it is in the log by now.
            let warned = child.log.contains("no API key yet, so the HTTP API answers nobody")
            #expect(warned == !withKey, "with a key: \(withKey); log: \(child.log.suffix(2000))")
            await child.remove()
        }
    }

    @Test func aKeyMadeWithTheCLIOpensTheAPIUntilItIsRevoked() async throws {
        let (server, port) = try await Self.start(withTestKey: false)
        let database = server.configuration.databasePath
        let made = try await Self.keys(["create", "--name", "deploy-bot", "--scope", "write"], database: database)
        #expect(made.status == 0, "\(made.err)")
        let key = made.out.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(key.hasPrefix("dfk_"))
        #expect(made.err.contains("shown only now"))

        let created = try await http(
            "POST", port, "/api/workflows", json: seedCreateWorkflow, headers: ["Authorization": "Bearer \(key)"])
        #expect(created.status == 201)
        // A second key of the same live name is refused.
        let again = try await Self.keys(["create", "--name", "deploy-bot", "--scope", "read"], database: database)
        #expect(again.status != 0)
        #expect(again.err.contains("deploy-bot"))

        // The list names the key and never shows its secret.
        let listed = try await Self.keys(["list"], database: database)
        #expect(listed.status == 0)
        #expect(listed.out.contains("deploy-bot") && listed.out.contains("write") && listed.out.contains("live"))
        let secret = String(key.split(separator: "_").last!)
        #expect(!listed.out.contains(secret))
        let stored = try await server.server.store.read { db in try APIKeyRepository.list(db) }
        #expect(stored.count == 1)
        #expect(stored[0].secretSHA256 != Data(secret.utf8))

        let revoked = try await Self.keys(["revoke", "deploy-bot"], database: database)
        #expect(revoked.status == 0, "\(revoked.err)")
        let after = try await http("GET", port, "/api/workflows", headers: ["Authorization": "Bearer \(key)"])
        #expect(after.status == 401)
        #expect(after.body?["error"]?["message"]?.stringValue?.contains("revoked") == true)
        #expect(try await Self.keys(["list"], database: database).out.contains("revoked"))
        try await server.stop()
    }

    @Test func aReadKeyReadsButCannotWrite() async throws {
        let (server, port) = try await Self.start()
        let made = try await Self.keys(
            ["create", "--name", "dashboard", "--scope", "read"], database: server.configuration.databasePath)
        let key = made.out.trimmingCharacters(in: .whitespacesAndNewlines)
        let reader = ["Authorization": "Bearer \(key)"]
        #expect(try await http("GET", port, "/api/workflows", headers: reader).status == 200)
        let write = try await http("POST", port, "/api/workflows", json: seedCreateWorkflow, headers: reader)
        #expect(write.status == 403)
        #expect(write.body?["error"]?["code"] == "forbidden")
        #expect(write.body?["error"]?["message"]?.stringValue?.contains("scope read") == true)
        let list = try await http("GET", port, "/api/workflows")
        #expect(list.body?["workflows"]?.arrayValue?.isEmpty == true)
        try await server.stop()
    }

    @Test func wrongMissingAndExpiredKeysAreRefused() async throws {
        let (server, port) = try await Self.start()
        let missing = try await http("GET", port, "/api/workflows", authorized: false)
        #expect(missing.status == 401)
        #expect(missing.body?["error"]?["message"]?.stringValue?.contains("Authorization: Bearer") == true)
        let parsed = try #require(APIKeys.parse(testAPIKey))
        for header in [
            "Bearer dfk_\(parsed.id)_\(parsed.secret)x", "Bearer dfk_nosuchid_\(parsed.secret)", "Bearer nonsense",
            "Basic \(testAPIKey)", "Bearer",
        ] {
            let reply = try await http("GET", port, "/api/workflows", headers: ["Authorization": header])
            #expect(reply.status == 401, "\(header)")
            #expect(reply.body?["error"]?["message"]?.stringValue?.hasPrefix("the API key is not valid") == true, "\(header)")
        }
        // A key past its expiry.
        let made = APIKeys.make(
            name: "old", scope: .write, expiresAt: Date().addingTimeInterval(-60), now: Date().addingTimeInterval(-3600))
        try await server.server.store.write { db in try APIKeyRepository.insert(db, made.record) }
        let expired = try await http("GET", port, "/api/workflows", headers: ["Authorization": "Bearer \(made.key)"])
        #expect(expired.status == 401)
        #expect(expired.body?["error"]?["message"]?.stringValue?.contains("expired") == true)
        try await server.stop()
    }

    @Test func metricsNeedAKeyWhenAskedAndNoAuthOpensEverything() async throws {
        let (keyed, keyedPort) = try await Self.start { $0.authentication.metricsNeedKey = true }
        #expect(try await http("GET", keyedPort, "/metrics").status == 401)
        let withKey = try await http("GET", keyedPort, "/metrics", headers: ["Authorization": "Bearer \(testAPIKey)"])
        #expect(withKey.status == 200)

        let (open, openPort) = try await Self.start(withTestKey: false) { $0.authentication.required = false }
        #expect(try await http("GET", openPort, "/api/workflows", authorized: false).status == 200)
        try await keyed.stop()
        try await open.stop()
    }
}
