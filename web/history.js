// Rampart dashboard: history. The range picker (live, 30 min, 6 h, 24 h, 7 d, custom) of the
// overview and of an app, and the history view over the per-minute rollups (events/bytime and
// events/summary): new connections, bytes each way, errors by type, refused connections, errors
// by status (disconnects whose Spectrum status is not 2xx: dimensions=status) and guard drops by
// reason (Rampart's rampart/analytics/drops/bytime), per app and overall; on a
// fleet edge summed over the fleet or for one edge (edge=NAME). The range
// lives in the URL (#/?range=24h, #/app/ID?range=custom&from=...&to=...&edge=NAME).
'use strict';

const RANGES = { '30m': 1800, '6h': 6 * 3600, '24h': 86400, '7d': 7 * 86400 };
const RANGE_TEXT = { '30m': 'Last 30 minutes', '6h': 'Last 6 hours', '24h': 'Last 24 hours', '7d': 'Last 7 days' };
// time_delta values of events/bytime (src/control/analytics_query.cc), smallest first: a range
// uses the smallest that gives at most MAX_POINTS buckets (30 min and 6 h: minutes; 24 h: 10
// minutes; 7 d: hours).
const DELTAS = [['minute', 60, 'minute'], ['dekaminute', 600, '10 minutes'], ['hour', 3600, 'hour'],
  ['day', 86400, 'day'], ['week', 7 * 86400, 'week']];
const MAX_POINTS = 400;
const HISTORY_REFRESH_MS = 60000;
const ERROR_EVENTS = { originError: 'origin errors', tlsError: 'TLS errors', resolveOrigin: 'origin not resolved' };

const hist = { key: '', at: 0, seq: 0, loading: false, data: null, error: '' };

// The route's range: {key: 'live'} or {key, seconds} or {key: 'custom', from, to} (ms).
function rangeOf(r) {
  const key = r.query.get('range') || 'live';
  if (key === 'custom') {
    const from = Date.parse(r.query.get('from') || ''), to = Date.parse(r.query.get('to') || '');
    if (from < to) return { key, from, to };
    return { key: 'live' };
  }
  return RANGES[key] ? { key, seconds: RANGES[key] } : { key: 'live' };
}

function pickDelta(spanS) {
  return DELTAS.find(([, s]) => spanS / s <= MAX_POINTS) || DELTAS[DELTAS.length - 1];
}

const isoS = (s) => new Date(s * 1000).toISOString().replace(/\.\d+Z$/, 'Z');

// The datetime-local text of a time (ms), in local time.
function localInput(ms) {
  const d = new Date(ms - new Date(ms).getTimezoneOffset() * 60e3);
  return d.toISOString().slice(0, 16);
}

// ------------------------------------------------------------------ the range bar

function setupRangeBar() {
  for (const b of $$('#range-bar [data-range]')) {
    b.addEventListener('click', () => {
      const r = route();
      if (b.dataset.range === 'custom') {
        const form = $('#custom-range');
        form.hidden = !form.hidden;
        b.setAttribute('aria-expanded', String(!form.hidden));
        if (!form.hidden) {
          const range = rangeOf(r);
          const now = Date.now();
          $('#range-from').value = localInput(range.key === 'custom' ? range.from : now - 86400e3);
          $('#range-to').value = localInput(range.key === 'custom' ? range.to : now);
          $('#range-from').focus();
        }
        return;
      }
      const q = new URLSearchParams(r.query);
      for (const k of ['range', 'from', 'to']) q.delete(k);
      if (b.dataset.range !== 'live') q.set('range', b.dataset.range);
      $('#custom-range').hidden = true;
      location.hash = withQuery(r.path, q);
    });
  }
  $('#custom-range').addEventListener('submit', (e) => {
    e.preventDefault();
    const from = new Date($('#range-from').value).getTime(), to = new Date($('#range-to').value).getTime();
    const err = $('#custom-error');
    err.hidden = from < to;
    err.textContent = from < to ? '' : 'The start must be before the end.';
    if (!(from < to)) return;
    const r = route();
    const q = new URLSearchParams(r.query);
    q.set('range', 'custom');
    q.set('from', new Date(from).toISOString());
    q.set('to', new Date(to).toISOString());
    location.hash = withQuery(r.path, q);
  });
  $('#edge-select').addEventListener('change', (e) => {
    const r = route();
    const q = new URLSearchParams(r.query);
    if (e.target.value) q.set('edge', e.target.value); else q.delete('edge');
    location.hash = withQuery(r.path, q);
  });
}

