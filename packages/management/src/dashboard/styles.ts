/** The web dashboard's stylesheet (served at `dashboard/app.css`). Light and dark, by the system setting. */
export const DASHBOARD_CSS = `:root {
  color-scheme: light dark;
  --bg: #f7f7f8; --fg: #16181d; --muted: #555b66; --card: #fff; --line: #d7d9de;
  --active: #1f6feb; --idle: #1a7f37; --waiting: #bf3989; --p50: #1f6feb; --p95: #9a6700; --p99: #cf222e; --rate: #6639ba;
  --focus: #0969da;
  font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
}
@media (prefers-color-scheme: dark) {
  :root { --bg: #0d1117; --fg: #e6edf3; --muted: #9da7b3; --card: #161b22; --line: #30363d;
    --active: #58a6ff; --idle: #3fb950; --waiting: #f778ba; --p50: #58a6ff; --p95: #d29922; --p99: #ff7b72; --rate: #bc8cff; --focus: #79c0ff; }
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0; background: var(--bg); color: var(--fg); }
.skip { position: absolute; left: -9999px; }
.skip:focus { left: 1rem; top: 1rem; background: var(--card); padding: .5rem; z-index: 1; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.top { display: flex; flex-wrap: wrap; align-items: center; gap: .5rem 1.5rem; padding: 1rem 1.5rem; border-bottom: 1px solid var(--line); background: var(--card); }
h1 { font-size: 1.35rem; margin: 0; }
h2 { font-size: 1.1rem; margin: 0 0 .75rem; display: flex; align-items: center; gap: .5rem; }
.controls { display: flex; align-items: center; gap: .5rem; }
select, button, input { font: inherit; color: inherit; background: var(--bg); border: 1px solid var(--line); border-radius: 6px; padding: .35rem .6rem; }
button { cursor: pointer; }
button[aria-pressed="true"] { background: var(--fg); color: var(--bg); }
#status { margin: 0; color: var(--muted); margin-left: auto; }
main { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 34rem), 1fr)); gap: 1rem; padding: 1rem 1.5rem; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 1rem 1.25rem; min-width: 0; }
.cards { display: flex; flex-wrap: wrap; gap: .5rem; margin: 0 0 .75rem; }
.card { flex: 1 1 6.5rem; border: 1px solid var(--line); border-radius: 8px; padding: .4rem .7rem; border-top-width: 4px; }
.card.active { border-top-color: var(--active); } .card.idle { border-top-color: var(--idle); } .card.waiting { border-top-color: var(--waiting); }
dt { font-size: .8rem; color: var(--muted); }
dd { margin: 0; font-size: 1.45rem; font-weight: 600; font-variant-numeric: tabular-nums; white-space: nowrap; }
dd abbr { font-size: .8rem; font-weight: 400; text-decoration: none; color: var(--muted); }
figure { margin: 0; }
figcaption { font-size: .8rem; color: var(--muted); }
.chart { width: 100%; height: 160px; display: block; border-bottom: 1px solid var(--line); }
.chart polyline { fill: none; stroke-width: 2; vector-effect: non-scaling-stroke; }
.chart .grid { stroke: var(--line); stroke-width: 1; vector-effect: non-scaling-stroke; }
.chart text { fill: var(--muted); font-size: 11px; }
.axis { display: flex; justify-content: space-between; color: var(--muted); font-size: .7rem; font-variant-numeric: tabular-nums; padding-top: .15rem; }
dd small { font-size: .7rem; font-weight: 400; color: var(--muted); }
.s-active { stroke: var(--active); } .s-idle { stroke: var(--idle); } .s-waiting { stroke: var(--waiting); }
.s-p50 { stroke: var(--p50); } .s-p95 { stroke: var(--p95); } .s-p99 { stroke: var(--p99); } .s-rate { stroke: var(--rate); }
.key::before { content: ""; display: inline-block; width: .9em; height: .25em; margin-right: .3em; vertical-align: middle; border-top: 3px solid; border-color: inherit; }
.key.s-active { border-color: var(--active); } .key.s-idle { border-color: var(--idle); } .key.s-waiting { border-color: var(--waiting); }
.key.s-p50 { border-color: var(--p50); } .key.s-p95 { border-color: var(--p95); } .key.s-p99 { border-color: var(--p99); } .key.s-rate { border-color: var(--rate); }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
caption { text-align: left; color: var(--muted); font-size: .8rem; padding-bottom: .25rem; }
th, td { text-align: right; padding: .3rem .5rem; border-bottom: 1px solid var(--line); }
th:first-child, td:first-child { text-align: left; }
tr.warn td:nth-child(3) { color: var(--p99); font-weight: 600; }
#hosts-section { grid-column: 1 / -1; }
td small.why { display: block; font-weight: 400; color: var(--muted); overflow-wrap: anywhere; }
.scroll { overflow-x: auto; }
#hosts-table th:nth-child(-n+3), #hosts-table td:nth-child(-n+3) { text-align: left; }
.badge { font-size: .75rem; font-weight: 600; border-radius: 999px; padding: .1rem .55rem; background: var(--line); }
.badge.warn { background: var(--p99); color: #fff; }
.note { color: var(--muted); font-size: .85rem; margin: 0 0 .5rem; }
.login { max-width: 28rem; margin: 2rem auto; background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 1.25rem; display: grid; gap: .5rem; }
.error { color: var(--p99); min-height: 1.2em; margin: 0; }
footer { color: var(--muted); font-size: .8rem; padding: 0 1.5rem 1.5rem; }
@media (prefers-reduced-motion: reduce) { * { transition: none !important; } }
`;
