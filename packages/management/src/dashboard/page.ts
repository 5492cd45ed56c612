/**
 * The web dashboard's HTML. Every URL in it is relative (`dashboard/app.js`, and the script fetches
 * `overview`), so the page works wherever the app is mounted (`/`, `/admin`, behind a proxy prefix):
 * open it at `<mount>/dashboard`.
 */
export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Connection pools</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="dashboard/app.css">
<script src="dashboard/app.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to the figures</a>
<header class="top">
  <h1>Connection pools</h1>
  <div class="controls">
    <label for="pool-select">Pool</label>
    <select id="pool-select" disabled></select>
    <button id="pause" type="button" aria-pressed="false">Pause</button>
  </div>
  <p id="status" role="status" aria-live="polite">Loading…</p>
</header>
<form id="login" class="login" hidden>
  <h2>Sign in</h2>
  <p>This dashboard reads the management API, which needs an access token (the read-only token is enough).</p>
  <label for="token">Access token</label>
  <input id="token" name="token" type="password" autocomplete="off" spellcheck="false" required>
  <button type="submit">Show the pools</button>
  <p id="login-error" class="error" role="alert"></p>
</form>
<main id="main" hidden tabindex="-1">
  <section aria-labelledby="size-heading">
    <h2 id="size-heading">Pool size <span id="pool-state" class="badge"></span></h2>
    <dl class="cards">
      <div class="card active"><dt>Active</dt><dd id="active">–</dd></div>
      <div class="card idle"><dt>Idle</dt><dd id="idle">–</dd></div>
      <div class="card waiting"><dt>Waiting</dt><dd><span id="waiting">–</span> <small>(<span id="pool-waiting">–</span> in the pool’s queue)</small></dd></div>
      <div class="card"><dt>Open / max</dt><dd><span id="total">–</span> / <span id="max-size">–</span></dd></div>
      <div class="card"><dt>Opening</dt><dd id="pending">–</dd></div>
      <div class="card"><dt>Limit</dt><dd><span id="limit">–</span> <small id="limit-why"></small></dd></div>
    </dl>
    <figure>
      <svg id="size-chart" class="chart" role="img" aria-labelledby="size-chart-title" viewBox="0 0 600 160" preserveAspectRatio="none"><title id="size-chart-title">Active, idle and waiting over time</title></svg>
      <div id="size-axis" class="axis" aria-hidden="true"></div>
      <figcaption><span class="key s-active">active</span> <span class="key s-idle">idle</span> <span class="key s-waiting">waiting</span>; time of day on the axis</figcaption>
    </figure>
  </section>
  <section aria-labelledby="wait-heading">
    <h2 id="wait-heading">Wait time</h2>
    <p class="note" id="wait-note">Percentiles of the time callers waited for a connection, over the monitor window.</p>
    <dl class="cards">
      <div class="card"><dt>p50</dt><dd><span id="wait-p50">–</span> <abbr title="milliseconds">ms</abbr></dd></div>
      <div class="card"><dt>p95</dt><dd><span id="wait-p95">–</span> <abbr title="milliseconds">ms</abbr></dd></div>
      <div class="card"><dt>p99</dt><dd><span id="wait-p99">–</span> <abbr title="milliseconds">ms</abbr></dd></div>
      <div class="card"><dt>max</dt><dd><span id="wait-max">–</span> <abbr title="milliseconds">ms</abbr></dd></div>
      <div class="card"><dt>Waits recorded</dt><dd id="wait-count">–</dd></div>
    </dl>
    <figure>
      <svg id="wait-chart" class="chart" role="img" aria-labelledby="wait-chart-title" viewBox="0 0 600 160" preserveAspectRatio="none"><title id="wait-chart-title">Wait-time percentiles over time</title></svg>
      <div id="wait-axis" class="axis" aria-hidden="true"></div>
      <figcaption><span class="key s-p50">p50</span> <span class="key s-p95">p95</span> <span class="key s-p99">p99</span> (ms, over the monitor window at each sample); time of day on the axis</figcaption>
    </figure>
  </section>
  <section aria-labelledby="throughput-heading">
    <h2 id="throughput-heading">Throughput</h2>
    <p class="note" id="scope-note"></p>
    <dl class="cards">
      <div class="card"><dt>Last sample</dt><dd><span id="rate-now">–</span> /s</dd></div>
      <div class="card"><dt>Window average</dt><dd><span id="throughput">–</span> /s</dd></div>
      <div class="card"><dt>Acquired</dt><dd id="acquired">–</dd></div>
      <div class="card"><dt>Failed</dt><dd id="failures">–</dd></div>
      <div class="card"><dt>Success rate</dt><dd><span id="success-rate">–</span> %</dd></div>
    </dl>
    <figure>
      <svg id="rate-chart" class="chart" role="img" aria-labelledby="rate-chart-title" viewBox="0 0 600 160" preserveAspectRatio="none"><title id="rate-chart-title">Acquisitions per second over time</title></svg>
      <div id="rate-axis" class="axis" aria-hidden="true"></div>
      <figcaption><span class="key s-rate">acquisitions per second</span>, between samples; time of day on the axis</figcaption>
    </figure>
  </section>
  <section aria-labelledby="queue-heading">
    <h2 id="queue-heading">Wait queue by priority</h2>
    <table id="queue-table">
      <caption id="queue-caption">Callers waiting now, and what the queue reports</caption>
      <thead><tr><th scope="col">Priority</th><th scope="col">Waiting</th><th scope="col">Enqueued</th><th scope="col">Served</th><th scope="col">Timed out</th><th scope="col">Avg wait (ms)</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
  <section id="hosts-section" aria-labelledby="hosts-heading" hidden>
    <h2 id="hosts-heading">Hosts</h2>
    <div class="scroll" role="region" aria-labelledby="hosts-heading" tabindex="0">
    <table id="hosts-table">
      <caption>Each server behind this pool: its role, state, replica lag, share of reads, connections and reads served</caption>
      <thead><tr><th scope="col">Host</th><th scope="col">Role</th><th scope="col">State</th><th scope="col">Replica lag (ms)</th><th scope="col">Read weight</th><th scope="col">Read connections (busy)</th><th scope="col">Write connections</th><th scope="col">Reads</th></tr></thead>
      <tbody></tbody>
    </table>
    </div>
  </section>
  <section aria-labelledby="partitions-heading">
    <h2 id="partitions-heading">Partitions</h2>
    <p id="partitions-empty" class="note" hidden>No partition manager is configured for this pool.</p>
    <table id="partitions-table">
      <caption>Connections held, waiting callers and waits per partition</caption>
      <thead><tr><th scope="col">Partition</th><th scope="col">State</th><th scope="col">Active / max</th><th scope="col">Waiting</th><th scope="col">Acquired</th><th scope="col">p99 wait (ms)</th><th scope="col">Rejected</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
  <section aria-labelledby="leaks-heading">
    <h2 id="leaks-heading">Detected leaks <span id="leak-count" class="badge">0</span></h2>
    <p id="leaks-empty" class="note">No connection is held past the leak threshold.</p>
    <table id="leaks-table" hidden>
      <caption>Borrows held past the leak threshold, oldest first</caption>
      <thead><tr><th scope="col">Connection</th><th scope="col">Held for (s)</th><th scope="col">Partition</th><th scope="col">Acquired at</th></tr></thead>
      <tbody></tbody>
    </table>
  </section>
</main>
<footer><p>Figures refresh on their own; the API behind them is described at <code>openapi.json</code>.</p></footer>
</body>
</html>
`;
