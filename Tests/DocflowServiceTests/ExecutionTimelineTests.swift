import DocflowCore
import Testing

@testable import DocflowService

/// The web console's execution page from the execution's JSON: a waterfall of the steps, and
/// every earlier run of a retried execution with its failure.
@Suite("Execution timeline")
struct ExecutionTimelineTests {
    static func step(_ id: String, _ status: String, ms: Int?, queued: Int? = nil, error: String? = nil) -> JSONValue {
        var fields: [String: JSONValue] = [
            "step_id": .string(id), "type": "transform", "status": .string(status), "attempts": 1,
            "started_at": "2026-12-04T10:00:00Z", "duration_ms": ms.map { .number(Double($0)) } ?? .null,
            "output": error == nil ? ["ok": true] : .null, "error": error.map(JSONValue.string) ?? .null,
        ]
        if let queued { fields["queued_ms"] = .number(Double(queued)) }
        return .object(fields)
    }

    static let retried: JSONValue = [
        "id": "e-1", "workflow_id": "w-1", "status": "completed", "triggered_by": "manual",
        "started_at": "2026-12-04T10:00:00Z", "completed_at": "2026-12-04T10:00:05Z", "error": .null,
        "trigger_data": ["file": "<march>.csv"], "run": 2, "rerun_of": .null,
        "execution_log": [step("load", "completed", ms: 1000), step("save", "completed", ms: 3000, queued: 1000)],
        "previous_runs": [
            [
                "run": 1, "status": "failed", "error": "step save failed: disk full",
                "started_at": "2026-12-04T09:00:00Z", "completed_at": "2026-12-04T09:00:01Z",
                "retried_at": "2026-12-04T10:00:00Z",
                "execution_log": [
                    step("load", "completed", ms: 10), step("save", "failed", ms: 5, error: "disk full"),
                ],
            ]
        ],
    ]

    @Test func stepsAreAWaterfallOnOneScale() {
        let steps = ExecutionTimeline.steps(Self.retried["execution_log"]!.arrayValue!, of: Self.retried)
        // 5 s in all: load ran 0-1 s, save waited 1-2 s and ran 2-5 s.
        #expect(steps[0]["bar"] == ["qx": 0, "qw": 0, "x": 0, "w": 80])
        #expect(steps[1]["bar"] == ["qx": 80, "qw": 80, "x": 160, "w": 240])
        #expect(steps[1]["queued"] == "1.0 s")
        #expect(steps[1]["duration"] == "3.0 s")
        #expect(steps[0]["queued"] == nil)
    }

    @Test func earlierRunsKeepTheirFailure() throws {
        let context = ExecutionTimeline.context(Self.retried, workflowName: "Imports")
        #expect(context["run"] == 2)
        let runs = try #require(context["previous_runs"]?.arrayValue)
        #expect(runs.count == 1)
        #expect(runs[0]["error"] == "step save failed: disk full")
        #expect(runs[0]["steps"]?.arrayValue?.last?["error"] == "disk full")

        let html = try ConsoleTemplates.execution.render(.object(context), limits: Console.limits, escaping: .html)
        #expect(html.contains("Timeline of run 2"))
        #expect(html.contains("Run 1: failed, retried at"))
        #expect(html.contains(#"<p class="error">disk full</p>"#))
        #expect(html.contains("&lt;march&gt;.csv"))
        #expect(!html.contains("<march>"))
    }

    @Test func aFirstRunShowsNoRunNumberAndARerunLinksToItsOrigin() throws {
        var fields = Self.retried.objectValue!
        fields["run"] = 1
        fields["previous_runs"] = []
        fields["rerun_of"] = "e-0"
        let context = ExecutionTimeline.context(.object(fields), workflowName: "Imports")
        #expect(context["run"] == nil)
        let html = try ConsoleTemplates.execution.render(.object(context), limits: Console.limits, escaping: .html)
        #expect(html.contains(#"a rerun of <a class="mono" href="/ui/workflows/w-1/executions/e-0">e-0</a>"#))
        #expect(!html.contains("Run 1"))
    }

    @Test func anExecutionWithoutHistoryFieldsStillRenders() throws {
        var fields = Self.retried.objectValue!
        for key in ["run", "previous_runs", "rerun_of"] { fields.removeValue(forKey: key) }
        let context = ExecutionTimeline.context(.object(fields), workflowName: "Imports")
        let html = try ConsoleTemplates.execution.render(.object(context), limits: Console.limits, escaping: .html)
        #expect(html.contains(#"data-step="save""#))
        #expect(!html.contains("previous-run"))
    }
}
