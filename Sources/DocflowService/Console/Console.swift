import AMQPClient
import DocflowClient
import DocflowCore
import DocflowStore
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// The web console under `/ui` on the HTTP port: executions with the filters of
/// `GET /api/executions`, an execution's timeline, workflows with their definition drawn as a
/// graph, schedules, dead letters with a replay button, and live status over server-sent
/// events. Pages are rendered on the server from what the API's own router answers (the same
/// queries, validation and masking of secrets), with the caller the browser's key proves.
///
/// Protection: every page needs the API key the `/api/*` routes need (`ConsoleSession`); the
/// one change it makes, a replay, is a `POST` that needs a `write` key and an `Origin` equal to
/// the page's own host, on top of the cookie's `SameSite=Strict` (no cross-site form or link
/// carries it). Pages forbid inline scripts and framing (`Content-Security-Policy`) and every
/// value is HTML-escaped as it is rendered.
final class Console: Sendable {
    private let router: Router
    private let store: Store
    private let authentication: HTTPAuthentication
    let feed: StatusFeed
    private let deadLetters: ConsoleDeadLetters
    private let links = LoginLinks()
    /// The largest sign-in or replay form read.
    static let maxFormBytes = 16 * 1024
    /// How long one `/ui/events` stream stays open before the browser opens the next
    /// (`--console-stream-seconds`).
    let streamLifetime: Duration
    static let heartbeat = Duration.seconds(15)

    init(
        router: Router, store: Store, authentication: HTTPAuthentication, names: Names,
        connections: [AMQPConnection], feed: StatusFeed, streamLifetime: Duration = .seconds(60)
    ) {
        self.streamLifetime = streamLifetime
        self.router = router
        self.store = store
        self.authentication = authentication
        self.feed = feed
        deadLetters = ConsoleDeadLetters(
            names: names, reading: connections.first, publishing: connections.dropFirst().first)
    }

    /// Whether `path` is the console's: `/`, `/ui` and below.
    static func serves(_ path: String) -> Bool {
        path == "/" || path == "/ui" || path.hasPrefix("/ui/")
    }

    func respond(_ request: Request) async -> Response {
        let path = request.uri.path
        let query = Self.query(request)
        switch (request.method, path) {
        case (.get, "/"), (.get, "/ui"), (.get, "/ui/"):
            return Self.redirect("/ui/executions")
        case (.get, "/ui/assets/console.css"):
            return Self.asset(ConsoleAssets.css, type: "text/css; charset=utf-8")
        case (.get, "/ui/assets/console.js"):
            return Self.asset(ConsoleAssets.js, type: "text/javascript; charset=utf-8")
        case (.get, "/ui/login"):
            if let token = query["token"] {
                guard let key = links.redeem(token) else {
                    return loginPage(next: query["next"], message: "This sign-in link is used up or expired.", 401)
                }
                return Self.redirect(
                    ConsoleSession.safeNext(query["next"]),
                    cookie: ConsoleSession.setCookie(key, secure: Self.isSecure(request)))
            }
            return loginPage(next: query["next"], message: nil, 200)
        case (.post, "/ui/login"):
            guard Self.sameOrigin(request) else { return forbiddenOrigin() }
            let form = await Self.form(request)
            let key = form["key"]?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
            if case .failure(let error) = await authentication.authenticate(
                authorization: "Bearer \(key)", method: "GET", store: store)
            {
                return loginPage(next: form["next"], message: error.message, 401)
            }
            return Self.redirect(
                ConsoleSession.safeNext(form["next"]),
                cookie: ConsoleSession.setCookie(key, secure: Self.isSecure(request)))
        case (.post, "/ui/login-links"):
            return await loginLink(request, next: query["next"])
        case (.post, "/ui/logout"):
            guard Self.sameOrigin(request) else { return forbiddenOrigin() }
            return Self.redirect("/ui/login", cookie: ConsoleSession.clearCookie)
        default:
            break
        }

        let key = ConsoleSession.key(cookieHeaders: request.headers[values: .cookie])
        let caller: Caller
        switch await authentication.authenticate(
            authorization: key.map { "Bearer \($0)" }, method: request.method.rawValue, store: store)
        {
        case .success(let known):
            caller = known
        case .failure(let error):
            if request.method == .get, path != "/ui/events", error.status == 401 {
                let target = path + (request.uri.query.map { "?" + $0 } ?? "")
                return Self.redirect("/ui/login?next=" + Self.encoded(target))
            }
            return problemPage(error.status == 403 ? "Not allowed" : "Sign in first", error.message, error.status)
        }
        if request.method == .post, !Self.sameOrigin(request) { return forbiddenOrigin() }

        let segments = path.split(separator: "/", omittingEmptySubsequences: true).map {
            String($0).removingPercentEncoding ?? String($0)
        }
        switch (request.method, segments.count) {
        case (.get, 2) where segments[1] == "executions":
            return await executionsPage(query, caller: caller)
        case (.get, 2) where segments[1] == "events":
            return events()
        case (.get, 2) where segments[1] == "workflows":
            return await workflowsPage(query, caller: caller)
        case (.get, 3) where segments[1] == "workflows":
            return await workflowPage(segments[2], caller: caller)
        case (.get, 5) where segments[1] == "workflows" && segments[3] == "executions":
            return await executionPage(workflowID: segments[2], executionID: segments[4], caller: caller)
        case (.get, 2) where segments[1] == "schedules":
            return await schedulesPage(caller: caller)
        case (.get, 2) where segments[1] == "dead-letters":
            return await deadLettersPage(replayed: query["replayed"], failure: nil)
        case (.post, 3) where segments[1] == "dead-letters" && segments[2] == "replay":
            let id = await Self.form(request)["id"] ?? ""
            do {
                _ = try await deadLetters.replay(id: id)
                return Self.redirect("/ui/dead-letters?replayed=" + Self.encoded(id))
            } catch {
                // Shown at once rather than through a redirect, so no link can make the page say it.
                return await deadLettersPage(replayed: nil, failure: "could not replay \(id): \(error)")
            }
        default:
            return problemPage("Not found", "There is no console page at \(path).", 404)
        }
    }

