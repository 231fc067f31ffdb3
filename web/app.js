// Rampart dashboard: a small single-page app over the edge's own API (no framework, no CDN).
// Auth: the session cookie set by POST /dashboard/login (HttpOnly; this script never sees it).
// Data: GET .../spectrum/analytics/live and .../analytics/protection every second, the app list
// every 15 s. Every string from the API reaches the page through textContent, never as HTML.
'use strict';

const ZONE = '/client/v4/zones/default';
const REFRESH_MS = 1000;
const APPS_REFRESH_MS = 15000;
const FLEET_REFRESH_MS = 5000;  // aggregate/current asks every edge of the fleet
const SVG_NS = 'http://www.w3.org/2000/svg';

// SPEC §5 plus Rampart's TLS codes.
const STATUS_TEXT = {
  0: 'connection opened', 200: 'normal close', 403: 'denied (firewall, geo, limits, validator)',
  443: 'client TLS handshake failed', 490: 'client TLS error', 444: 'origin sent RST',
  445: 'origin timed out', 448: 'origin broken pipe', 497: 'client timed out',
  498: 'client broken pipe', 499: 'client sent RST', 521: 'origin refused',
  522: 'origin connect timeout', 523: 'origin unreachable', 525: 'origin TLS handshake failed',
  526: 'origin certificate invalid', 531: 'origin not resolved', 999: 'unknown error',
};

const state = {
  live: null,          // result of /analytics/live
  protection: null,    // result of /analytics/protection
  apps: [],            // result of /spectrum/apps
  appsFetchedAt: 0,
  fleet: null,         // { edges: [...], current: [...] } in fleet mode (more than one edge)
  fleetFetchedAt: 0,
  timer: null,
  signedIn: false,
  errors: {},          // endpoint -> message of its last failure
};

// ------------------------------------------------------------------ DOM helpers

const $ = (sel) => document.querySelector(sel);

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else if (k.startsWith('on')) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function svg(tag, attrs) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
  return node;
}

function show(id, visible) { document.getElementById(id).hidden = !visible; }

// ------------------------------------------------------------------ formatting

function fmtInt(n) { return Math.round(n || 0).toLocaleString('en-US'); }

function fmtCompact(n) {
  n = n || 0;
  const a = Math.abs(n);
  if (a >= 1e9) return (n / 1e9).toFixed(a >= 1e10 ? 0 : 1) + 'G';
  if (a >= 1e6) return (n / 1e6).toFixed(a >= 1e7 ? 0 : 1) + 'M';
  if (a >= 1e3) return (n / 1e3).toFixed(a >= 1e4 ? 0 : 1) + 'k';
  if (a > 0 && a < 1 && !Number.isInteger(n)) return n.toFixed(2).replace(/0$/, '');
  if (a > 0 && a < 10 && !Number.isInteger(n)) return n.toFixed(1);
  return String(Math.round(n));
}

function fmtBytes(n) {
  n = n || 0;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (Math.abs(n) >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? String(Math.round(n)) : n.toFixed(Math.abs(n) >= 100 ? 0 : 1)) + ' ' + units[i];
}

function fmtRate(n) { return fmtBytes(n) + '/s'; }

function fmtDuration(s) {
  s = Math.max(0, Math.round(s || 0));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  if (h) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m) return `${m}m ${String(r).padStart(2, '0')}s`;
  return `${r}s`;
}

let regionNames = null;
try { regionNames = new Intl.DisplayNames(['en'], { type: 'region' }); } catch (e) { /* old browser */ }

function countryName(code) {
  if (!code || code === 'ZZ' || code === '--') return 'Unknown';
  try {
    const name = regionNames && regionNames.of(code);
    if (name && name !== code && !/unknown/i.test(name)) return name;
  } catch (e) { /* not a region code */ }
  return '';
}

// ------------------------------------------------------------------ API

class AuthError extends Error {}

