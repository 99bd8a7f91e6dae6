import DocflowCore

/// The console's pages as Mustache templates, rendered with `MustacheEscaping.html`: every
/// `{{value}}` is escaped. The one triple mustache, the layout's `{{{content}}}`, takes a page
/// these templates rendered, never a value from a request or the database.
enum ConsoleTemplates {
    static let layout = program(
        """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} · docflow</title>
        <link rel="stylesheet" href="/ui/assets/console.css">
        <script src="/ui/assets/console.js" defer></script>
        </head>
        <body data-live="{{live}}">
        <header>
        <span class="brand">docflow</span>
        <nav>{{#nav}}<a href="{{href}}"{{#current}} class="current"{{/current}}>{{label}}</a>{{/nav}}</nav>
        {{#signed_in}}<form method="post" action="/ui/logout"><button type="submit">Sign out</button></form>{{/signed_in}}
        </header>
        <main>
        {{{content}}}
        </main>
        </body>
        </html>

        """)

    static let login = program(
        """
        <div class="login">
        <h1>Sign in to docflow</h1>
        {{#message}}<p class="notice bad" id="login-error">{{message}}</p>{{/message}}
        <form method="post" action="/ui/login">
        <label for="key">API key</label>
        <input id="key" name="key" type="password" autocomplete="current-password" placeholder="dfk_…" required autofocus>
        <input type="hidden" name="next" value="{{next}}">
        <button class="primary" type="submit">Sign in</button>
        </form>
        <p class="muted">An operator makes a key with <code>docflow keys create --name NAME --scope read</code>
        (<code>write</code> to replay dead letters). The key is kept in a cookie only this console reads.</p>
        </div>

        """)

    static let executions = program(
        """
        <h1>Executions</h1>
        <form class="filters" method="get" action="/ui/executions" id="filters">
        <label>Status<select name="status"><option value="">any</option>{{#statuses}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{value}}</option>{{/statuses}}</select></label>
        <label>Workflow<select name="workflow_id"><option value="">any</option>{{#workflows}}<option value="{{id}}"{{#selected}} selected{{/selected}}>{{name}}</option>{{/workflows}}</select></label>
        <label>Trigger<select name="trigger_type"><option value="">any</option>{{#triggers}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{value}}</option>{{/triggers}}</select></label>
        <label>Started after<input name="started_after" value="{{filters.started_after}}" placeholder="2026-12-04T10:00:00Z" size="22"></label>
        <label>Started before<input name="started_before" value="{{filters.started_before}}" placeholder="2026-12-04T11:00:00Z" size="22"></label>
        <button class="primary" type="submit">Search</button>
        <a href="/ui/executions">Clear</a>
        </form>
        {{#problems}}<p class="notice bad">{{field}}: {{message}}</p>{{/problems}}
        <p class="notice" id="new-executions" hidden><span>0</span> new executions started since this page loaded. <a href="{{newest}}">Show the newest</a></p>
        <table id="executions">
        <thead><tr><th>Execution</th><th>Workflow</th><th>Status</th><th>Trigger</th><th>Started</th><th>Duration</th><th>Error</th></tr></thead>
        <tbody>
        {{#executions}}<tr data-execution="{{id}}">
        <td class="mono"><a href="{{href}}">{{id}}</a></td>
        <td><a href="{{workflow_href}}">{{workflow_name}}</a></td>
        <td class="status {{status}}">{{status}}</td>
        <td>{{triggered_by}}</td>
        <td class="mono">{{started_at}}</td>
        <td>{{duration}}</td>
        <td class="error">{{error}}</td>
        </tr>
        {{/executions}}
        </tbody>
        </table>
        {{^executions}}<p class="muted" id="no-executions">No executions match.</p>{{/executions}}
        <div class="pager">{{#cursor}}<a href="{{newest}}">Newest</a>{{/cursor}}{{#older}}<a href="{{older}}" id="older">Older →</a>{{/older}}</div>

        """)