    // MARK: - Pages

    private func executionsPage(_ query: [String: String], caller: Caller) async -> Response {
        // `limit` (the API's, 1 to 500) has no field in the form; a link may carry it.
        let filterNames = ["status", "workflow_id", "trigger_type", "started_after", "started_before", "limit"]
        var asked: [(String, String)] = []
        for name in filterNames { if let value = query[name], !value.isEmpty { asked.append((name, value)) } }
        var apiQuery = Dictionary(asked, uniquingKeysWith: { a, _ in a })
        if apiQuery["limit"] == nil { apiQuery["limit"] = "50" }
        if let cursor = query["cursor"], !cursor.isEmpty { apiQuery["cursor"] = cursor }
        let reply = await api("/api/executions", apiQuery, caller: caller)
        let names = await workflowNames(caller: caller)
        var context: [String: JSONValue] = [
            "filters": .object(
                Dictionary(asked.map { ($0.0, JSONValue.string($0.1)) }, uniquingKeysWith: { a, _ in a })),
            "statuses": .array(
                ExecutionStatus.allCases.map {
                    .object(["value": .string($0.rawValue), "selected": .bool(query["status"] == $0.rawValue)])
                }),
            "triggers": .array(
                TriggerType.allCases.map {
                    .object(["value": .string($0.rawValue), "selected": .bool(query["trigger_type"] == $0.rawValue)])
                }),
            "workflows": .array(
                names.sorted { ($0.value, $0.key) < ($1.value, $1.key) }.map {
                    .object([
                        "id": .string($0.key), "name": .string($0.value),
                        "selected": .bool(query["workflow_id"] == $0.key),
                    ])
                }),
            "newest": .string("/ui/executions" + Self.queryString(asked)),
        ]
        if query["cursor"] != nil { context["cursor"] = true }
        if reply.status == 200 {
            let rows = reply.body?["executions"]?.arrayValue ?? []
            context["executions"] = .array(rows.map { Self.executionRow($0, names: names) })
            if let next = reply.body?["next_cursor"]?.stringValue {
                context["older"] = .string("/ui/executions" + Self.queryString(asked + [("cursor", next)]))
            }
        } else {
            context["executions"] = .array([])
            context["problems"] = Self.problems(reply)
        }
        return page("Executions", current: "executions", live: "executions", ConsoleTemplates.executions, context)
    }

