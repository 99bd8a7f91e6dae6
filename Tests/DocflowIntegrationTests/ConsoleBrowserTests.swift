import AMQPClient
import DocflowCore
import DocflowService
import DocflowStore
import DocflowTestSupport
import Foundation
import Testing

/// The web console under `/ui` (issue 16, point 5), against a running docflow: its sign-in, its
/// protection, and, in Debian's headless `chromium`, what a person sees on each page. The
/// screenshots stay in `.build/test-artifacts/console/`.
@Suite("Web console")
struct ConsoleBrowserTests {
    static let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }
    static let curl = "/usr/bin/curl"
    static let artifacts = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
        .appendingPathComponent(".build/test-artifacts/console")

    /// What the test server holds: a branching workflow run once, a failing one run and retried, a
    /// scheduled one, and a request the server dead-lettered.
    struct Fixture {
        var server: TestServer
        var port: Int
        var invoices: String
        var broken: String
        var nightly: String
        var passed: String
        var failed: String
    }

    static let failure = "the invoice total is missing"

    static func fixture() async throws -> Fixture {
        let (server, port) = try await TestServer.startWithHTTP()
        let invoices = try await server.createWorkflow(
            [
                transform("load", ".trigger"),
                condition("big", ".total > 100", then: "approve", else: "reject"),
                transform("approve", "{approved: true}", ["next": "end"]),
                transform("reject", "{approved: false}"),
            ], name: "Invoice approval")
        let broken = try await server.createWorkflow(
            [transform("load", ".trigger"), transform("explode", "error(\"\(Self.failure)\")")], name: "Broken import")
        let created = try await server.call(
            "POST", "/api/workflows",
            body: [
                "name": "Nightly report", "trigger_type": "scheduled",
                "trigger_config": ["cron_expression": "0 3 * * *", "timezone": "UTC"],
                "definition": ["steps": [transform("report", ".")]],
            ])
        let nightly = try #require(created.body?["id"]?.stringValue, "\(created.envelope.encodedString())")
        let passed = try await server.execute(invoices, ["total": 250])
        _ = try await server.finished(invoices, passed)
        let failed = try await server.execute(broken, ["file": "march.csv"])
        _ = try await server.finished(broken, failed)
        // Retried, it fails again: its page shows both runs.
        let retried = try await server.call("POST", "/api/workflows/\(broken)/executions/\(failed)/retry")
        #expect(retried.status == 202, "\(retried.envelope.encodedString())")
        let deadlineRetry = ContinuousClock.now.advanced(by: .seconds(30))
        while true {
            let execution = try await server.execution(broken, failed)
            if execution["run"] == 2, execution["status"] != "running" { break }
            if ContinuousClock.now > deadlineRetry { throw TestFailure("the retry never finished: \(execution)") }
            try await Task.sleep(for: .milliseconds(25))
        }
        // No reply_to and not JSON: docflow dead-letters it.
        let channel = try await server.connection.openChannel()
        try await channel.enableConfirms()
        try await channel.publish(
            AMQPMessage(
                routingKey: server.names.apiQueue, body: Data("not json at all".utf8),
                properties: AMQPProperties(contentType: "text/plain", messageID: "garbage-1")))
        let deadline = ContinuousClock.now.advanced(by: .seconds(10))
        while try await channel.inspectQueue(server.names.deadLetterQueue).messageCount != 1 {
            if ContinuousClock.now > deadline { throw TestFailure("the request was never dead-lettered") }
            try await Task.sleep(for: .milliseconds(25))
        }
        return Fixture(
            server: server, port: port, invoices: invoices, broken: broken, nightly: nightly, passed: passed,
            failed: failed)
    }

    // MARK: - In a browser

    /// Not skipped without chromium: `make test` installs it, and a browser test that quietly
    /// skips proves nothing.
    @Test func eachPageShowsWhatAPersonLooksFor() async throws {
        _ = try #require(Self.chromium, "needs Debian's chromium: run scripts/install-deps.sh (make test does)")
        let f = try await Self.fixture()
        let port = f.port
        try FileManager.default.createDirectory(at: Self.artifacts, withIntermediateDirectories: true)

        let executions = try await Self.browse(port, "/ui/executions", name: "executions")
        #expect(executions.contains(#"id="filters""#), "the filter form")
        #expect(executions.contains(Self.failure), "the failing execution's error")
        #expect(executions.contains(f.passed) && executions.contains(f.failed))
        #expect(executions.contains("Invoice approval") && executions.contains("Broken import"))

        let failedOnly = try await Self.browse(port, "/ui/executions?status=failed", name: "executions-failed")
        #expect(failedOnly.contains(f.failed))
        #expect(!failedOnly.contains(f.passed))

        let failedTimeline = try await Self.browse(
            port, "/ui/workflows/\(f.broken)/executions/\(f.failed)", name: "execution-failed")
        #expect(failedTimeline.contains(#"data-step="load""#) && failedTimeline.contains(#"data-step="explode""#))
        #expect(failedTimeline.contains(Self.failure))
        #expect(failedTimeline.contains("march.csv"), "the trigger data")
        #expect(failedTimeline.contains("Timeline of run 2"), "the retry's run")
        #expect(failedTimeline.contains("Run 1: failed"), "the run the retry ended stays visible")

        let timeline = try await Self.browse(
            port, "/ui/workflows/\(f.invoices)/executions/\(f.passed)", name: "execution-timeline")
        for step in ["load", "big", "approve"] { #expect(timeline.contains(#"data-step="\#(step)""#), "\(step)") }
        #expect(timeline.contains(#"<section class="step skipped" data-step="reject">"#), "the branch not taken")
        #expect(timeline.contains("attempts 1"))

        let workflows = try await Self.browse(port, "/ui/workflows", name: "workflows")
        #expect(workflows.contains("Invoice approval") && workflows.contains("Nightly report"))

        let graph = try await Self.browse(port, "/ui/workflows/\(f.invoices)", name: "workflow-graph")
        #expect(graph.contains(#"id="graph""#))
        for step in ["load", "big", "approve", "reject", "end"] {
            #expect(graph.contains(#"data-step="\#(step)""#), "node \(step)")
        }
        #expect(graph.contains(">then<") && graph.contains(">else<"), "the condition's branches")

        let schedules = try await Self.browse(port, "/ui/schedules", name: "schedules")
        #expect(schedules.contains("0 3 * * *") && schedules.contains("Nightly report"))
        #expect(schedules.contains("T03:00:00Z"), "the next run")

        let letters = try await Self.browse(port, "/ui/dead-letters", name: "dead-letters")
        #expect(letters.contains("garbage-1"))
        #expect(letters.contains("not valid JSON"), "the reason")
        #expect(letters.contains(">Replay<"))
        try await f.server.stop()
    }

    /// The executions page follows an execution live: the row the server rendered as running
    /// turns completed in the browser when the execution ends, through `/ui/events` and the
    /// page's script. The execution waits on a webhook the test holds until the browser is
    /// listening, so the change can only come from the live update.
    @Test func aRunningRowTurnsCompletedInTheBrowserWhenItsExecutionEnds() async throws {
        _ = try #require(Self.chromium, "needs Debian's chromium: run scripts/install-deps.sh (make test does)")
        let receiver = RecordingHTTPServer()
        try await receiver.start()
        defer { receiver.stop() }
        let release = Latch()
        receiver.script([.init(status: 200, gate: release)])
        // Short streams: headless chromium dumps the page once no request is pending.
        let (server, port) = try await TestServer.startWithHTTP { $0.consoleStreamLifetime = .seconds(2) }
        let created = try await server.call(
            "POST", "/api/workflows/integrations",
            body: ["name": "hook", "integration_type": "webhook", "config": ["url": .string(receiver.url("/hook"))]])
        let integration = try #require(created.body?["id"]?.stringValue, "\(created.envelope.encodedString())")
        let workflow = try await server.createWorkflow(
            [["id": "notify", "type": "integration", "config": ["integration_id": .string(integration)]]],
            name: "Held webhook")
        let execution = try await server.execute(workflow)
        let held = ContinuousClock.now.advanced(by: .seconds(30))
        while receiver.requests.isEmpty {
            if ContinuousClock.now > held { throw TestFailure("the webhook never arrived") }
            try await Task.sleep(for: .milliseconds(20))
        }

        async let page = Self.browse(
            port, "/ui/executions?workflow_id=\(workflow)", name: "executions-live",
            extra: ["--virtual-time-budget=2500"])
        // The page is rendered (running) and its script listens: now the execution may end.
        try await Self.waitForAStream(on: server, else: "the page never opened /ui/events")
        release.open()
        let dom = try await page
        let row = try #require(
            dom.range(of: #"<tr data-execution="\#(execution)">"#).map { String(dom[$0.lowerBound...].prefix(1500)) },
            "no row for the execution")
        #expect(row.contains(#"<td class="status completed">completed</td>"#), "\(row)")
        _ = try await server.finished(workflow, execution)
        try await server.stop()
    }

    /// Waits (a minute at most) until a browser or curl has `/ui/events` open on `server`.
    static func waitForAStream(on server: TestServer, else failure: String) async throws {
        let deadline = ContinuousClock.now.advanced(by: .seconds(60))
        while server.server.consoleWatchers == 0 {
            if ContinuousClock.now > deadline { throw TestFailure(failure) }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Loads `page` in headless chromium, signed in by a one-time link: returns its DOM and keeps
    /// a screenshot as `<name>.png`.
    static func browse(_ port: Int, _ page: String, name: String, extra: [String] = []) async throws -> String {
        let chromium = try #require(chromium)
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("docflow-chromium-\(UUID())")
        defer { try? FileManager.default.removeItem(at: profile) }
        let file = artifacts.appendingPathComponent("\(name).png")
        let run = try await runProcess(
            chromium,
            [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--hide-scrollbars", "--user-data-dir=\(profile.path)", "--timeout=60000", "--dump-dom",
                "--screenshot=\(file.path)",
                "--window-size=1280,900",
            ] + extra + [try await signInURL(port, next: page)])
        #expect(run.status == 0, "chromium: \(run.stderr)")
        #expect(FileManager.default.fileExists(atPath: file.path), "no screenshot of \(page)")
        print("console screenshot: \(file.path)")
        #expect(!run.stdout.contains("Sign in to docflow"), "\(page) asked to sign in")
        return run.stdout
    }

    /// A one-time sign-in link for `next`, as `POST /ui/login-links` hands it to a key holder.
    static func signInURL(_ port: Int, next: String, key: String = testAPIKey) async throws -> String {
        let reply = try await fetch(
            port, "/ui/login-links?next=" + next.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!,
            method: "POST", headers: ["Authorization": "Bearer \(key)"])
        let path = try #require(try? JSONValue.parse(Data(reply.body.utf8))["path"]?.stringValue, "\(reply)")
        return "http://127.0.0.1:\(port)\(path)"
    }

    // MARK: - Over HTTP

    struct Fetched: CustomStringConvertible {
        var status: Int
        var headers: [String: String]
        var body: String
        var description: String { "\(status) \(headers) \(body.prefix(2000))" }
    }

    /// One request with curl, which follows no redirect.
    static func fetch(
        _ port: Int, _ path: String, method: String = "GET", headers: [String: String] = [:], form: String? = nil
    ) async throws -> Fetched {
        var arguments = ["-s", "-i", "-X", method, "--max-time", "30"]
        for (name, value) in headers { arguments += ["-H", "\(name): \(value)"] }
        if let form { arguments += ["--data-raw", form] }
        arguments.append("http://127.0.0.1:\(port)\(path)")
        let output = try await runProcess(curl, arguments)
        guard let split = output.stdout.range(of: "\r\n\r\n") else { throw TestFailure("curl: \(output.stderr)") }
        let head = output.stdout[..<split.lowerBound].split(separator: "\r\n")
        let status = head.first.flatMap { Int($0.split(separator: " ")[1]) } ?? 0
        var fields: [String: String] = [:]
        for line in head.dropFirst() {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2 { fields[parts[0].lowercased()] = parts[1].trimmingCharacters(in: .whitespaces) }
        }
        return Fetched(status: status, headers: fields, body: String(output.stdout[split.upperBound...]))
    }

    static func cookie(_ key: String = testAPIKey) -> [String: String] { ["Cookie": "docflow_console=\(key)"] }

    @Test func pagesNeedTheAPIKeyAndTheSignInCookieIsHttpOnlyAndStrict() async throws {
        let (server, port) = try await TestServer.startWithHTTP()
        let root = try await Self.fetch(port, "/")
        #expect(root.status == 303 && root.headers["location"] == "/ui/executions", "\(root)")
        let anonymous = try await Self.fetch(port, "/ui/executions?status=failed")
        #expect(anonymous.status == 303)
        #expect(anonymous.headers["location"] == "/ui/login?next=%2Fui%2Fexecutions%3Fstatus%3Dfailed", "\(anonymous)")
        #expect(try await Self.fetch(port, "/ui/events").status == 401)
        let form = try await Self.fetch(port, "/ui/login")
        #expect(form.status == 200 && form.body.contains(#"name="key""#))

        let origin = ["Origin": "http://127.0.0.1:\(port)"]
        let wrong = try await Self.fetch(port, "/ui/login", method: "POST", headers: origin, form: "key=dfk_nope_nope")
        #expect(wrong.status == 401 && wrong.body.contains("not valid"), "\(wrong)")
        let elsewhere = try await Self.fetch(
            port, "/ui/login", method: "POST", headers: ["Origin": "http://evil.example"], form: "key=\(testAPIKey)")
        #expect(elsewhere.status == 403)
        let signedIn = try await Self.fetch(
            port, "/ui/login", method: "POST", headers: origin,
            form: "key=\(testAPIKey)&next=%2Fui%2Fworkflows")
        #expect(signedIn.status == 303 && signedIn.headers["location"] == "/ui/workflows", "\(signedIn)")
        let cookie = try #require(signedIn.headers["set-cookie"])
        #expect(cookie.hasPrefix("docflow_console=\(testAPIKey);"))
        for attribute in ["HttpOnly", "SameSite=Strict", "Path=/ui"] {
            #expect(cookie.contains(attribute), "\(cookie)")
        }
        let offsite = try await Self.fetch(
            port, "/ui/login", method: "POST", headers: origin, form: "key=\(testAPIKey)&next=%2F%2Fevil.example")
        #expect(offsite.headers["location"] == "/ui/executions", "never to another site")

        let link = try await Self.signInURL(port, next: "/ui/schedules")
        let path = String(link.dropFirst("http://127.0.0.1:\(port)".count))
        let first = try await Self.fetch(port, path)
        #expect(first.status == 303 && first.headers["location"] == "/ui/schedules")
        #expect(first.headers["set-cookie"]?.hasPrefix("docflow_console=\(testAPIKey);") == true)
        #expect(try await Self.fetch(port, path).status == 401, "a sign-in link works once")
        #expect(
            try await Self.fetch(port, "/ui/login-links", method: "POST").status == 401, "a link needs a key")

        let page = try await Self.fetch(port, "/ui/workflows", headers: Self.cookie())
        #expect(page.status == 200)
        #expect(page.headers["content-security-policy"]?.contains("script-src 'self'") == true)
        let revoked = try await Self.fetch(port, "/ui/workflows", headers: Self.cookie("dfk_tests000_wrong"))
        #expect(revoked.status == 303, "a key that no longer checks out signs the browser out")
        try await server.stop()
    }

    @Test func everyValueIsEscapedAndSecretsStayMasked() async throws {
        let (server, port) = try await TestServer.startWithHTTP()
        let hostile = "<script>alert(1)</script>"
        let created = try await server.call(
            "POST", "/api/workflows",
            body: [
                "name": .string(hostile), "description": "a & b \"quoted\"", "trigger_type": "webhook",
                "trigger_config": ["secret": "hook-secret-value"], "definition": ["steps": [transform("t", ".")]],
            ])
        let id = try #require(created.body?["id"]?.stringValue, "\(created.envelope.encodedString())")
        for path in ["/ui/workflows", "/ui/workflows/\(id)", "/ui/executions"] {
            let page = try await Self.fetch(port, path, headers: Self.cookie())
            #expect(page.status == 200, "\(path)")
            #expect(!page.body.contains(hostile), "\(path)")
            #expect(page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "\(path)")
            #expect(!page.body.contains("hook-secret-value"), "\(path)")
        }
        let detail = try await Self.fetch(port, "/ui/workflows/\(id)", headers: Self.cookie())
        #expect(detail.body.contains("a &amp; b &quot;quoted&quot;"))
        let bad = try await Self.fetch(port, "/ui/executions?status=bogus", headers: Self.cookie())
        #expect(bad.status == 200 && bad.body.contains("status: must be one of"), "\(bad)")
        try await server.stop()
    }

    @Test func theOlderLinkFollowsTheCursorWithTheFilters() async throws {
        let (server, port) = try await TestServer.startWithHTTP()
        let workflow = try await server.createWorkflow([transform("t", ".")], name: "paged")
        var executions: [String] = []
        for _ in 0..<3 {
            let id = try await server.execute(workflow)
            _ = try await server.finished(workflow, id)
            executions.append(id)
        }
        var path = "/ui/executions?workflow_id=\(workflow)&status=completed&limit=2"
        var seen: [String] = []
        for _ in 0..<3 {
            let page = try await Self.fetch(port, path, headers: Self.cookie())
            #expect(page.status == 200)
            let shown = executions.compactMap { id in
                page.body.range(of: #"data-execution="\#(id)""#).map { (at: $0.lowerBound, id: id) }
            }
            seen += shown.sorted { $0.at < $1.at }.map(\.id)
            guard let range = page.body.range(of: #"<a href="([^"]*)" id="older">"#, options: .regularExpression)
            else { break }
            let href = page.body[range].dropFirst(#"<a href=""#.count).prefix { $0 != "\"" }
            #expect(href.contains("cursor=") && href.contains("status=completed") && href.contains("limit=2"))
            path = href.replacingOccurrences(of: "&amp;", with: "&")
        }
        #expect(seen == executions.reversed(), "newest first, each once, over two pages")
        try await server.stop()
    }

    @Test func replayNeedsAWriteKeyAndThePagesOwnOrigin() async throws {
        let f = try await Self.fixture()
        let port = f.port
        let readKey = "dfk_reader00_ReadOnlyKeyOfTheConsoleTestsNeverUsedElsewhere"
        try Self.installKey(readKey, scope: .read, databasePath: f.server.configuration.databasePath)
        let origin = "http://127.0.0.1:\(port)"
        let listed = try await Self.fetch(port, "/ui/dead-letters", headers: Self.cookie(readKey))
        #expect(listed.status == 200 && listed.body.contains("garbage-1"), "\(listed)")
        let reader = try await Self.fetch(
            port, "/ui/dead-letters/replay", method: "POST",
            headers: Self.cookie(readKey).merging(["Origin": origin]) { a, _ in a }, form: "id=garbage-1")
        #expect(reader.status == 403 && reader.body.contains("scope read"), "\(reader)")
        let forged = try await Self.fetch(
            port, "/ui/dead-letters/replay", method: "POST", headers: Self.cookie(), form: "id=garbage-1")
        #expect(forged.status == 403, "no Origin: not from a console page")
        let replayed = try await Self.fetch(
            port, "/ui/dead-letters/replay", method: "POST",
            headers: Self.cookie().merging(["Origin": origin]) { a, _ in a }, form: "id=garbage-1")
        #expect(replayed.status == 303 && replayed.headers["location"] == "/ui/dead-letters?replayed=garbage-1")
        let after = try await Self.fetch(port, "/ui/dead-letters?replayed=garbage-1", headers: Self.cookie())
        #expect(after.body.contains("Replayed garbage-1."))
        let missing = try await Self.fetch(
            port, "/ui/dead-letters/replay", method: "POST",
            headers: Self.cookie().merging(["Origin": origin]) { a, _ in a }, form: "id=no-such-letter")
        #expect(
            missing.status == 200 && missing.body.contains("could not replay no-such-letter: no message"), "\(missing)")
        try await f.server.stop()
    }

    @Test func theEventStreamCarriesStatusChanges() async throws {
        // The server ends each stream after 20 s, which ends curl's first one.
        let (server, port) = try await TestServer.startWithHTTP { $0.consoleStreamLifetime = .seconds(20) }
        let workflow = try await server.createWorkflow([transform("t", ".")], name: "streamed")
        async let stream = runProcess(
            Self.curl,
            [
                "-s", "-N", "--max-time", "120", "-H", "Cookie: docflow_console=\(testAPIKey)",
                "http://127.0.0.1:\(port)/ui/events",
            ])
        // Events relayed before curl's stream is open are not in it: wait until it is.
        try await Self.waitForAStream(on: server, else: "curl never opened /ui/events")
        let execution = try await server.execute(workflow)
        _ = try await server.finished(workflow, execution)
        let output = try await stream.stdout
        #expect(output.hasPrefix("retry: 2000"))
        let events = output.split(separator: "\n").filter { $0.hasPrefix("data: ") }.compactMap {
            try? JSONValue.parse(String($0.dropFirst("data: ".count)))
        }
        let mine = events.filter { $0["execution_id"] == .string(execution) }
        #expect(mine.contains { $0["event"] == "workflow.started" && $0["kind"] == "execution" }, "\(output)")
        #expect(mine.contains { $0["event"] == "workflow.completed" && $0["status"] == "completed" }, "\(output)")
        #expect(mine.contains { $0["kind"] == "step" && $0["step_id"] == "t" }, "\(output)")

        // A stream still open when the server stops is ended by it (curl exits 0, not 28 for
        // its own time limit), so that shutdown does not wait for the browser.
        async let open = runProcess(
            Self.curl,
            [
                "-s", "-N", "--max-time", "300", "-H", "Cookie: docflow_console=\(testAPIKey)",
                "http://127.0.0.1:\(port)/ui/events",
            ])
        try await Self.waitForAStream(on: server, else: "curl never opened /ui/events again")
        try await server.stop()
        let ended = try await open
        #expect(ended.status == 0, "curl: \(ended.status) \(ended.stderr)")
        #expect(ended.stdout.hasPrefix("retry: 2000"))
    }

    static func installKey(_ key: String, scope: APIKeyScope, databasePath path: String) throws {
        let store = try Store(path: path)
        let parsed = APIKeys.parse(key)!
        try store.pool.write { db in
            try APIKeyRepository.insert(
                db,
                APIKeyRecord(
                    id: parsed.id, name: "console-\(scope)", scope: scope, secretSHA256: APIKeys.digest(parsed.secret),
                    createdAt: Date()))
        }
    }
}