function renderRangeBar(r) {
  const range = rangeOf(r);
  for (const b of $$('#range-bar [data-range]')) b.setAttribute('aria-pressed', String(b.dataset.range === range.key));
  // Fleet: the history of every edge summed (default) or of one edge.
  const edges = (state.fleet && state.fleet.edges) || [];
  show('edge-pick', edges.length >= 2 && range.key !== 'live');
  const sel = $('#edge-select');
  const want = ['', ...edges.map((e) => e.name)];
  if ([...sel.options].map((o) => o.value).join('\n') !== want.join('\n')) {
    sel.replaceChildren(el('option', { value: '', text: `All ${edges.length} edges, summed` }),
      ...edges.map((e) => el('option', { value: e.name, text: e.name + (e.self ? ' (this edge)' : '') })));
  }
  sel.value = r.query.get('edge') || '';
}

// ------------------------------------------------------------------ loading

function historyUrl(kind, params, edge) {
  const q = new URLSearchParams(params);
  if (edge) q.set('edge', edge);
  return `${ZONE}/spectrum/analytics/events/${kind}?${q}`;
}


// Fetches what the history view of route r needs, when the range, app or edge changed or the
// last answer of a relative range is older than a minute. Renders when it arrives.
function maybeLoadHistory(r) {
  const range = rangeOf(r);
  const edge = r.query.get('edge') || '';
  const fleetEdges = ((state.fleet && state.fleet.edges) || []).map((e) => e.name);
  const key = JSON.stringify([r.view, r.id || '', range, edge, fleetEdges]);
  const stale = range.key !== 'custom' && Date.now() - hist.at > HISTORY_REFRESH_MS;
  if (key === hist.key && (hist.loading || !stale)) return;
  const seq = ++hist.seq;
  if (key !== hist.key) hist.data = null;
  hist.key = key;
  hist.loading = true;
  const untilS = range.key === 'custom' ? Math.floor(range.to / 1000) : Math.floor(Date.now() / 1000);
  const sinceS = range.key === 'custom' ? Math.floor(range.from / 1000) : untilS - range.seconds;
  const [delta, step, bucket] = pickDelta(untilS - sinceS);
  const base = { metrics: 'count,bytesIngress,bytesEgress', since: isoS(sinceS), until: isoS(untilS) };
  const filters = r.view === 'app' ? { filters: `appID==${r.id}` } : {};
  const appTerm = r.view === 'app' ? `appID==${r.id};` : '';
  const jobs = [getJSON(historyUrl('bytime', { ...base, ...filters, dimensions: 'event', time_delta: delta }, edge))];
  // Errors by status: the disconnects whose status is not 2xx.
  jobs.push(getJSON(historyUrl('bytime', { metrics: 'count', since: base.since, until: base.until, dimensions: 'status',
    filters: `${appTerm}event==disconnect;status>=300`, time_delta: delta }, edge)));
  // Guard drops by reason: summed over a fleet, or the picked edge's, like the rest.
  const dq = new URLSearchParams({ since: base.since, until: base.until, time_delta: delta });
  if (r.view === 'app') dq.set('app', r.id);
  if (edge) dq.set('edge', edge);
  jobs.push(getJSON(`${ZONE}/rampart/analytics/drops/bytime?${dq}`));
  jobs.push(r.view === 'overview'
    ? getJSON(historyUrl('summary', { ...base, dimensions: 'appID,event', limit: 10000 }, edge)) : null);
  // Summed over a fleet: each edge's totals too (one small summary per edge).
  jobs.push(!edge && fleetEdges.length >= 2 ? Promise.all(fleetEdges.map((name) =>
    getJSON(historyUrl('summary', { ...base, ...filters, dimensions: 'event' }, name))
      .then((res) => ({ name, sums: eventSums(res.data, 0) }), (e) => ({ name, error: e.message }))))
    : null);
  Promise.all(jobs).then(([bytime, byStatus, drops, perApp, perEdge]) => {
    if (seq !== hist.seq) return;
    hist.data = { bytime, byStatus, drops, perApp, perEdge, range, bucket, step, sinceS, untilS, edge };
    hist.error = '';
  }, (e) => {
    if (seq !== hist.seq || e instanceof AuthError) return;
    hist.error = e.message;
  }).finally(() => {
    if (seq !== hist.seq) return;
    hist.loading = false;
    hist.at = Date.now();
    render();
  });
}