    private func executionPage(workflowID: String, executionID: String, caller: Caller) async -> Response {
        let reply = await api(
            "/api/workflows/\(Self.pathEncoded(workflowID))/executions", ["execution_id": executionID, "limit": "1"],
            caller: caller)
        guard reply.status == 200, let execution = reply.body?["executions"]?.arrayValue?.first else {
            let message =
                reply.status == 200
                ? "Execution \(executionID) of workflow \(workflowID) does not exist." : Self.message(reply)
            return problemPage("Execution not found", message, reply.status == 200 ? 404 : reply.status)
        }
        let workflow = await api("/api/workflows/\(Self.pathEncoded(workflowID))", [:], caller: caller)
        let context = ExecutionTimeline.context(
            execution, workflowName: workflow.body?["name"]?.stringValue ?? workflowID)
        let live = execution["status"]?.stringValue == "running" ? "execution:\(executionID)" : ""
        return page("Execution \(executionID)", current: "executions", live: live, ConsoleTemplates.execution, context)
    }

    private func workflowsPage(_ query: [String: String], caller: Caller) async -> Response {
        var apiQuery = ["limit": "100"]
        if let cursor = query["cursor"], !cursor.isEmpty { apiQuery["cursor"] = cursor }
        let reply = await api("/api/workflows", apiQuery, caller: caller)
        guard reply.status == 200 else { return problemPage("Workflows", Self.message(reply), reply.status) }
        let rows: [JSONValue] = (reply.body?["workflows"]?.arrayValue ?? []).map { workflow in
            let id = workflow["id"]?.stringValue ?? ""
            return .object([
                "id": .string(id), "name": workflow["name"] ?? "",
                "href": .string("/ui/workflows/" + Self.pathEncoded(id)),
                "trigger_type": workflow["trigger_type"] ?? "",
                "enabled": .string(workflow["enabled"]?.boolValue == true ? "yes" : "no"),
                "steps": .number(Double(workflow["definition"]?["steps"]?.arrayValue?.count ?? 0)),
                "updated_at": workflow["updated_at"] ?? "",
            ])
        }
        var context: [String: JSONValue] = ["workflows": .array(rows)]
        if let next = reply.body?["next_cursor"]?.stringValue {
            context["older"] = .string("/ui/workflows" + Self.queryString([("cursor", next)]))
        }
        return page("Workflows", current: "workflows", live: "", ConsoleTemplates.workflows, context)
    }

    private func workflowPage(_ id: String, caller: Caller) async -> Response {
        let encoded = Self.pathEncoded(id)
        let reply = await api("/api/workflows/\(encoded)", [:], caller: caller)
        guard reply.status == 200, let workflow = reply.body else {
            return problemPage("Workflow not found", Self.message(reply), reply.status)
        }
        let definition = workflow["definition"] ?? .null
        let steps: [JSONValue] = (definition["steps"]?.arrayValue ?? []).enumerated().map { index, step in
            var config = step["config"]?.objectValue ?? [:]
            let goesTo: String
            if step["type"]?.stringValue == "condition" {
                goesTo = "then → \(config["then"]?.stringValue ?? "?"), else → \(config["else"]?.stringValue ?? "?")"
                config.removeValue(forKey: "then")
                config.removeValue(forKey: "else")
            } else {
                let following = (definition["steps"]?.arrayValue ?? []).dropFirst(index + 1).first?["id"]?.stringValue
                goesTo = step["next"]?.stringValue ?? following ?? "end"
            }
            return .object([
                "id": step["id"] ?? "", "type": step["type"] ?? "", "goes_to": .string(goesTo),
                "config": .string(Self.pretty(.object(config))),
            ])
        }
        let recent = await api("/api/workflows/\(encoded)/executions", ["limit": "10"], caller: caller)
        var context: [String: JSONValue] = [
            "workflow": workflow, "description": .string(workflow["description"]?.stringValue ?? "–"),
            "trigger_config": .string((workflow["trigger_config"] ?? .object([:])).encodedString()),
            "graph": WorkflowGraph(definition: definition).view(), "steps": .array(steps),
            "executions": .array(
                (recent.body?["executions"]?.arrayValue ?? []).map { Self.executionRow($0, names: [:]) }),
            "executions_href": .string("/ui/executions" + Self.queryString([("workflow_id", id)])),
        ]
        let schedule = await api("/api/workflows/\(encoded)/schedule", [:], caller: caller)
        if schedule.status == 200, let body = schedule.body {
            context["schedule"] = .object([
                "cron_expression": body["cron_expression"] ?? "", "timezone": body["timezone"] ?? "",
                "next_run": .string(body["next_run_at"]?.stringValue ?? "not scheduled (disabled)"),
            ])
        }
        let name = workflow["name"]?.stringValue ?? id
        return page(name, current: "workflows", live: "", ConsoleTemplates.workflow, context)
    }