async function getJSON(path) {
  const res = await fetch(path, { credentials: 'same-origin', cache: 'no-store',
                                  headers: { Accept: 'application/json' } });
  if (res.status === 401) throw new AuthError('signed out');
  let body = null;
  try { body = await res.json(); } catch (e) { /* not JSON */ }
  if (!res.ok || !body || body.success !== true) {
    const why = body && body.errors && body.errors.length ? body.errors[0].message : `HTTP ${res.status}`;
    throw new Error(why);
  }
  return body.result;
}

async function signIn(token) {
  const res = await fetch('/dashboard/login', {
    method: 'POST', credentials: 'same-origin', cache: 'no-store',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({ token }),
  });
  if (res.ok) return null;
  if (res.status === 401) return 'Wrong API token.';
  return `Sign-in failed (HTTP ${res.status}).`;
}

async function signOut() {
  try { await fetch('/dashboard/logout', { method: 'POST', credentials: 'same-origin' }); } catch (e) { /* offline */ }
  stopPolling();
  showLogin();
}

// ------------------------------------------------------------------ polling

async function refresh() {
  const wantApps = Date.now() - state.appsFetchedAt > APPS_REFRESH_MS;
  const jobs = [
    getJSON(`${ZONE}/spectrum/analytics/live`).then((r) => { state.live = r; delete state.errors.live; },
      (e) => { if (e instanceof AuthError) throw e; state.errors.live = e.message; }),
    getJSON(`${ZONE}/spectrum/analytics/protection`).then((r) => { state.protection = r; delete state.errors.protection; },
      (e) => { if (e instanceof AuthError) throw e; state.errors.protection = e.message; }),
  ];
  if (wantApps) {
    jobs.push(getJSON(`${ZONE}/spectrum/apps?per_page=1000`).then((r) => {
      state.apps = Array.isArray(r) ? r : []; state.appsFetchedAt = Date.now(); delete state.errors.apps;
    }, (e) => { if (e instanceof AuthError) throw e; state.errors.apps = e.message; }));
  }
  if (Date.now() - state.fleetFetchedAt > FLEET_REFRESH_MS) {
    state.fleetFetchedAt = Date.now();
    jobs.push((async () => {
      try {
        const edges = await getJSON(`${ZONE}/rampart/edges`);
        // One edge (SQLite, or alone in etcd): the overview above is already the whole picture.
        if (!Array.isArray(edges) || edges.length < 2) { state.fleet = null; return; }
        const current = await getJSON(`${ZONE}/spectrum/analytics/aggregate/current`);
        state.fleet = { edges, current: Array.isArray(current) ? current : [] };
        delete state.errors.fleet;
      } catch (e) {
        if (e instanceof AuthError) throw e;
        state.errors.fleet = e.message;
      }
    })());
  }
  try {
    await Promise.all(jobs);
    delete state.errors.network;  // every request answered: whatever failed before has recovered
  } catch (e) {
    if (e instanceof AuthError) { stopPolling(); showLogin('Your session has ended; sign in again.'); return; }
    state.errors.network = e.message;
  }
  render();
}

function startPolling() {
  stopPolling();
  state.signedIn = true;
  const tick = async () => {
    const started = Date.now();
    try { await refresh(); } catch (e) { state.errors.network = String(e.message || e); render(); }
    if (state.signedIn) state.timer = setTimeout(tick, Math.max(200, REFRESH_MS - (Date.now() - started)));
  };
  tick();
}

function stopPolling() {
  state.signedIn = false;
  if (state.timer) clearTimeout(state.timer);
  state.timer = null;
}

// ------------------------------------------------------------------ views

function route() {
  const m = /^#\/app\/(.+)$/.exec(location.hash);
  return m ? { view: 'app', id: decodeURIComponent(m[1]) } : { view: 'overview' };
}

function showLogin(message) {
  state.signedIn = false;
  for (const id of ['overview-view', 'app-view', 'protection', 'logout', 'fatal']) show(id, false);
  $('#crumbs').replaceChildren();
  $('#status').replaceChildren();
  show('login-view', true);
  const err = $('#login-error');
  err.textContent = message || '';
  err.hidden = !message;
  $('#token').focus();
}