    /// One step of a run, in the execution's timeline and in each earlier run's.
    private static let step = """
        {{#steps}}<section class="step {{status}}" data-step="{{step_id}}">
        <h3><span class="mono">{{step_id}}</span> <span class="muted">{{type}}</span> <span class="status {{status}}">{{status}}</span></h3>
        <svg class="bar" width="400" height="10" viewBox="0 0 400 10" aria-hidden="true"><rect class="track" x="0" y="0" width="400" height="10"/><rect class="queued" x="{{bar.qx}}" y="0" width="{{bar.qw}}" height="10"/><rect class="ran" x="{{bar.x}}" y="0" width="{{bar.w}}" height="10"/></svg>
        <div>attempts {{attempts}} · ran {{duration}}{{#queued}} · queued {{queued}}{{/queued}} · started <span class="mono">{{started_at}}</span></div>
        {{#has_error}}<p class="error">{{error}}</p>{{/has_error}}
        {{#has_output}}<details{{#open}} open{{/open}}><summary>Output</summary><pre>{{output}}</pre></details>{{/has_output}}
        </section>
        {{/steps}}
        """

    static let execution = program(
        """
        <p><a href="/ui/executions">← Executions</a></p>
        <h1>Execution <span class="mono">{{execution.id}}</span></h1>
        <dl class="facts">
        <dt>Workflow</dt><dd><a href="{{workflow_href}}">{{workflow_name}}</a> <span class="muted mono">{{execution.workflow_id}}</span></dd>
        <dt>Status</dt><dd class="status {{execution.status}}" id="execution-status">{{execution.status}}</dd>
        <dt>Triggered by</dt><dd>{{execution.triggered_by}}{{#rerun_of}}, a rerun of <a class="mono" href="{{href}}">{{id}}</a>{{/rerun_of}}</dd>
        {{#run}}<dt>Run</dt><dd>{{run}} (earlier runs below)</dd>{{/run}}
        <dt>Started</dt><dd class="mono">{{execution.started_at}}</dd>
        <dt>Completed</dt><dd class="mono">{{completed_at}}</dd>
        <dt>Duration</dt><dd>{{duration}}</dd>
        {{#has_error}}<dt>Error</dt><dd class="error" id="execution-error">{{error}}</dd>{{/has_error}}
        </dl>
        <h2>Timeline{{#run}} of run {{run}}{{/run}}</h2>
        \(step)
        {{^steps}}<p class="muted">No step has run yet.</p>{{/steps}}
        {{#previous_runs}}<h2 class="previous-run">Run {{run}}: {{status}}, retried at <span class="mono">{{retried_at}}</span></h2>
        {{#has_error}}<p class="error">{{error}}</p>{{/has_error}}
        \(step)
        {{/previous_runs}}
        <h2>Trigger data</h2>
        <pre>{{trigger_data}}</pre>

        """)

    static let workflows = program(
        """
        <h1>Workflows</h1>
        <table id="workflows">
        <thead><tr><th>Name</th><th>Id</th><th>Trigger</th><th>Enabled</th><th>Steps</th><th>Updated</th></tr></thead>
        <tbody>
        {{#workflows}}<tr data-workflow="{{id}}"><td><a href="{{href}}">{{name}}</a></td><td class="mono">{{id}}</td><td>{{trigger_type}}</td><td>{{enabled}}</td><td>{{steps}}</td><td class="mono">{{updated_at}}</td></tr>
        {{/workflows}}
        </tbody>
        </table>
        {{^workflows}}<p class="muted">No workflows yet.</p>{{/workflows}}
        <div class="pager">{{#older}}<a href="{{older}}">More →</a>{{/older}}</div>

        """)