    private func schedulesPage(caller: Caller) async -> Response {
        let reply = await api("/api/workflows", ["limit": "500"], caller: caller)
        guard reply.status == 200 else { return problemPage("Schedules", Self.message(reply), reply.status) }
        var rows: [(next: String, row: JSONValue)] = []
        for workflow in reply.body?["workflows"]?.arrayValue ?? [] {
            guard let id = workflow["id"]?.stringValue else { continue }
            let schedule = await api("/api/workflows/\(Self.pathEncoded(id))/schedule", [:], caller: caller)
            guard schedule.status == 200, let body = schedule.body else { continue }
            let next = body["next_run_at"]?.stringValue
            rows.append(
                (
                    next ?? "~",
                    .object([
                        "workflow_id": .string(id), "name": workflow["name"] ?? "",
                        "href": .string("/ui/workflows/" + Self.pathEncoded(id)),
                        "cron_expression": body["cron_expression"] ?? "", "timezone": body["timezone"] ?? "",
                        "enabled": .string(body["enabled"]?.boolValue == true ? "yes" : "no"),
                        "next_run": .string(next ?? "–"),
                        "last_run": .string(body["last_run_at"]?.stringValue ?? "never"),
                    ])
                ))
        }
        // Soonest first; RFC 3339 UTC times sort as text, and "~" after them all.
        let sorted = rows.sorted { $0.next < $1.next }.map(\.row)
        return page(
            "Schedules", current: "schedules", live: "", ConsoleTemplates.schedules, ["schedules": .array(sorted)])
    }

    private func deadLettersPage(replayed: String?, failure: String?) async -> Response {
        var context: [String: JSONValue] = ["queue": .string(await deadLetters.queueName)]
        if let replayed { context["replayed"] = .string(replayed) }
        if let failure { context["failure"] = .string(failure) }
        do {
            let listing = try await deadLetters.list()
            context["letters"] = .array(listing.letters.map { $0.consoleRow() })
            if listing.more > 0 { context["more"] = .number(Double(listing.more)) }
        } catch {
            context["letters"] = .array([])
            context["failure"] = .string("cannot read the dead-letter queue: \(error)")
        }
        return page("Dead letters", current: "dead-letters", live: "", ConsoleTemplates.deadLetters, context)
    }

    /// `/ui/events`: `event: status` with a `StatusFeed` summary for each status event relayed
    /// while the stream is open; it ends after `streamLifetime` and the browser reconnects.
    private func events() -> Response {
        let feed = self.feed
        let lifetime = streamLifetime
        let body = ResponseBody { writer in
            let (id, stream) = feed.subscribe()
            let ticker = Task {
                var left = lifetime
                while left > .zero {
                    let pause = min(Self.heartbeat, left)
                    try await Task.sleep(for: pause)
                    left -= pause
                    feed.heartbeat(id)
                }
                feed.finish(id)
            }
            defer {
                ticker.cancel()
                feed.finish(id)
            }
            try await writer.write(ByteBuffer(string: "retry: 2000\n: connected\n\n"))
            for await item in stream {
                switch item {
                case .heartbeat: try await writer.write(ByteBuffer(string: ": heartbeat\n\n"))
                case .status(let json): try await writer.write(ByteBuffer(string: "event: status\ndata: \(json)\n\n"))
                }
            }
            try await writer.finish(nil)
        }
        var headers = Self.securityHeaders
        headers[.contentType] = "text/event-stream; charset=utf-8"
        headers[HTTPField.Name("X-Accel-Buffering")!] = "no"
        return Response(status: .ok, headers: headers, body: body)
    }

    private func loginLink(_ request: Request, next: String?) async -> Response {
        let authorization = request.headers[.authorization]
        switch await authentication.authenticate(authorization: authorization, method: "GET", store: store) {
        case .failure(let error):
            return HTTPServer.json(error.response)
        case .success:
            let key =
                authorization.flatMap { header -> String? in
                    let parts = header.split(separator: " ", maxSplits: 1)
                    return parts.count == 2 ? parts[1].trimmingCharacters(in: .whitespaces) : nil
                } ?? ""
            let token = links.issue(for: key)
            let next = ConsoleSession.safeNext(next)
            return HTTPServer.json(
                201,
                [
                    "path": .string("/ui/login" + Self.queryString([("token", token), ("next", next)])),
                    "expires_in_seconds": .number(Double(links.ttl.components.seconds)),
                ])
        }
    }

    // MARK: - Rendering

