import DocflowCore
import DocflowEngine
import Foundation
import Logging
import Testing

@testable import DocflowService

@Suite("Schedules")
struct ScheduleTests {
    @Test func scheduleRoutesValidateAndComputeTheNextRun() async throws {
        let server = try await TestServer.start()
        let workflow = try await server.createWorkflow([transform("t", ".")])
        let missing = try await server.call("GET", "/api/workflows/\(workflow)/schedule")
        #expect(missing.status == 404)

        let bad = try await server.call(
            "POST", "/api/workflows/\(workflow)/schedule",
            body: ["cron_expression": "61 * * * *", "timezone": "Mars/Base"])
        #expect(bad.status == 400)
        let fields = bad.error?["details"]?.arrayValue?.compactMap { $0["field"]?.stringValue } ?? []
        #expect(fields.contains("cron_expression"))
        #expect(fields.contains("timezone"))

        let created = try await server.call(
            "POST", "/api/workflows/\(workflow)/schedule",
            body: ["cron_expression": "0 9 * * 1-5", "timezone": "America/New_York"])
        #expect(created.status == 201)
        #expect(created.body?["workflow_id"]?.stringValue == workflow)
        #expect(created.body?["enabled"] == true)
        let next = try #require(created.body?["next_run_at"]?.stringValue.flatMap(RFC3339.date(from:)))
        #expect(next > Date())
        // 09:00 in New York is 13:00 or 14:00 UTC.
        let hour = Calendar(identifier: .gregorian).dateComponents(in: TimeZone(identifier: "UTC")!, from: next).hour
        #expect(hour == 13 || hour == 14)

        let again = try await server.call(
            "POST", "/api/workflows/\(workflow)/schedule", body: ["cron_expression": "* * * * *"])
        #expect(again.status == 409)

        let disabled = try await server.call("PUT", "/api/workflows/\(workflow)/schedule", body: ["enabled": false])
        #expect(disabled.status == 200)
        #expect(disabled.body?["enabled"] == false)
        #expect(disabled.body?["next_run_at"] == .null)
        #expect(disabled.body?["cron_expression"] == "0 9 * * 1-5")

        let deleted = try await server.call("DELETE", "/api/workflows/\(workflow)/schedule")
        #expect(deleted.status == 204)
        let onMissingWorkflow = try await server.call(
            "POST", "/api/workflows/\(UUID().uuidString.lowercased())/schedule", body: ["cron_expression": "* * * * *"])
        #expect(onMissingWorkflow.status == 404)
        try await server.stop()
    }

    @Test func aScheduleGivenInTriggerConfigIsCreatedWithTheWorkflow() async throws {
        let server = try await TestServer.start()
        let workflow = try await server.createWorkflow(
            [transform("t", ".")],
            trigger: "scheduled")
        #expect(try await server.call("GET", "/api/workflows/\(workflow)/schedule").status == 404)
        let reply = try await server.call(
            "POST", "/api/workflows",
            body: [
                "name": "nightly", "trigger_type": "scheduled",
                "trigger_config": ["cron_expression": "@daily", "timezone": "Europe/London"],
                "definition": ["steps": [transform("t", ".")]],
            ])
        let id = try #require(reply.body?["id"]?.stringValue)
        let schedule = try await server.call("GET", "/api/workflows/\(id)/schedule")
        #expect(schedule.body?["cron_expression"] == "@daily")
        #expect(schedule.body?["timezone"] == "Europe/London")
        let bad = try await server.call(
            "POST", "/api/workflows",
            body: [
                "name": "broken", "trigger_type": "scheduled", "trigger_config": ["cron_expression": "every day"],
                "definition": ["steps": [transform("t", ".")]],
            ])
        #expect(bad.status == 400)
        #expect(bad.error?["details"]?.arrayValue?.first?["field"] == "trigger_config.cron_expression")
        try await server.stop()
    }

    @Test func missedSlotsFireOnceAndNoSlotFiresTwice() async throws {
        let server = try await TestServer.start()
        let workflow = try await server.createWorkflow([transform("t", ".trigger")])
        let created = try await server.call(
            "POST", "/api/workflows/\(workflow)/schedule", body: ["cron_expression": "0 * * * *"])
        let firstSlot = try #require(created.body?["next_run_at"]?.stringValue.flatMap(RFC3339.date(from:)))
        let scheduler = Scheduler(
            store: server.server.store, engine: server.server.engine, logger: Logger(label: "test"), didCommit: {})

        // Three days of downtime: 72 hourly slots missed, one execution.
        let later = firstSlot.addingTimeInterval(3 * 86400 + 120)
        try await scheduler.fireDue(now: later)
        try await scheduler.fireDue(now: later)
        async let a: Void = scheduler.fireDue(now: later)
        async let b: Void = scheduler.fireDue(now: later)
        _ = try await (a, b)

        let executions = try await server.call("GET", "/api/workflows/\(workflow)/executions")
        let list = executions.body?["executions"]?.arrayValue ?? []
        #expect(list.count == 1)
        #expect(list.first?["triggered_by"] == "scheduled")
        #expect(list.first?["trigger_data"]?["scheduled_at"]?.stringValue == RFC3339.string(from: firstSlot))
        let schedule = try await server.call("GET", "/api/workflows/\(workflow)/schedule")
        let next = try #require(schedule.body?["next_run_at"]?.stringValue.flatMap(RFC3339.date(from:)))
        #expect(next > later)
        #expect(next.timeIntervalSince(later) <= 3600)
        #expect(schedule.body?["last_run_at"]?.stringValue == RFC3339.string(from: firstSlot))
        try await server.stop()
    }
}

/// Real time: a `* * * * *` schedule, one minute or two.
@Suite("Schedules in real time")
struct ScheduleRealTimeTests {
    @Test func everyMinuteScheduleFiresOnceAndStopsWhenDisabled() async throws {
        let server = try await TestServer.start()
        let workflow = try await server.createWorkflow([transform("t", ".trigger.scheduled_at")])
        let created = try await server.call(
            "POST", "/api/workflows/\(workflow)/schedule", body: ["cron_expression": "* * * * *"])
        #expect(created.status == 201)

        var executions: [JSONValue] = []
        let deadline = ContinuousClock.now.advanced(by: .seconds(75))
        while executions.isEmpty, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(200))
            executions =
                try await server.call("GET", "/api/workflows/\(workflow)/executions").body?["executions"]?
                .arrayValue ?? []
        }
        #expect(executions.count == 1)
        #expect(executions.first?["triggered_by"] == "scheduled")
        let disabled = try await server.call("PUT", "/api/workflows/\(workflow)/schedule", body: ["enabled": false])
        #expect(disabled.status == 200)

        // Past the next minute boundary: nothing more fires.
        let now = Date().timeIntervalSince1970
        let nextMinute = (now / 60).rounded(.down) * 60 + 60
        try await Task.sleep(for: .seconds(nextMinute - now + 3))
        let after = try await server.call("GET", "/api/workflows/\(workflow)/executions")
        #expect(after.body?["executions"]?.arrayValue?.count == 1)
        try await server.stop()
    }
}
