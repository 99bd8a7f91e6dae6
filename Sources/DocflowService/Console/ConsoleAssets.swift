/// The console's stylesheet and script, served from `/ui/assets/` so that the pages' Content
/// Security Policy can refuse every inline script and style.
enum ConsoleAssets {
    static let css = """
        :root { --fg: #1d2330; --muted: #5d6675; --line: #d9dee6; --bg: #f6f7f9; --accent: #2357c6;
          --ok: #1f7a3d; --bad: #b3261e; --run: #8a5a00; --skip: #6b7280; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
        header { background: #1d2330; color: #fff; display: flex; align-items: center; gap: 24px; padding: 0 20px; height: 48px; }
        header .brand { font-weight: 700; letter-spacing: .02em; }
        header nav a { color: #cfd6e4; text-decoration: none; margin-right: 16px; }
        header nav a.current { color: #fff; border-bottom: 2px solid #fff; padding-bottom: 12px; }
        header form { margin-left: auto; }
        header button { background: transparent; color: #cfd6e4; border: 1px solid #4a5263; border-radius: 4px; padding: 3px 10px; cursor: pointer; }
        main { padding: 20px; max-width: 1400px; }
        h1 { font-size: 20px; margin: 0 0 14px; }
        h2 { font-size: 16px; margin: 22px 0 8px; }
        a { color: var(--accent); }
        table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid var(--line); }
        th, td { text-align: left; padding: 6px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
        th { background: #eef1f5; font-weight: 600; font-size: 12px; text-transform: uppercase; color: var(--muted); }
        td.mono, .mono { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12px; }
        .status { font-weight: 600; }
        .status.completed { color: var(--ok); } .status.failed { color: var(--bad); }
        .status.running { color: var(--run); } .status.cancelled, .status.skipped { color: var(--skip); }
        .error { color: var(--bad); white-space: pre-wrap; }
        .muted { color: var(--muted); }
        form.filters { display: flex; flex-wrap: wrap; gap: 10px; align-items: end; background: #fff; border: 1px solid var(--line); padding: 10px; margin-bottom: 12px; }
        form.filters label { display: flex; flex-direction: column; font-size: 12px; color: var(--muted); gap: 2px; }
        input, select { font: inherit; padding: 4px 6px; border: 1px solid var(--line); border-radius: 4px; }
        button.primary { background: var(--accent); color: #fff; border: 0; border-radius: 4px; padding: 6px 14px; cursor: pointer; }
        .pager { margin: 12px 0; display: flex; gap: 16px; }
        .notice { background: #fff7e0; border: 1px solid #e8d49a; padding: 8px 12px; margin-bottom: 12px; }
        .notice.bad { background: #fdecea; border-color: #f0b4ae; }
        .notice.good { background: #e8f5ec; border-color: #a9d5b7; }
        pre { background: #f1f3f6; border: 1px solid var(--line); padding: 8px; overflow: auto; max-height: 320px; margin: 4px 0; font-size: 12px; }
        dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 16px; background: #fff; border: 1px solid var(--line); padding: 10px 14px; }
        dl.facts dt { color: var(--muted); } dl.facts dd { margin: 0; }
        .step { background: #fff; border: 1px solid var(--line); border-left: 4px solid var(--line); padding: 10px 14px; margin-bottom: 10px; }
        .step.completed { border-left-color: var(--ok); } .step.failed { border-left-color: var(--bad); }
        .step.running { border-left-color: var(--run); } .step.skipped { border-left-color: var(--skip); }
        .step h3 { margin: 0 0 6px; font-size: 15px; display: flex; gap: 12px; align-items: baseline; }
        svg.bar rect.track { fill: #eef1f5; } svg.bar rect.queued { fill: #e8d49a; } svg.bar rect.ran { fill: var(--accent); }
        svg.graph { background: #fff; border: 1px solid var(--line); }
        svg.graph .node rect { fill: #fff; stroke: #7d8799; stroke-width: 1.5; }
        svg.graph .node.condition rect { fill: #fff7e0; } svg.graph .node.end rect { fill: #eef1f5; }
        svg.graph .node.completed rect { stroke: var(--ok); stroke-width: 3; } svg.graph .node.failed rect { stroke: var(--bad); stroke-width: 3; }
        svg.graph text { font: 13px system-ui, sans-serif; fill: var(--fg); }
        svg.graph text.type { font-size: 10px; fill: var(--muted); }
        svg.graph path.edge { fill: none; stroke: #7d8799; stroke-width: 1.5; }
        svg.graph path.edge.then { stroke: var(--ok); } svg.graph path.edge.else { stroke: var(--bad); }
        svg.graph text.edge-label { font-size: 11px; fill: var(--muted); }
        form.inline { display: inline; }
        .login { max-width: 420px; margin: 60px auto; background: #fff; border: 1px solid var(--line); padding: 24px; }
        .login input { width: 100%; margin: 8px 0 14px; }
        [hidden] { display: none !important; }
        """

    /// Live updates: the executions list rewrites the status of rows it shows and counts the
    /// executions started since it loaded; an execution's page reloads when its execution moves.
    static let js = """
        (function () {
          "use strict";
          var live = document.body.getAttribute("data-live");
          if (!live || !window.EventSource) return;
          var source = new EventSource("/ui/events");
          var started = 0, reloading = false;
          source.addEventListener("status", function (message) {
            var event;
            try { event = JSON.parse(message.data); } catch (e) { return; }
            if (live === "executions") {
              if (event.kind !== "execution") return;
              var row = null;
              document.querySelectorAll("tr[data-execution]").forEach(function (candidate) {
                if (candidate.getAttribute("data-execution") === event.execution_id) row = candidate;
              });
              if (row) {
                var cell = row.querySelector(".status");
                if (cell && event.status) { cell.textContent = event.status; cell.className = "status " + event.status; }
                var error = row.querySelector(".error");
                if (error && event.error) error.textContent = event.error;
              } else if (event.event === "workflow.started") {
                started += 1;
                var notice = document.getElementById("new-executions");
                if (notice) { notice.hidden = false; notice.querySelector("span").textContent = String(started); }
              }
            } else if (live === "execution:" + event.execution_id && !reloading) {
              reloading = true;
              setTimeout(function () { window.location.reload(); }, 700);
            }
          });
        })();
        """
}