    static let workflow = program(
        """
        <p><a href="/ui/workflows">← Workflows</a></p>
        <h1>{{workflow.name}}</h1>
        <dl class="facts">
        <dt>Id</dt><dd class="mono">{{workflow.id}}</dd>
        <dt>Description</dt><dd>{{description}}</dd>
        <dt>Trigger</dt><dd>{{workflow.trigger_type}} <span class="mono">{{trigger_config}}</span></dd>
        <dt>Enabled</dt><dd>{{workflow.enabled}}</dd>
        {{#schedule}}<dt>Schedule</dt><dd><span class="mono">{{cron_expression}}</span> ({{timezone}}), next run <span class="mono">{{next_run}}</span></dd>{{/schedule}}
        <dt>Executions</dt><dd><a href="{{executions_href}}">all executions of this workflow</a></dd>
        </dl>
        <h2>Definition</h2>
        {{#graph}}<svg class="graph" id="graph" width="{{width}}" height="{{height}}" viewBox="0 0 {{width}} {{height}}" role="img" aria-label="steps and branches">
        <defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#7d8799"/></marker></defs>
        {{#edges}}<path class="edge {{kind}}" d="{{d}}" marker-end="url(#arrow)"/><text class="edge-label" x="{{lx}}" y="{{ly}}">{{label}}</text>
        {{/edges}}
        {{#nodes}}<g class="node {{type}} {{status}}" data-step="{{id}}"><title>{{id}} ({{type}})</title><rect x="{{x}}" y="{{y}}" width="{{w}}" height="{{h}}" rx="6"/><text x="{{tx}}" y="{{ty}}" text-anchor="middle">{{label}}</text><text class="type" x="{{tx}}" y="{{sy}}" text-anchor="middle">{{type}}</text></g>
        {{/nodes}}
        </svg>{{/graph}}
        <h2>Steps</h2>
        <table id="steps">
        <thead><tr><th>Step</th><th>Type</th><th>Goes to</th><th>Config</th></tr></thead>
        <tbody>
        {{#steps}}<tr><td class="mono">{{id}}</td><td>{{type}}</td><td class="mono">{{goes_to}}</td><td><pre>{{config}}</pre></td></tr>
        {{/steps}}
        </tbody>
        </table>
        <h2>Recent executions</h2>
        <table>
        <thead><tr><th>Execution</th><th>Status</th><th>Started</th><th>Error</th></tr></thead>
        <tbody>
        {{#executions}}<tr data-execution="{{id}}"><td class="mono"><a href="{{href}}">{{id}}</a></td><td class="status {{status}}">{{status}}</td><td class="mono">{{started_at}}</td><td class="error">{{error}}</td></tr>
        {{/executions}}
        </tbody>
        </table>

        """)

    static let deadLetters = program(
        """
        <h1>Dead letters</h1>
        {{#replayed}}<p class="notice good" id="replayed">Replayed {{replayed}}.</p>{{/replayed}}
        {{#failure}}<p class="notice bad" id="replay-failure">{{failure}}</p>{{/failure}}
        <p class="muted">Messages in <span class="mono">{{queue}}</span>, oldest first{{#more}}; {{more}} more not shown{{/more}}. Reading them takes none away; a replay publishes the message to where it was going and removes it once the broker confirms the copy.</p>
        <table id="dead-letters">
        <thead><tr><th>Id</th><th>Destination</th><th>Dead-lettered</th><th>Size</th><th>Reason</th><th>Body</th><th></th></tr></thead>
        <tbody>
        {{#letters}}<tr data-letter="{{id}}"><td class="mono">{{id}}</td><td class="mono">{{destination}}</td><td class="mono">{{dead_lettered_at}}</td><td>{{size}}</td><td class="error">{{reason}}</td><td><pre>{{body}}</pre></td>
        <td>{{#replayable}}<form class="inline" method="post" action="/ui/dead-letters/replay"><input type="hidden" name="id" value="{{id}}"><button class="primary" type="submit">Replay</button></form>{{/replayable}}</td></tr>
        {{/letters}}
        </tbody>
        </table>
        {{^letters}}<p class="muted" id="no-dead-letters">No messages in {{queue}}.</p>{{/letters}}

        """)

    static let schedules = program(
        """
        <h1>Schedules</h1>
        <table id="schedules">
        <thead><tr><th>Workflow</th><th>Cron</th><th>Time zone</th><th>Enabled</th><th>Next run</th><th>Last run</th></tr></thead>
        <tbody>
        {{#schedules}}<tr data-workflow="{{workflow_id}}"><td><a href="{{href}}">{{name}}</a></td><td class="mono">{{cron_expression}}</td><td>{{timezone}}</td><td>{{enabled}}</td><td class="mono">{{next_run}}</td><td class="mono">{{last_run}}</td></tr>
        {{/schedules}}
        </tbody>
        </table>
        {{^schedules}}<p class="muted" id="no-schedules">No workflow has a schedule.</p>{{/schedules}}

        """)

    static let problem = program(
        """
        <h1>{{title}}</h1>
        <p class="notice bad" id="problem">{{message}}</p>

        """)

    /// Templates are part of the program: one that does not parse is a bug the console's tests find.
    private static func program(_ text: String) -> MustacheProgram {
        do {
            return try MustacheProgram(text, limits: TemplateLimits())
        } catch {
            preconditionFailure("console template: \(error)")
        }
    }
}