function showDashboard() {
  show('login-view', false);
  show('logout', true);
  render();
}

function render() {
  if (!state.signedIn) return;
  const r = route();
  show('overview-view', r.view === 'overview');
  show('app-view', r.view === 'app');
  show('protection', true);
  renderStatus();
  const crumbs = $('#crumbs');
  if (r.view === 'app') {
    crumbs.replaceChildren(el('a', { href: '#/', text: 'Apps' }), ' / ', r.id);
    renderApp(r.id);
  } else {
    crumbs.replaceChildren('Apps');
    renderOverview();
  }
  renderProtection();
}

function renderStatus() {
  const status = $('#status');
  const errs = Object.entries(state.errors);
  status.classList.toggle('stale', errs.length > 0);
  const when = state.live && state.live.now ? new Date(state.live.now).toLocaleTimeString('en-GB') : '';
  const text = errs.length ? `${errs[0][0]}: ${errs[0][1]}` : `live · updated ${when}`;
  status.replaceChildren(el('span', { class: 'dot' }), text);
  status.title = errs.map(([k, v]) => `${k}: ${v}`).join('\n');
}

// Per-second rate of a series field over the last `n` samples (a few, so that one slow second
// does not make the tables flicker).
function rate(app, field, n = 3) {
  const s = (app && app.series) || [];
  if (!s.length) return 0;
  const tail = s.slice(-n);
  const ms = (state.live && state.live.interval_ms) || 1000;
  return tail.reduce((a, p) => a + (p[field] || 0), 0) / (tail.length * ms / 1000);
}

function liveApps() { return (state.live && state.live.apps) || []; }

// The apps of the config/API merged with their live stats (an app with no traffic has none).
function mergedApps() {
  const byId = new Map();
  for (const a of state.apps) {
    byId.set(a.id, { appID: a.id, protocol: a.protocol, dns: a.dns && a.dns.name, config: a, live: null });
  }
  for (const l of liveApps()) {
    const row = byId.get(l.appID) || { appID: l.appID, protocol: l.protocol, dns: l.dns, config: null };
    row.live = l;
    row.protocol = row.protocol || l.protocol;
    row.dns = row.dns || l.dns;
    byId.set(l.appID, row);
  }
  return [...byId.values()].sort((a, b) =>
    ((b.live && b.live.totals.connections) || 0) - ((a.live && a.live.totals.connections) || 0) ||
    String(a.appID).localeCompare(String(b.appID)));
}

function tile(label, value, sub) {
  return el('div', { class: 'tile' }, el('div', { class: 'label', text: label }),
    el('div', { class: 'value', text: value }), sub ? el('div', { class: 'sub', text: sub }) : null);
}

function renderOverview() {
  const rows = mergedApps();
  const live = liveApps();
  const sum = (f) => live.reduce((a, x) => a + f(x), 0);
  $('#zone-tiles').replaceChildren(
    tile('Apps', fmtInt(rows.length)),
    tile('Active connections', fmtInt(sum((a) => a.totals.connections || 0))),
    tile('New connections/s', fmtCompact(sum((a) => rate(a, 'connects')))),
    tile('Ingress', fmtRate(sum((a) => rate(a, 'bytesIngress'))), 'client → edge'),
    tile('Egress', fmtRate(sum((a) => rate(a, 'bytesEgress'))), 'edge → client'),
    tile('Errors/s', fmtCompact(sum((a) => rate(a, 'errors')))),
    tile('Drops', fmtInt(state.protection ? Object.values(state.protection.drops || {}).reduce((a, b) => a + b, 0) : 0), 'since start'),
  );
  const tbody = $('#apps-table tbody');
  tbody.replaceChildren(...rows.map((r) => {
    const l = r.live;
    const t = (l && l.totals) || {};
    const tr = el('tr', { 'data-app': r.appID, onclick: () => { location.hash = '#/app/' + encodeURIComponent(r.appID); } },
      el('td', {}, el('a', { href: '#/app/' + encodeURIComponent(r.appID), text: r.appID })),
      el('td', { class: 'code', text: r.protocol || '' }),
      el('td', { text: r.dns || '' }),
      el('td', { class: 'num', text: fmtInt(t.connections) }),
      el('td', { class: 'num', text: fmtCompact(rate(l, 'connects')) }),
      el('td', { class: 'num', text: fmtRate(rate(l, 'bytesIngress')) }),
      el('td', { class: 'num', text: fmtRate(rate(l, 'bytesEgress')) }),
      el('td', { class: 'num', text: fmtCompact(rate(l, 'errors')) }),
      el('td', { class: 'num', text: fmtInt(t.connectionsTotal) }),
      el('td', { class: 'num', text: fmtInt(t.drops) }),
      el('td', {}, sparkline(((l && l.series) || []).map((p) => p.connections || 0))),
    );
    return tr;
  }));
  show('apps-empty', rows.length === 0);
  renderFleet();
}