// Totals by event of summary rows whose dimension `i` is the event: {event: {count, in, out}}.
function eventSums(rows, i) {
  const out = {};
  for (const row of rows || []) {
    const ev = row.dimensions[i];
    const s = out[ev] || (out[ev] = { count: 0, in: 0, out: 0 });
    s.count += row.metrics[0] || 0;
    s.in += row.metrics[1] || 0;
    s.out += row.metrics[2] || 0;
  }
  return out;
}

// The headline numbers of {event: {count, in, out}}.
function headline(sums) {
  const total = (f, evs) => Object.entries(sums).reduce((a, [ev, s]) => a + (!evs || evs.includes(ev) ? s[f] : 0), 0);
  return {
    connections: total('count', ['connect']), bytesIn: total('in'), bytesOut: total('out'),
    errors: total('count', Object.keys(ERROR_EVENTS)), refused: total('count', ['clientFiltered']),
  };
}

// ------------------------------------------------------------------ rendering

function renderHistory(r) {
  const range = rangeOf(r);
  const d = hist.data;
  $('#history-title').textContent = r.view === 'app' ? r.id : 'All apps';
  const edgeText = d && d.edge ? ` · edge ${d.edge}` : (state.fleet && state.fleet.edges.length >= 2 ? ` · summed over ${state.fleet.edges.length} edges` : '');
  const when = range.key === 'custom'
    ? `${new Date(range.from).toLocaleString('en-GB')} – ${new Date(range.to).toLocaleString('en-GB')}` : RANGE_TEXT[range.key];
  $('#history-meta').textContent = `${when}${d ? ` · per ${d.bucket}` : ''}${edgeText}${hist.loading ? ' · loading…' : ''}`;
  $('#history-error').textContent = hist.error ? `History unavailable: ${hist.error}` : '';
  show('history-error', !!hist.error);
  show('history-apps-card', r.view === 'overview');
  if (!d) return;
  const b = d.bytime;
  const times = (b.time_intervals || []).map((iv) => Date.parse(iv[0]));
  const n = times.length;
  const byEvent = {};
  for (const row of b.data || []) byEvent[row.dimensions[0]] = row.metrics;
  const col = (ev, m) => (byEvent[ev] ? byEvent[ev][m] : new Array(n).fill(0));
  const sumCols = (m, evs) => times.map((_, k) => Object.entries(byEvent)
    .reduce((a, [ev, ms]) => a + (!evs || evs.includes(ev) ? (ms[m][k] || 0) : 0), 0));
  const sums = {};
  for (const [ev, ms] of Object.entries(byEvent)) {
    sums[ev] = { count: ms[0].reduce((a, v) => a + v, 0), in: ms[1].reduce((a, v) => a + v, 0), out: ms[2].reduce((a, v) => a + v, 0) };
  }
  const h = headline(sums);
  $('#history-tiles').replaceChildren(
    tile('Connections', fmtInt(h.connections), 'opened in this range', { 'data-metric': 'connections', 'data-value': h.connections }),
    tile('Bytes in', fmtBytes(h.bytesIn), 'client → edge', { 'data-metric': 'bytesIngress', 'data-value': h.bytesIn, title: `${fmtInt(h.bytesIn)} bytes` }),
    tile('Bytes out', fmtBytes(h.bytesOut), 'edge → client', { 'data-metric': 'bytesEgress', 'data-value': h.bytesOut, title: `${fmtInt(h.bytesOut)} bytes` }),
    tile('Errors', fmtInt(h.errors), 'origin, TLS, resolution', { 'data-metric': 'errors', 'data-value': h.errors }),
    tile('Refused', fmtInt(h.refused), 'firewall, limits, validator', { 'data-metric': 'refused', 'data-value': h.refused }),
  );
  const per = `per ${d.bucket}`;
  const opts = { timeAxis: true, legend: 'sum', legendFmt: fmtInt, integer: true };
  caption('h-connections', `New connections ${per}`);
  lineChart('h-connections', times, [{ key: 'connect', label: 'opened, total', values: col('connect', 0) }], fmtCompact, opts);
  caption('h-bytes', `Bytes ${per}`);
  lineChart('h-bytes', times, [
    { key: 'bytesIngress', label: 'in (client → edge), total', values: sumCols(1) },
    { key: 'bytesEgress', label: 'out (edge → client), total', values: sumCols(2) },
  ], fmtBytes, { ...opts, legendFmt: fmtBytes, bytes: true });
  caption('h-errors', `Errors by type ${per}`);
  const errSeries = Object.entries(ERROR_EVENTS).filter(([ev]) => byEvent[ev])
    .map(([ev, label], i) => ({ key: ev, label: `${label}, total`, values: col(ev, 0), cls: `s${(i + 3) % 6}` }));
  if (!errSeries.length) errSeries.push({ key: 'none', label: 'no errors', values: new Array(n).fill(0), cls: 's2' });
  lineChart('h-errors', times, errSeries, fmtCompact, opts);
  caption('h-refused', `Refused connections ${per}`);
  lineChart('h-refused', times, [{ key: 'clientFiltered', label: 'refused, total', values: col('clientFiltered', 0), cls: 's3' }], fmtCompact, opts);
  renderStatusAndDrops(d, times, per, opts);
  renderHistoryApps(r, d);
  renderHistoryEdges(d);
}