    private func page(
        _ title: String, current: String, live: String, _ template: MustacheProgram, _ context: [String: JSONValue],
        status: HTTPResponse.Status = .ok
    ) -> Response {
        let content: String
        do {
            content = try template.render(.object(context), limits: Self.limits, escaping: .html)
        } catch {
            return problemPage("Cannot show this page", "\(error)", 500)
        }
        return Self.html(layout(title: title, current: current, live: live, signedIn: true, content: content), status)
    }

    private func layout(title: String, current: String, live: String, signedIn: Bool, content: String) -> String {
        let nav: [JSONValue] = [
            ("executions", "Executions"), ("workflows", "Workflows"), ("schedules", "Schedules"),
            ("dead-letters", "Dead letters"),
        ].map { .object(["href": .string("/ui/\($0.0)"), "label": .string($0.1), "current": .bool($0.0 == current)]) }
        let context: JSONValue = .object([
            "title": .string(title), "live": .string(live), "nav": .array(signedIn ? nav : []),
            "signed_in": .bool(signedIn && authentication.required), "content": .string(content),
        ])
        return (try? ConsoleTemplates.layout.render(context, limits: Self.limits, escaping: .html)) ?? content
    }

    private func loginPage(next: String?, message: String?, _ status: Int) -> Response {
        var context: [String: JSONValue] = ["next": .string(ConsoleSession.safeNext(next))]
        if let message { context["message"] = .string(message) }
        let content = (try? ConsoleTemplates.login.render(.object(context), limits: Self.limits, escaping: .html)) ?? ""
        return Self.html(
            layout(title: "Sign in", current: "", live: "", signedIn: false, content: content),
            HTTPResponse.Status(code: status))
    }

    private func problemPage(_ title: String, _ message: String, _ status: Int) -> Response {
        let content =
            (try? ConsoleTemplates.problem.render(
                .object(["title": .string(title), "message": .string(message)]), limits: Self.limits, escaping: .html))
            ?? ""
        return Self.html(
            layout(title: title, current: "", live: "", signedIn: true, content: content),
            HTTPResponse.Status(code: status))
    }

    private func forbiddenOrigin() -> Response {
        problemPage(
            "Not allowed",
            "This form must be sent from a page of this console (the request's Origin is missing or another site's).",
            403)
    }

    /// Rendered pages may hold large step outputs; each output shown is cut to 64 KB first.
    static let limits = TemplateLimits(maxTemplateBytes: 64 * 1024, maxRenderedBytes: 32 * 1024 * 1024)

    static let securityHeaders: HTTPFields = [
        .contentSecurityPolicy:
            "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        .xContentTypeOptions: "nosniff", HTTPField.Name("Referrer-Policy")!: "no-referrer",
        .cacheControl: "no-store", HTTPField.Name("X-Frame-Options")!: "DENY",
    ]

