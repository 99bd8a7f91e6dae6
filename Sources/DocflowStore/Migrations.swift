import DocflowCore
import GRDB

/// The schema, as an append-only list: never edit a migration that has shipped; add one.
enum Migrations {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()

        migrator.registerMigration("v1: workflows, executions, triggers, integrations, messages") { db in
            try db.create(table: "workflows") { t in
                t.primaryKey("id", .text)
                t.column("name", .text).notNull()
                t.column("description", .text)
                t.column("definition", .text).notNull()
                t.column("trigger_type", .text).notNull()
                t.column("trigger_config", .text).notNull()
                // The event name of event-triggered workflows, for the in-memory trigger index.
                t.column("trigger_event", .text)
                t.column("enabled", .boolean).notNull()
                t.column("created_at", .text).notNull()
                t.column("updated_at", .text).notNull()
            }
            try db.create(index: "workflows_by_created", on: "workflows", columns: ["created_at"])

            try db.create(table: "schedules") { t in
                t.primaryKey("workflow_id", .text).references("workflows", onDelete: .cascade)
                t.column("cron_expression", .text).notNull()
                t.column("timezone", .text).notNull()
                t.column("enabled", .boolean).notNull()
                t.column("next_run_at", .text)
                t.column("last_run_at", .text)
                t.column("created_at", .text).notNull()
                t.column("updated_at", .text).notNull()
            }
            try db.create(index: "schedules_due", on: "schedules", columns: ["enabled", "next_run_at"])

            try db.create(table: "integrations") { t in
                t.primaryKey("id", .text)
                t.column("workflow_id", .text)
                t.column("name", .text).notNull()
                t.column("integration_type", .text).notNull()
                t.column("config", .text).notNull()
                t.column("created_at", .text).notNull()
                t.column("updated_at", .text).notNull()
            }
            try db.create(index: "integrations_by_workflow", on: "integrations", columns: ["workflow_id"])

            try db.create(table: "executions") { t in
                t.primaryKey("id", .text)
                t.column("workflow_id", .text).notNull().references("workflows", onDelete: .cascade)
                t.column("workflow_name", .text).notNull()
                t.column("status", .text).notNull()
                t.column("triggered_by", .text).notNull()
                t.column("trigger_data", .text).notNull()
                // The definition the execution started with: later edits do not change a run.
                t.column("definition", .text).notNull()
                t.column("started_at", .text).notNull()
                t.column("completed_at", .text)
                t.column("error", .text)
            }
            try db.create(
                index: "executions_by_workflow", on: "executions", columns: ["workflow_id", "started_at"])
            try db.execute(
                sql: "CREATE INDEX executions_running ON executions(status) WHERE status = 'running'")

            try db.create(table: "execution_steps") { t in
                t.column("execution_id", .text).notNull().references("executions", onDelete: .cascade)
                t.column("step_id", .text).notNull()
                t.column("type", .text).notNull()
                t.column("status", .text).notNull()
                t.column("attempts", .integer).notNull().defaults(to: 0)
                t.column("started_at", .text)
                t.column("completed_at", .text)
                t.column("duration_ms", .integer)
                t.column("output", .text)
                t.column("error", .text)
                // Where control went next: a condition's branch survives a restart with it.
                t.column("next_step", .text)
                // The entry's place in the execution log.
                t.column("seq", .integer).notNull()
                t.primaryKey(["execution_id", "step_id"])
            }

            // One row per (workflow, cause): an event id or a schedule slot starts a workflow once.
            try db.create(table: "trigger_claims") { t in
                t.column("workflow_id", .text).notNull()
                t.column("trigger_key", .text).notNull()
                t.column("execution_id", .text).notNull()
                t.column("claimed_at", .text).notNull()
                t.primaryKey(["workflow_id", "trigger_key"])
            }

            // Replies to mutating API requests by message_id, for 24 hours of idempotency.
            try db.create(table: "processed_messages") { t in
                t.primaryKey("message_id", .text)
                t.column("reply", .blob).notNull()
                t.column("created_at", .double).notNull()
            }
            try db.create(index: "processed_messages_by_age", on: "processed_messages", columns: ["created_at"])

            // Status events committed with the change they describe, published after commit.
            try db.create(table: "outbox") { t in
                t.autoIncrementedPrimaryKey("seq")
                t.column("exchange", .text).notNull()
                t.column("routing_key", .text).notNull()
                t.column("message_id", .text).notNull()
                t.column("headers", .text).notNull()
                t.column("body", .blob).notNull()
                t.column("created_at", .double).notNull()
            }

            try db.create(table: "health_probe") { t in
                t.column("x", .integer)
            }
        }
        migrator.registerMigration("v2: extraction schemas") { db in
            try db.create(table: "extraction_schemas") { t in
                t.primaryKey("id", .text)
                t.column("name", .text).notNull()
                t.column("description", .text)
                t.column("fields", .text).notNull()
                t.column("created_at", .text).notNull()
                t.column("updated_at", .text).notNull()
            }
        }
        migrator.registerMigration("v3: outbox batches") { db in
            // One row per committing transaction instead of one per message.
            try db.create(table: "outbox_batches") { t in
                t.autoIncrementedPrimaryKey("seq")
                t.column("messages", .blob).notNull()
                t.column("count", .integer).notNull()
            }
            let rows = try Row.fetchAll(
                db, sql: "SELECT exchange, routing_key, message_id, headers, body, created_at FROM outbox ORDER BY seq")
            let messages = rows.map { row in
                let headers = (try? JSONValue.parse(row["headers"] as String))?.objectValue ?? [:]
                return OutboxCoding.legacyMessage(
                    routingKey: row["routing_key"], headers: headers.compactMapValues(\.stringValue),
                    messageID: row["message_id"], body: row["body"], createdAt: row["created_at"])
            }
            try Outbox.append(db, messages)
            try db.drop(table: "outbox")
        }
        migrator.registerMigration("v4: resumption counts, clean-shutdown marker") { db in
            // How many times a `running` execution was resumed since it last ran in a process that
            // stopped gracefully: past a limit, the crash-loop breaker fails it instead.
            try db.execute(sql: "ALTER TABLE executions ADD COLUMN resumptions INTEGER NOT NULL DEFAULT 0")
            // A row while the last process to stop stopped gracefully; cleared at start.
            try db.execute(
                sql: "CREATE TABLE clean_shutdown (id INTEGER PRIMARY KEY CHECK (id = 1), stopped_at TEXT NOT NULL)")
        }
        migrator.registerMigration("v5: parked status events") { db in
            // Status events the broker refused for good, kept for an operator instead of blocking
            // the ones after them.
            try db.execute(
                sql: """
                    CREATE TABLE outbox_parked (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        message_id TEXT NOT NULL,
                        event TEXT NOT NULL,
                        workflow_id TEXT NOT NULL,
                        execution_id TEXT,
                        body BLOB NOT NULL,
                        reason TEXT NOT NULL,
                        parked_at TEXT NOT NULL
                    )
                    """)
        }
        migrator.registerMigration("v6: API keys") { db in
            // Only the SHA-256 of a key's secret is kept: the key itself is shown once, at creation.
            try db.execute(
                sql: """
                    CREATE TABLE api_keys (
                        id TEXT PRIMARY KEY,
                        name TEXT NOT NULL,
                        scope TEXT NOT NULL CHECK (scope IN ('read', 'write')),
                        secret_sha256 BLOB NOT NULL,
                        created_at TEXT NOT NULL,
                        expires_at TEXT,
                        revoked_at TEXT
                    )
                    """)
            // One live key per name, so a name says which key acted.
            try db.execute(sql: "CREATE UNIQUE INDEX api_keys_live_name ON api_keys (name) WHERE revoked_at IS NULL")
        }
        migrator.registerMigration("v7: audit log") { db in
            // Who changed what, and when: one row per committed change, in its transaction.
            try db.execute(
                sql: """
                    CREATE TABLE audit_log (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        at TEXT NOT NULL,
                        actor_kind TEXT NOT NULL,
                        actor TEXT NOT NULL,
                        action TEXT NOT NULL,
                        resource_type TEXT NOT NULL,
                        resource_id TEXT,
                        request_id TEXT,
                        transport TEXT NOT NULL
                    )
                    """)
            try db.execute(sql: "CREATE INDEX audit_log_resource ON audit_log (resource_type, resource_id, id)")
            try db.execute(sql: "CREATE INDEX audit_log_actor ON audit_log (actor, id)")
        }
        migrator.registerMigration("v8: webhook signatures seen") { db in
            // A signed webhook request is accepted once: a hash of its signature per workflow, with
            // the execution it started, until its timestamp leaves the window.
            try db.execute(
                sql: """
                    CREATE TABLE webhook_signatures_seen (
                        workflow_id TEXT NOT NULL,
                        digest BLOB NOT NULL,
                        execution_id TEXT NOT NULL,
                        signed_at INTEGER NOT NULL,
                        PRIMARY KEY (workflow_id, digest)
                    )
                    """)
            try db.execute(sql: "CREATE INDEX webhook_signatures_seen_by_age ON webhook_signatures_seen (signed_at)")
        }
        migrator.registerMigration("v9: time a worker's task waited") { db in
            // Steps run by a `docflow worker`: the queue wait, apart from the run time in duration_ms.
            try db.execute(sql: "ALTER TABLE execution_steps ADD COLUMN queued_ms INTEGER")
        }
        migrator.registerMigration("v10: execution search indexes") { db in
            // Lists page by keyset, newest first on (started_at, id): each index is the equality
            // filters then both, so a page is one index range read in order whatever the table's
            // size, never sorted. Status and trigger type have four values each: rather than an
            // index per combination (each one written on every start, those with status again on
            // every finish), the two indexes holding both serve a filter on one of them as a merge
            // of one range per value of the other (ExecutionSearch). executions_by_workflow_start
            // replaces executions_by_workflow, which lacked id.
            try db.execute(sql: "CREATE INDEX executions_by_start ON executions (started_at, id)")
            try db.execute(
                sql: "CREATE INDEX executions_by_status_trigger ON executions (status, triggered_by, started_at, id)")
            try db.execute(sql: "DROP INDEX executions_by_workflow")
            try db.execute(
                sql: "CREATE INDEX executions_by_workflow_start ON executions (workflow_id, started_at, id)")
            try db.execute(
                sql: """
                    CREATE INDEX executions_by_workflow_status_trigger
                    ON executions (workflow_id, status, triggered_by, started_at, id)
                    """)
            // The workflows list pages oldest first on (created_at, id).
            try db.execute(sql: "DROP INDEX workflows_by_created")
            try db.execute(sql: "CREATE INDEX workflows_by_created_id ON workflows (created_at, id)")
        }
        migrator.registerMigration("v11: retention") { db in
            // The janitor prunes by age through these, in small batches, at any history size (v10
            // made executions_by_start already).
            try db.execute(sql: "CREATE INDEX IF NOT EXISTS executions_by_start ON executions (started_at, id)")
            try db.execute(sql: "CREATE INDEX IF NOT EXISTS trigger_claims_by_age ON trigger_claims (claimed_at)")
        }
        migrator.registerMigration("v12: execution runs, reruns") { db in
            // A retry keeps the run it ends: its outcome and its step rows, as they were, in the
            // transaction that reopens the execution. Both go with their execution (cascade), so
            // retention prunes them with it.
            try db.execute(
                sql: """
                    CREATE TABLE execution_runs (
                        execution_id TEXT NOT NULL REFERENCES executions (id) ON DELETE CASCADE,
                        run INTEGER NOT NULL,
                        status TEXT NOT NULL,
                        error TEXT,
                        started_at TEXT NOT NULL,
                        completed_at TEXT,
                        retried_at TEXT NOT NULL,
                        PRIMARY KEY (execution_id, run)
                    ) WITHOUT ROWID
                    """)
            try db.execute(
                sql: """
                    CREATE TABLE execution_run_steps (
                        execution_id TEXT NOT NULL,
                        run INTEGER NOT NULL,
                        seq INTEGER NOT NULL,
                        step_id TEXT NOT NULL,
                        type TEXT NOT NULL,
                        status TEXT NOT NULL,
                        attempts INTEGER NOT NULL,
                        started_at TEXT,
                        completed_at TEXT,
                        duration_ms INTEGER,
                        queued_ms INTEGER,
                        output TEXT,
                        error TEXT,
                        next_step TEXT,
                        PRIMARY KEY (execution_id, run, seq),
                        FOREIGN KEY (execution_id, run) REFERENCES execution_runs (execution_id, run) ON DELETE CASCADE
                    )
                    """)
            // The execution a rerun started from; not a foreign key: the original may be pruned first.
            try db.execute(sql: "ALTER TABLE executions ADD COLUMN rerun_of TEXT")
        }
        return migrator
    }
}