// Errors by status (one line per non-2xx status) and guard drops by reason (one line per reason),
// with their totals as tiles.
function renderStatusAndDrops(d, times, per, opts) {
  const n = times.length;
  const sum = (vs) => vs.reduce((a, v) => a + (v || 0), 0);
  const statusSeries = (d.byStatus.data || []).map((row, i) => {
    const code = row.dimensions[0];
    return { key: `status-${code}`, label: `${code} ${STATUS_TEXT[code] || ''}`.trim(), values: row.metrics[0], cls: `s${(i + 3) % 6}` };
  });
  const statusTotal = statusSeries.reduce((a, s) => a + sum(s.values), 0);
  if (!statusSeries.length) statusSeries.push({ key: 'none', label: 'no errors', values: new Array(n).fill(0), cls: 's2' });
  caption('h-status', `Errors by status (non-2xx disconnects ${per})`);
  lineChart('h-status', times, statusSeries, fmtCompact, opts);
  // The drops answer has its own buckets (same since, until and time_delta: the same times).
  const dropSeries = (d.drops.data || []).map((row, i) => ({ key: `drop-${row.reason}`, label: row.reason, values: row.series, cls: `s${(i + 1) % 6}` }));
  const dropTotal = d.drops.total || 0;
  if (!dropSeries.length) dropSeries.push({ key: 'none', label: 'no drops', values: new Array(n).fill(0), cls: 's2' });
  caption('h-drops', `Guard drops by reason (connections and datagrams ${per})`);
  lineChart('h-drops', times, dropSeries, fmtCompact, opts);
  $('#history-tiles').append(
    tile('Status errors', fmtInt(statusTotal), 'non-2xx disconnects', { 'data-metric': 'statusErrors', 'data-value': statusTotal }),
    tile('Drops', fmtInt(dropTotal), 'guard drops', { 'data-metric': 'drops', 'data-value': dropTotal }),
  );
}

function caption(name, text) { $(`figure[data-chart="${name}"] figcaption`).textContent = text; }

function historyCells(h) {
  return [el('td', { class: 'num', text: fmtInt(h.connections) }), el('td', { class: 'num', text: fmtBytes(h.bytesIn), title: `${fmtInt(h.bytesIn)} bytes` }),
    el('td', { class: 'num', text: fmtBytes(h.bytesOut), title: `${fmtInt(h.bytesOut)} bytes` }),
    el('td', { class: 'num', text: fmtInt(h.errors) }), el('td', { class: 'num', text: fmtInt(h.refused) })];
}

function renderHistoryApps(r, d) {
  if (r.view !== 'overview' || !d.perApp) return;
  const byApp = {};
  for (const row of d.perApp.data || []) (byApp[row.dimensions[0]] = byApp[row.dimensions[0]] || []).push(row);
  const rows = Object.entries(byApp).map(([id, rows]) => ({ id, h: headline(eventSums(rows, 1)) }))
    .sort((a, b) => b.h.connections - a.h.connections || a.id.localeCompare(b.id));
  const q = new URLSearchParams(r.query);
  $('#history-apps tbody').replaceChildren(...rows.map(({ id, h }) => el('tr', { 'data-app': id },
    el('td', {}, el('a', { href: withQuery(`/app/${encodeURIComponent(id)}`, q), text: id })), ...historyCells(h))));
  show('history-apps-empty', rows.length === 0);
}

function renderHistoryEdges(d) {
  show('history-edges-card', !!d.perEdge);
  if (!d.perEdge) return;
  $('#history-edges tbody').replaceChildren(...d.perEdge.map((e) => el('tr', { 'data-edge': e.name },
    el('td', { text: e.name }),
    ...(e.error ? [el('td', { colspan: 5, class: 'error', text: e.error })] : historyCells(headline(e.sums))))));
}