function renderFleet() {
  const f = state.fleet;
  show('fleet', !!f);
  if (!f) return;
  $('#fleet-summary').textContent = `${f.edges.length} live edges · apps summed over all of them`;
  $('#fleet-apps tbody').replaceChildren(...f.current.map((r) => el('tr', {},
    el('td', { text: r.appID }),
    el('td', { class: 'num', text: fmtInt(r.connections) }),
    el('td', { class: 'num', text: fmtBytes(r.bytesIngress) }),
    el('td', { class: 'num', text: fmtBytes(r.bytesEgress) }),
    el('td', { class: 'num', text: (r.durationAvg || 0) < 1000 ? `${Math.round(r.durationAvg || 0)} ms` : fmtDuration(r.durationAvg / 1000) }))));
  $('#fleet-edges tbody').replaceChildren(...f.edges.map((e) => el('tr', {},
    el('td', { text: e.name + (e.self ? ' (this edge)' : '') }),
    el('td', { text: e.colo || '' }),
    el('td', { text: e.health || '' }),
    el('td', { text: e.version || '' }))));
}

function sparkline(values) {
  const w = 120, h = 24;
  const s = svg('svg', { viewBox: `0 0 ${w} ${h}`, width: w, height: h, 'aria-hidden': 'true' });
  if (values.length < 2) return s;
  const max = Math.max(1, ...values);
  const pts = values.map((v, i) => `${(i / (values.length - 1) * w).toFixed(1)},${(h - 1 - v / max * (h - 2)).toFixed(1)}`);
  s.append(svg('polyline', { class: 'spark', points: pts.join(' ') }));
  return s;
}