    static func html(_ text: String, _ status: HTTPResponse.Status = .ok) -> Response {
        var headers = securityHeaders
        headers[.contentType] = "text/html; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func asset(_ text: String, type: String) -> Response {
        var headers = securityHeaders
        headers[.contentType] = type
        headers[.cacheControl] = "max-age=300"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func redirect(_ location: String, cookie: String? = nil) -> Response {
        var headers = securityHeaders
        headers[.location] = location
        if let cookie { headers[.setCookie] = cookie }
        return Response(status: .seeOther, headers: headers)
    }

    // MARK: - Helpers

    private func api(_ path: String, _ query: [String: String], caller: Caller) async -> APIResponse {
        var request = APIRequest(method: "GET", path: path, query: query)
        request.caller = caller
        request.transport = "http"
        return await router.handle(request)
    }

    /// Workflow ids to names, for the filter and the rows (the first 500 workflows).
    private func workflowNames(caller: Caller) async -> [String: String] {
        let reply = await api("/api/workflows", ["limit": "500"], caller: caller)
        var names: [String: String] = [:]
        for workflow in reply.body?["workflows"]?.arrayValue ?? [] {
            if let id = workflow["id"]?.stringValue { names[id] = workflow["name"]?.stringValue ?? id }
        }
        return names
    }

    static func executionRow(_ execution: JSONValue, names: [String: String]) -> JSONValue {
        let id = execution["id"]?.stringValue ?? ""
        let workflowID = execution["workflow_id"]?.stringValue ?? ""
        let started = execution["started_at"]?.stringValue.flatMap(RFC3339.date(from:))
        let completed = execution["completed_at"]?.stringValue.flatMap(RFC3339.date(from:))
        let took = elapsed(execution).map(Self.duration)
        return .object([
            "id": .string(id),
            "href": .string("/ui/workflows/\(pathEncoded(workflowID))/executions/\(pathEncoded(id))"),
            "workflow_id": .string(workflowID), "workflow_name": .string(names[workflowID] ?? workflowID),
            "workflow_href": .string("/ui/workflows/" + pathEncoded(workflowID)),
            "status": execution["status"] ?? "", "triggered_by": execution["triggered_by"] ?? "",
            "started_at": execution["started_at"] ?? "", "duration": .string(took ?? "–"),
            "error": .string(execution["error"]?.stringValue ?? ""),
        ])
    }

    /// A finished execution's time in milliseconds: its times are kept to the second, so no less
    /// than its steps' durations add up to.
    static func elapsed(_ execution: JSONValue) -> Int? {
        guard let started = execution["started_at"]?.stringValue.flatMap(RFC3339.date(from:)),
            let completed = execution["completed_at"]?.stringValue.flatMap(RFC3339.date(from:))
        else { return nil }
        let steps = (execution["execution_log"]?.arrayValue ?? []).reduce(0) {
            $0 + ($1["duration_ms"]?.intValue ?? 0) + ($1["queued_ms"]?.intValue ?? 0)
        }
        return max(Int(completed.timeIntervalSince(started) * 1000), steps)
    }

    static func problems(_ reply: APIResponse) -> JSONValue {
        if let details = reply.body?["details"]?.arrayValue, !details.isEmpty {
            return .array(details.map { .object(["field": $0["field"] ?? "", "message": $0["message"] ?? ""]) })
        }
        return .array([.object(["field": "error", "message": .string(message(reply))])])
    }

    static func message(_ reply: APIResponse) -> String {
        reply.body?["message"]?.stringValue ?? "the API answered \(reply.status)"
    }

    static func offsetMs(_ step: JSONValue, from started: Date?) -> Double {
        guard let started, let at = step["started_at"]?.stringValue.flatMap(RFC3339.date(from:)) else { return 0 }
        return max(0, at.timeIntervalSince(started) * 1000)
    }

    /// `840 ms`, `2.4 s`, `3 min 5 s`.
    static func duration(_ ms: Int) -> String {
        switch ms {
        case ..<1000: return "\(max(0, ms)) ms"
        case ..<60_000: return String(format: "%.1f s", Double(ms) / 1000)
        default: return "\(ms / 60_000) min \(ms % 60_000 / 1000) s"
        }
    }

    /// Indented JSON, cut at 64 KB.
    static func pretty(_ value: JSONValue) -> String {
        if case .string(let text) = value { return text.count > 65_536 ? String(text.prefix(65_536)) + "…" : text }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let text = (try? encoder.encode(value)).map { String(decoding: $0, as: UTF8.self) } ?? value.encodedString()
        return text.count > 65_536 ? String(text.prefix(65_536)) + "…" : text
    }

    static func query(_ request: Request) -> [String: String] {
        var query: [String: String] = [:]
        for (key, value) in request.uri.queryParameters { query[String(key)] = String(value) }
        return query
    }

    private static let unreserved = CharacterSet(
        charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~")

    static func encoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? ""
    }

    static func pathEncoded(_ text: String) -> String { encoded(text) }

    static func queryString(_ pairs: [(String, String)]) -> String {
        pairs.isEmpty ? "" : "?" + pairs.map { "\(encoded($0.0))=\(encoded($0.1))" }.joined(separator: "&")
    }

    /// A form body (`application/x-www-form-urlencoded`), up to `maxFormBytes`.
    static func form(_ request: Request) async -> [String: String] {
        var request = request
        guard let buffer = try? await request.collectBody(upTo: maxFormBytes) else { return [:] }
        return parseForm(String(buffer: buffer))
    }

    static func parseForm(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in text.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map {
                $0.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? ""
            }
            if let name = parts.first, fields[name] == nil { fields[name] = parts.count > 1 ? parts[1] : "" }
        }
        return fields
    }

    /// Whether a `POST` comes from a page of this console: its `Origin` names the host it was
    /// sent to. Browsers send `Origin` with every form `POST`.
    static func sameOrigin(_ request: Request) -> Bool {
        guard let origin = request.headers[.origin], let host = request.head.authority else { return false }
        return origin == "http://\(host)" || origin == "https://\(host)"
    }

    /// Behind a proxy that ends TLS, the cookie gets `Secure`.
    static func isSecure(_ request: Request) -> Bool {
        request.head.scheme == "https" || request.headers[HTTPField.Name("X-Forwarded-Proto")!] == "https"
    }
}
