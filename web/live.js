// Rampart dashboard: the live views (the overview's apps table and fleet card, an app's charts of
// the last 5 minutes, geography and totals, and the protection panel), from the live and
// protection endpoints polled every second by app.js.
'use strict';

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
  // Rows are kept (not rebuilt) while they refresh: a focused link keeps its focus.
  const cells = (r) => {
    const l = r.live;
    const t = (l && l.totals) || {};
    return [
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
    ];
  };
  syncRows($('#apps-table tbody'), rows, (r) => r.appID, (r) => el('tr', {
    'data-app': r.appID, onclick: (e) => { if (!e.target.closest('a')) location.hash = '#/app/' + encodeURIComponent(r.appID); },
  }, el('td', {}, el('a', { href: '#/app/' + encodeURIComponent(r.appID), text: r.appID })), ...cells(r)),
  (tr, r) => { while (tr.cells.length > 1) tr.lastChild.remove(); tr.append(...cells(r)); });
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
    tile('Errors', fmtInt((ev.originError || 0) + (ev.tlsError || 0) + (ev.resolveOrigin || 0)), 'origin, TLS and origin-name errors'),
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
  ], fmtRate, { bytes: true });
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