function renderApp(id) {
  const row = mergedApps().find((r) => r.appID === id);
  $('#app-title').textContent = id;
  if (!row) {
    $('#app-meta').textContent = state.appsFetchedAt ? 'No such app on this edge.' : '';
    $('#app-tiles').replaceChildren();
    show('app-nodata', false);
    return;
  }
  const cfg = row.config || {};
  // origin_dns: the name, then the addresses it resolves to now (what new connections use).
  const now = ((row.live && row.live.origins) || []).map((o) => o.origin.replace(/^[a-z]+:\/\//, '') + (o.up ? '' : ' (down)'));
  const origins = cfg.origin_direct ? cfg.origin_direct.join(', ')
    : cfg.origin_dns ? `${cfg.origin_dns.name}:${cfg.origin_port} = ${now.length ? now.join(', ') : 'not resolved (531)'}` : '';
  $('#app-meta').textContent = [row.protocol, row.dns, origins && `→ ${origins}`,
    cfg.proxy_protocol && cfg.proxy_protocol !== 'off' && `proxy protocol ${cfg.proxy_protocol}`,
    cfg.tls && cfg.tls !== 'off' && `TLS ${cfg.tls}`].filter(Boolean).join(' · ');
  const l = row.live;
  const t = (l && l.totals) || {};
  const ev = t.events || {};
  $('#app-tiles').replaceChildren(
    tile('Active connections', fmtInt(t.connections)),
    tile('Connections', fmtInt(t.connectionsTotal), 'since start'),
    tile('Bytes in', fmtBytes(t.bytesIngress), `${fmtRate(rate(l, 'bytesIngress', 5))} now`),
    tile('Bytes out', fmtBytes(t.bytesEgress), `${fmtRate(rate(l, 'bytesEgress', 5))} now`),
    tile('Errors', fmtInt((ev.originError || 0) + (ev.tlsError || 0)), 'origin and TLS errors'),
    tile('Filtered / dropped', fmtInt(t.drops || ev.clientFiltered || 0)),
  );
  show('app-nodata', !l);
  renderCharts(l);
  renderGeo(l);
  renderTotals(t);
}

function renderCharts(l) {
  const series = (l && l.series) || [];
  const ms = (state.live && state.live.interval_ms) || 1000;
  const perSec = (v) => (v || 0) * 1000 / ms;
  const times = series.map((p) => p.t);
  const col = (f, scale) => series.map((p) => (scale ? perSec(p[f]) : (p[f] || 0)));
  lineChart('connections', times, [{ label: 'active', values: col('connections') }], fmtCompact);
  lineChart('bytes', times, [
    { label: 'ingress (client → edge)', values: col('bytesIngress', true) },
    { label: 'egress (edge → client)', values: col('bytesEgress', true) },
  ], fmtRate);
  lineChart('events', times, [
    { label: 'connects', values: col('connects', true) },
    { label: 'errors', values: col('errors', true), cls: 's3' },
  ], fmtCompact);
  const codes = new Set();
  for (const p of series) for (const c of Object.keys(p.statuses || {})) if (c !== '0' && c !== '200') codes.add(c);
  const statusSeries = [...codes].sort().slice(0, 6).map((c, i) => ({
    label: `${c} ${STATUS_TEXT[c] || ''}`.trim(), values: series.map((p) => perSec((p.statuses || {})[c])), cls: `s${(i + 3) % 6}`,
  }));
  if (!statusSeries.length) statusSeries.push({ label: 'no errors', values: series.map(() => 0), cls: 's2' });
  lineChart('statuses', times, statusSeries, fmtCompact);
}

// An SVG line chart into figure[data-chart=name]: y from 0 to a rounded max, x over the samples'
// time. The figure gets data-max (largest value) so tests and scripts can tell it has data.
function lineChart(name, times, series, fmt) {
  const fig = document.querySelector(`figure[data-chart="${name}"]`);
  const plot = fig.querySelector('.plot');
  const W = Math.max(300, plot.clientWidth || 600), H = 180;
  const padL = 64, padR = 8, padT = 8, padB = 20;
  const iw = W - padL - padR, ih = H - padT - padB;
  const max = Math.max(0, ...series.flatMap((s) => s.values));
  fig.dataset.max = String(max);
  fig.dataset.points = String(times.length);
  const top = niceMax(max);
  const root = svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': fig.querySelector('figcaption').textContent });
  for (let i = 0; i <= 4; i++) {
    const y = padT + ih - (i / 4) * ih;
    root.append(svg('line', { class: 'axis', x1: padL, x2: W - padR, y1: y, y2: y }));
    const label = svg('text', { class: 'tick', x: padL - 6, y: y + 4, 'text-anchor': 'end' });
    label.textContent = fmt((top * i) / 4);
    root.append(label);
  }
  const n = times.length;
  const t0 = n ? times[0] : 0, t1 = n ? times[n - 1] : 1;
  const span = Math.max(1, t1 - t0);
  const xOf = (t) => padL + ((t - t0) / span) * iw;
  const yOf = (v) => padT + ih - (v / top) * ih;
  for (const [i, label] of [[0, n ? `−${fmtDuration((t1 - t0) / 1000)}` : ''], [1, 'now']]) {
    const tx = svg('text', { class: 'tick', x: i ? W - padR : padL, y: H - 4, 'text-anchor': i ? 'end' : 'start' });
    tx.textContent = label;
    root.append(tx);
  }
  series.forEach((s, i) => {
    const cls = s.cls || `s${i % 6}`;
    if (n >= 1) {
      const pts = s.values.map((v, k) => `${xOf(times[k]).toFixed(1)},${yOf(v).toFixed(1)}`);
      if (n === 1) pts.push(`${(W - padR).toFixed(1)},${yOf(s.values[0]).toFixed(1)}`);
      if (series.length === 1) {
        root.append(svg('polygon', { class: `area ${cls}`,
          points: `${padL},${padT + ih} ${pts.join(' ')} ${W - padR},${padT + ih}` }));
      }
      root.append(svg('polyline', { class: `line ${cls}`, points: pts.join(' ') }));
    }
  });
  const cursor = svg('line', { class: 'cursor', x1: 0, x2: 0, y1: padT, y2: padT + ih, visibility: 'hidden' });
  root.append(cursor);
  root.addEventListener('mousemove', (e) => hover(e, root, cursor, { times, series, fmt, xOf, padL, iw, W }));
  root.addEventListener('mouseleave', () => { cursor.setAttribute('visibility', 'hidden'); show('tooltip', false); });
  plot.replaceChildren(root);
  fig.querySelector('.legend').replaceChildren(...series.map((s, i) => el('span', {},
    el('span', { class: `swatch ${s.cls || `s${i % 6}`}` }), `${s.label} `,
    el('b', { text: fmt(s.values.length ? s.values[s.values.length - 1] : 0) }))));
}

function hover(e, root, cursor, c) {
  if (!c.times.length) return;
  const box = root.getBoundingClientRect();
  const x = ((e.clientX - box.left) / box.width) * c.W;
  const frac = Math.min(1, Math.max(0, (x - c.padL) / c.iw));
  const k = Math.round(frac * (c.times.length - 1));
  const cx = c.xOf(c.times[k]);
  cursor.setAttribute('x1', cx);
  cursor.setAttribute('x2', cx);
  cursor.setAttribute('visibility', 'visible');
  const tip = $('#tooltip');
  tip.replaceChildren(el('div', { text: new Date(c.times[k]).toLocaleTimeString('en-GB') }),
    ...c.series.map((s, i) => el('div', {}, el('span', { class: `swatch ${s.cls || `s${i % 6}`}` }),
      `${s.label}: `, el('b', { text: c.fmt(s.values[k]) }))));
  tip.hidden = false;
  tip.style.left = `${e.clientX + 14}px`;
  tip.style.top = `${e.clientY + 14}px`;
}

// The top of the y axis: four equal steps of 1, 2, 2.5 or 5 times a power of ten.
function niceMax(v) {
  if (!(v > 0)) return 1;
  const raw = v / 4;
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 2.5, 5, 10]) if (raw <= m * p) return 4 * m * p;
  return 40 * p;
}

