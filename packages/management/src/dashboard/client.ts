/**
 * The web dashboard's script (served at `dashboard/app.js`). Plain browser JavaScript, no framework
 * and no network access beyond the app: it polls `overview` every `refreshMs` with the token kept in
 * `sessionStorage` (taken once from a `#token=...` fragment, which never reaches a server log, or from
 * the sign-in form), draws the figures with `textContent` only (names and contexts are never parsed as
 * HTML). The charts are drawn from the history the server keeps (the first request asks for all of it,
 * later ones add the newest sample), on a labelled time axis. Every figure carries its raw value in a
 * `data-value` attribute next to the formatted text.
 */
export const DASHBOARD_JS = String.raw`(function () {
  'use strict';
  var TOKEN_KEY = 'pool-management-token';
  var PRIORITIES = ['critical', 'high', 'normal', 'low'];
  var SVG_NS = 'http://www.w3.org/2000/svg';
  var state = { token: null, pool: null, paused: false, timer: null, refreshMs: 2000, history: {}, windowMs: 900000, full: false, inFlight: null };

  function $(id) { return document.getElementById(id); }

  function readToken() {
    var match = /(?:^#|&)token=([^&]+)/.exec(location.hash);
    if (match) {
      try { sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(match[1])); } catch (e) { state.token = decodeURIComponent(match[1]); }
      history.replaceState(null, '', location.pathname + location.search);
    }
    try { state.token = sessionStorage.getItem(TOKEN_KEY) || state.token; } catch (e) { /* storage disabled: keep the token in memory */ }
  }

  function formatNumber(value, digits) {
    if (value === null || value === undefined || typeof value !== 'number' || !isFinite(value)) return '–';
    if (digits === 0) return String(Math.round(value));
    if (Math.abs(value) >= 100) return String(Math.round(value));
    if (Math.abs(value) >= 10) return value.toFixed(1);
    return value.toFixed(digits === undefined ? 2 : digits);
  }

  function setFigure(id, value, digits) {
    var el = $(id);
    if (!el) return;
    el.textContent = formatNumber(value, digits);
    el.setAttribute('data-value', value === null || value === undefined ? '' : String(value));
  }

  function cell(row, text, value) {
    var td = document.createElement(row.children.length === 0 ? 'th' : 'td');
    if (row.children.length === 0) td.setAttribute('scope', 'row');
    td.textContent = text;
    if (value !== undefined) td.setAttribute('data-value', value === null ? '' : String(value));
    row.appendChild(td);
    return td;
  }

  function fill(tbody, rows) {
    while (tbody.firstChild) tbody.removeChild(tbody.firstChild);
    rows.forEach(function (build) {
      var tr = document.createElement('tr');
      build(tr);
      tbody.appendChild(tr);
    });
  }

  function status(text) { $('status').textContent = text; }

  function showLogin(message) {
    $('main').hidden = true;
    $('login').hidden = false;
    $('login-error').textContent = message || '';
    $('token').focus();
    status('Signed out');
  }

  function api(path) {
    var headers = { Accept: 'application/json' };
    if (state.token) headers.Authorization = 'Bearer ' + state.token;
    var controller = typeof AbortController === 'function' ? new AbortController() : null;
    var timeout = setTimeout(function () { if (controller) controller.abort(); }, Math.max(5000, state.refreshMs * 3));
    return fetch(path, { headers: headers, cache: 'no-store', credentials: 'omit', signal: controller ? controller.signal : undefined })
      .then(function (response) {
        clearTimeout(timeout);
        return response.json().then(function (body) {
          if (!response.ok) {
            var error = new Error(body && body.error ? body.error.message : 'HTTP ' + response.status);
            error.status = response.status;
            throw error;
          }
          return body;
        });
      }, function (error) { clearTimeout(timeout); throw error; });
  }

  function schedule() {
    clearTimeout(state.timer);
    if (!state.paused) state.timer = setTimeout(poll, state.refreshMs);
  }

  function poll() {
    if (state.inFlight) return;
    $('main').setAttribute('aria-busy', 'true');
    state.inFlight = api(state.full ? 'overview' : 'overview?history=full').then(function (data) {
      state.refreshMs = Math.max(250, data.refreshMs || 2000);
      state.windowMs = (data.history && data.history.windowMs) || state.windowMs;
      state.full = true;
      render(data);
    }, function (error) {
      if (error.status === 401) { showLogin(state.token ? 'That token was not accepted.' : ''); return; }
      status('Could not refresh: ' + error.message + ' (retrying)');
    }).then(function () {
      state.inFlight = null;
      $('main').setAttribute('aria-busy', 'false');
      if ($('login').hidden) schedule();
    });
  }

  /** Adds the server's samples of a pool to what the page has (newer ones only), within the window. */
  function remember(name, samples) {
    var list = state.history[name] || (state.history[name] = []);
    (samples || []).forEach(function (p) {
      if (list.length === 0 || p.t > list[list.length - 1].t) list.push(p);
    });
    var since = list.length === 0 ? 0 : list[list.length - 1].t - state.windowMs;
    while (list.length > 0 && list[0].t < since) list.shift();
    return list;
  }

  function clock(t, seconds) {
    var d = new Date(t);
    var pad = function (n) { return (n < 10 ? '0' : '') + n; };
    return pad(d.getHours()) + ':' + pad(d.getMinutes()) + (seconds ? ':' + pad(d.getSeconds()) : '');
  }

  /** The time axis under a chart: five labels, evenly spaced from the start of the window to its end. */
  function drawAxis(axis, end) {
    if (!axis) return;
    while (axis.firstChild) axis.removeChild(axis.firstChild);
    var start = end - state.windowMs;
    var seconds = state.windowMs < 10 * 60000;
    for (var i = 0; i <= 4; i++) {
      var label = document.createElement('span');
      label.textContent = clock(start + (state.windowMs * i) / 4, seconds);
      axis.appendChild(label);
    }
    axis.setAttribute('data-start', String(start));
    axis.setAttribute('data-end', String(end));
  }

  function niceMax(value) {
    if (!(value > 0)) return 1;
    var magnitude = Math.pow(10, Math.floor(Math.log10(value)));
    var steps = [1, 2, 2.5, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * magnitude >= value) return steps[i] * magnitude;
    return 10 * magnitude;
  }

  function drawChart(svg, points, series) {
    while (svg.lastChild && svg.lastChild.nodeName !== 'title') svg.removeChild(svg.lastChild);
    var width = 600, height = 160, top = 14, max = 0;
    points.forEach(function (p) { series.forEach(function (s) { var v = p[s.key]; if (typeof v === 'number' && v > max) max = v; }); });
    max = niceMax(max);
    [0, 0.5, 1].forEach(function (f) {
      var y = top + (height - top) * (1 - f);
      var line = document.createElementNS(SVG_NS, 'line');
      line.setAttribute('class', 'grid');
      line.setAttribute('x1', '0'); line.setAttribute('x2', String(width));
      line.setAttribute('y1', String(y)); line.setAttribute('y2', String(y));
      svg.appendChild(line);
    });
    var label = document.createElementNS(SVG_NS, 'text');
    label.setAttribute('x', '4'); label.setAttribute('y', '11');
    label.textContent = formatNumber(max);
    svg.appendChild(label);
    var end = points.length === 0 ? Date.now() : points[points.length - 1].t;
    var start = end - state.windowMs;
    series.forEach(function (s) {
      var coords = [];
      points.forEach(function (p) {
        var v = p[s.key];
        if (typeof v !== 'number' || !isFinite(v) || p.t < start) return;
        coords.push((((p.t - start) / state.windowMs) * width).toFixed(1) + ',' + (top + (height - top) * (1 - v / max)).toFixed(1));
      });
      if (coords.length === 0) return;
      var line = document.createElementNS(SVG_NS, 'polyline');
      line.setAttribute('class', 's-' + s.key);
      line.setAttribute('points', coords.join(' '));
      svg.appendChild(line);
    });
    svg.setAttribute('data-points', String(points.length));
    drawAxis(document.getElementById(svg.id.replace('-chart', '-axis')), end);
  }

  function describe(points, series, unit) {
    var last = points[points.length - 1];
    if (!last) return 'no data yet';
    return series.map(function (s) { return s.key + ' ' + formatNumber(last[s.key]) + (unit || ''); }).join(', ');
  }

  function renderPoolSelect(pools) {
    var select = $('pool-select');
    var names = pools.map(function (p) { return p.name; });
    if (state.pool === null || names.indexOf(state.pool) < 0) state.pool = names[0] || null;
    var current = Array.prototype.map.call(select.options, function (o) { return o.value; });
    if (current.join('\n') !== names.join('\n')) {
      while (select.firstChild) select.removeChild(select.firstChild);
      names.forEach(function (name) {
        var option = document.createElement('option');
        option.value = name; option.textContent = name;
        select.appendChild(option);
      });
    }
    select.value = state.pool || '';
    select.disabled = names.length < 2;
  }

  function render(data) {
    $('login').hidden = true;
    $('main').hidden = false;
    renderPoolSelect(data.pools);
    var pool = null;
    data.pools.forEach(function (p) { if (p.name === state.pool) pool = p; });
    if (!pool) { status('No pool to show'); return; }
    var wait = pool.wait;
    var points = remember(pool.name, pool.history);
    var newest = points[points.length - 1];
    var rate = newest ? newest.rate : null;
    var main = $('main');
    main.setAttribute('data-pool', pool.name);
    main.setAttribute('data-timestamp', String(data.timestamp));

    var badge = $('pool-state');
    badge.textContent = pool.state === 'open' ? (pool.suspended ? 'suspended' : 'open') : pool.state;
    badge.className = 'badge' + (pool.suspended || pool.state !== 'open' ? ' warn' : '');
    setFigure('active', pool.size.active, 0);
    setFigure('idle', pool.size.idle, 0);
    setFigure('waiting', pool.waiting, 0);
    setFigure('pool-waiting', pool.size.waiting, 0);
    setFigure('total', pool.size.total, 0);
    setFigure('pending', pool.size.pending, 0);
    setFigure('max-size', pool.maxSize, 0);
    setFigure('limit', pool.size.limit, 0);
    var adaptive = pool.adaptive, change = adaptive && adaptive.lastChange;
    $('limit-why').textContent = !adaptive ? (pool.size.limit < pool.maxSize ? '(set by setLimit)' : '(maxSize)')
      : '(' + adaptive.algorithm + ', ' + adaptive.floor + '\u2013' + adaptive.ceiling + (change ? '; last: ' + change.reason + ' ' + change.previous + '\u2192' + change.limit : '') + ')';
    var sizeSeries = [{ key: 'active' }, { key: 'idle' }, { key: 'waiting' }];
    drawChart($('size-chart'), points, sizeSeries);
    $('size-chart').setAttribute('aria-label', 'Pool size over time; now ' + describe(points, sizeSeries));

    $('wait-note').hidden = false;
    if (!wait) $('wait-note').textContent = 'No monitor watches this pool, so wait percentiles are not recorded.';
    else $('wait-note').textContent = 'Percentiles of the time callers waited for a connection, over the last ' + formatNumber((pool.windowSpanMs || 0) / 1000, 0) + ' s.';
    setFigure('wait-p50', wait ? wait.percentiles.p50 : null);
    setFigure('wait-p95', wait ? wait.percentiles.p95 : null);
    setFigure('wait-p99', wait ? wait.percentiles.p99 : null);
    setFigure('wait-max', wait ? wait.maxMs : null);
    setFigure('wait-count', wait ? wait.count : null, 0);
    var waitSeries = [{ key: 'p50' }, { key: 'p95' }, { key: 'p99' }];
    drawChart($('wait-chart'), points, waitSeries);
    $('wait-chart').setAttribute('aria-label', 'Wait-time percentiles over time; now ' + describe(points, waitSeries, ' ms'));

    setFigure('rate-now', rate, 1);
    setFigure('throughput', pool.throughputPerSecond, 1);
    setFigure('acquired', pool.acquired, 0);
    setFigure('failures', pool.acquireFailures, 0);
    $('scope-note').textContent = pool.scope === 'callers'
      ? 'Every caller counts once, whichever queue it waited in (the pool\u2019s or a partition\u2019s).'
      : 'The pool\u2019s own counters (no monitor watches it, so callers that waited or failed in a partition are not counted).';
    // A percentage is never rounded up to 100 while something failed: 99.954 shows as 99.95.
    var success = $('success-rate');
    var percent = pool.successRate * 100;
    success.textContent = percent >= 100 ? '100' : (Math.floor(percent * 100) / 100).toFixed(2);
    success.setAttribute('data-value', String(percent));
    var rateSeries = [{ key: 'rate' }];
    drawChart($('rate-chart'), points, rateSeries);
    $('rate-chart').setAttribute('aria-label', 'Acquisitions per second over time; now ' + describe(points, rateSeries, ' per second'));

    var queue = pool.queue;
    $('queue-caption').textContent = 'Callers waiting now' + (queue.reported ? ', and what the ' + queue.kind + ' reports' : ' (the ' + queue.kind + ' keeps no counters)');
    fill($('queue-table').tBodies[0], PRIORITIES.map(function (p) {
      var level = queue.byPriority[p];
      return function (tr) {
        tr.setAttribute('data-priority', p);
        cell(tr, p);
        cell(tr, formatNumber(level.currentSize, 0), level.currentSize);
        cell(tr, formatNumber(level.totalEnqueued, 0), level.totalEnqueued);
        cell(tr, formatNumber(level.totalDequeued, 0), level.totalDequeued);
        cell(tr, formatNumber(level.totalTimedOut, 0), level.totalTimedOut);
        cell(tr, formatNumber(level.averageWaitMs), level.averageWaitMs);
      };
    }));

    // The servers behind a multi-host pool (null for any other pool: the section stays hidden).
    var hosts = pool.hosts;
    $('hosts-section').hidden = !hosts;
    fill($('hosts-table').tBodies[0], (hosts || []).map(function (h) {
      var connections = h.connections || {};
      var read = connections.read || null;
      return function (tr) {
        tr.setAttribute('data-host', h.host);
        tr.className = h.state === 'up' ? '' : 'warn';
        cell(tr, h.host);
        cell(tr, h.role);
        var state = cell(tr, h.state, h.state);
        if (h.error) {
          // Why its last check failed, as text (redacted by the server), not only as a tooltip.
          var why = document.createElement('small');
          why.className = 'why';
          why.textContent = h.error;
          state.appendChild(document.createTextNode(' '));
          state.appendChild(why);
        }
        cell(tr, h.lagMs === null || h.lagMs === undefined ? '–' : formatNumber(h.lagMs, 0), h.lagMs);
        cell(tr, formatNumber(h.readWeight) + (h.readFallback ? ' (fallback)' : ''), h.readWeight);
        cell(tr, read ? formatNumber(read.total, 0) + ' (' + formatNumber(read.active, 0) + ')' : '–', read ? read.total : null);
        cell(tr, formatNumber(connections.write, 0), connections.write);
        cell(tr, formatNumber(h.reads, 0), h.reads);
      };
    }));

    var partitions = pool.partitions;
    $('partitions-empty').hidden = partitions !== null;
    $('partitions-table').hidden = partitions === null;
    fill($('partitions-table').tBodies[0], (partitions || []).map(function (p) {
      var rejected = 0;
      Object.keys(p.rejections || {}).forEach(function (k) { rejected += p.rejections[k]; });
      return function (tr) {
        tr.setAttribute('data-partition', p.id);
        cell(tr, p.id);
        cell(tr, p.state);
        cell(tr, formatNumber(p.active, 0) + ' / ' + formatNumber(p.limits.maxConnections, 0), p.active);
        cell(tr, formatNumber(p.waiting, 0), p.waiting);
        cell(tr, formatNumber(p.connectionsAcquired, 0), p.connectionsAcquired);
        cell(tr, formatNumber(p.p99WaitMs), p.p99WaitMs);
        cell(tr, formatNumber(rejected, 0), rejected);
      };
    }));

    var leaks = pool.leaks;
    var count = $('leak-count');
    count.textContent = String(leaks.active);
    count.setAttribute('data-value', String(leaks.active));
    count.className = 'badge' + (leaks.active > 0 ? ' warn' : '');
    $('leaks-empty').hidden = leaks.active > 0;
    $('leaks-table').hidden = leaks.active === 0;
    fill($('leaks-table').tBodies[0], leaks.reports.map(function (leak) {
      return function (tr) {
        tr.setAttribute('data-connection', String(leak.connectionId));
        cell(tr, '#' + leak.connectionId, leak.connectionId);
        cell(tr, formatNumber(leak.activeDurationMs / 1000, 1), leak.activeDurationMs);
        cell(tr, leak.partition || '–');
        cell(tr, new Date(leak.acquiredAt).toLocaleTimeString());
      };
    }));

    status('Updated ' + new Date(data.timestamp).toLocaleTimeString() + (data.readOnly ? ' · read-only' : ''));
  }

  function start() {
    readToken();
    $('pool-select').addEventListener('change', function (event) {
      state.pool = event.target.value;
      clearTimeout(state.timer);
      poll();
    });
    $('pause').addEventListener('click', function () {
      state.paused = !state.paused;
      this.setAttribute('aria-pressed', String(state.paused));
      this.textContent = state.paused ? 'Resume' : 'Pause';
      if (state.paused) { clearTimeout(state.timer); status('Paused'); } else poll();
    });
    $('login').addEventListener('submit', function (event) {
      event.preventDefault();
      state.token = $('token').value.trim();
      try { sessionStorage.setItem(TOKEN_KEY, state.token); } catch (e) { /* in memory only */ }
      $('token').value = '';
      state.full = false;
      poll();
    });
    poll();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
`;