function renderGeo(l) {
  const rows = (l && l.countries) || [];
  const total = rows.reduce((a, r) => a + (r.connections || 0), 0) || 1;
  $('#geo-table tbody').replaceChildren(...rows.map((r) => {
    const name = countryName(r.country);
    return el('tr', { 'data-country': r.country },
      el('td', {}, el('span', { class: 'pill cc', text: r.country || '??' }), name ? ` ${name}` : ''),
      el('td', { class: 'num', text: fmtInt(r.connections) }),
      el('td', { class: 'num', text: fmtBytes(r.bytesIngress) }),
      el('td', { class: 'num', text: fmtBytes(r.bytesEgress) }),
      el('td', { class: 'bar-cell' }, bar((r.connections || 0) / total)));
  }));
  show('geo-empty', rows.length === 0);
  const asns = (l && l.asns) || [];
  $('#asn-table tbody').replaceChildren(...asns.map((r) => el('tr', {},
    el('td', { class: 'code', text: r.asn === 'other' ? 'other networks' : `AS${r.asn}` }),
    el('td', { class: 'num', text: fmtInt(r.connections) }))));
  show('asn-table', asns.length > 0);
}

function bar(fraction) {
  const b = el('div', { class: 'bar' });
  b.style.width = `${Math.max(0, Math.min(1, fraction)) * 100}%`;
  return b;
}

function renderTotals(t) {
  const ev = t.events || {};
  const names = ['connect', 'disconnect', 'clientFiltered', 'tlsError', 'originError'];
  for (const k of Object.keys(ev)) if (!names.includes(k)) names.push(k);
  $('#events-table tbody').replaceChildren(...names.map((k) =>
    el('tr', {}, el('td', { class: 'code', text: k }), el('td', { class: 'num', text: fmtInt(ev[k]) }))));
  const st = t.statuses || {};
  const codes = Object.keys(st).sort((a, b) => Number(a) - Number(b));
  $('#status-table tbody').replaceChildren(...codes.map((c) =>
    el('tr', {}, el('td', {}, el('span', { class: c === '0' || c === '200' ? 'pill' : 'pill bad', text: c })),
      el('td', { class: 'muted', text: STATUS_TEXT[c] || '' }), el('td', { class: 'num', text: fmtInt(st[c]) }))));
}

function renderProtection() {
  const p = state.protection;
  if (!p) {
    $('#prot-summary').textContent = state.errors.protection ? `(unavailable: ${state.errors.protection})` : '';
    return;
  }
  const drops = p.drops || {};
  const dry = p.dryRun || {};
  const reasons = [...new Set([...Object.keys(drops), ...Object.keys(dry)])]
    .filter((r) => (drops[r] || 0) + (dry[r] || 0) > 0)
    .sort((a, b) => (drops[b] || 0) - (drops[a] || 0) || a.localeCompare(b));
  const maxDrops = Math.max(1, ...reasons.map((r) => drops[r] || 0));
  const totalDrops = Object.values(drops).reduce((a, b) => a + b, 0);
  $('#prot-summary').textContent = `· ${fmtInt(totalDrops)} dropped · ${fmtInt(p.bansTotal)} bans since start`;
  $('#drops-table tbody').replaceChildren(...reasons.map((r) => el('tr', { 'data-reason': r },
    el('td', { class: 'code', text: r }), el('td', { class: 'num', text: fmtInt(drops[r]) }),
    el('td', { class: 'num', text: fmtInt(dry[r]) }), el('td', { class: 'bar-cell' }, bar((drops[r] || 0) / maxDrops)))));
  show('drops-empty', reasons.length === 0);
  const sources = p.topSources || [];
  $('#sources-table tbody').replaceChildren(...sources.map((s) => el('tr', {},
    el('td', { class: 'code', text: s.ip }), el('td', { class: 'num', text: fmtInt(s.connections) }),
    el('td', { class: 'num', text: fmtInt(s.violations) }))));
  show('sources-empty', sources.length === 0);
  const bans = p.bans || [];
  $('#bans-table tbody').replaceChildren(...bans.map((b) => el('tr', {},
    el('td', { class: 'code', text: b.ip }), el('td', { class: 'num', text: fmtDuration(b.expires_in) }))));
  show('bans-empty', bans.length === 0);
}

// ------------------------------------------------------------------ start

async function boot() {
  $('#login-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const input = $('#token');
    const button = $('#login-submit');
    button.disabled = true;
    let why;
    try { why = await signIn(input.value); } catch (err) { why = 'The edge cannot be reached.'; }
    button.disabled = false;
    input.value = '';
    if (why) { showLogin(why); return; }
    showDashboard();
    startPolling();
  });
  $('#logout').addEventListener('click', signOut);
  window.addEventListener('hashchange', render);
  window.addEventListener('resize', render);
  let ok = false;
  try {
    const res = await fetch('/dashboard/session', { credentials: 'same-origin', cache: 'no-store' });
    ok = res.ok;
  } catch (e) { /* unreachable: show the sign-in form */ }
  if (ok) { showDashboard(); startPolling(); } else { showLogin(); }
}

document.addEventListener('DOMContentLoaded', boot);
