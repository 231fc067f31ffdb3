// Rampart dashboard: SVG line charts (no chart library; see docs/dashboard.md) and sparklines.
'use strict';

// A line chart into `fig` (a <figure> with .plot and .legend, or its data-chart name): y from 0
// to a rounded max with four labelled steps, x over the samples' times (ms). opts.timeAxis: label
// the x axis with clock times/dates (history) instead of "-5m … now" (live); opts.legend: 'last'
// (the newest value, default) or 'sum' (the total over the range); opts.integer: whole numbers
// only (counts, bytes), so the y axis never has steps below 1; opts.bytes: steps round in
// KiB/MiB/GiB (powers of 1024) rather than powers of ten. The figure gets data-max (the
// largest value) and data-points so that tests and scripts can tell it has data, and each legend
// entry data-series/data-value.
function lineChart(fig, times, series, fmt, opts) {
  if (typeof fig === 'string') fig = document.querySelector(`figure[data-chart="${fig}"]`);
  opts = opts || {};
  const plot = fig.querySelector('.plot');
  const W = Math.max(280, plot.clientWidth || 600), H = 180;
  const padL = 64, padR = 10, padT = 8, padB = 20;
  const iw = W - padL - padR, ih = H - padT - padB;
  const max = Math.max(0, ...series.flatMap((s) => s.values));
  fig.dataset.max = String(max);
  fig.dataset.points = String(times.length);
  const unit = opts.bytes && max >= 1024 ? Math.pow(1024, Math.min(4, Math.floor(Math.log(max) / Math.log(1024)))) : 1;
  let top = niceMax(max / unit) * unit;
  if (opts.integer) top = 4 * Math.ceil(Math.max(4, top) / 4);
  const caption = fig.querySelector('figcaption').textContent;
  // One <svg> per figure, drawn into again on every refresh, so that a focused chart keeps the
  // focus (the live view redraws every second). Focusable: the arrow keys, Home and End read the
  // samples one by one (chartKey), as the mouse does by hovering.
  let root = plot.querySelector('svg.chart-svg');
  if (!root) {
    root = svg('svg', { class: 'chart-svg', role: 'img', tabindex: '0' });
    root.addEventListener('mousemove', (e) => hover(e, root, root.chart.cursor, root.chart));
    root.addEventListener('mouseleave', () => hideTip(root));
    root.addEventListener('keydown', (e) => chartKey(e, root));
    root.addEventListener('blur', () => { hideTip(root); root.chart.pick = null; });
    plot.replaceChildren(root);
  }
  root.replaceChildren();
  root.setAttribute('viewBox', `0 0 ${W} ${H}`);
  root.setAttribute('aria-label', `${caption}: arrow keys read the values`);
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
  const ticks = opts.timeAxis ? timeTicks(t0, t1, Math.max(2, Math.floor(iw / 110)))
    : [[t0, n ? `−${fmtDuration((t1 - t0) / 1000)}` : ''], [t1, 'now']];
  for (const [t, text] of ticks) {
    const x = xOf(t);
    const anchor = x < padL + 30 ? 'start' : (x > W - padR - 30 ? 'end' : 'middle');
    const tx = svg('text', { class: 'tick', x, y: H - 4, 'text-anchor': anchor });
    tx.textContent = text;
    root.append(tx);
    if (opts.timeAxis) root.append(svg('line', { class: 'axis', x1: x, x2: x, y1: padT + ih, y2: padT + ih + 4 }));
  }
  series.forEach((s, i) => {
    const cls = s.cls || `s${i % 6}`;
    if (n < 1) return;
    const pts = s.values.map((v, k) => `${xOf(times[k]).toFixed(1)},${yOf(v).toFixed(1)}`);
    if (n === 1) pts.push(`${(W - padR).toFixed(1)},${yOf(s.values[0]).toFixed(1)}`);
    if (series.length === 1) {
      root.append(svg('polygon', { class: `area ${cls}`,
        points: `${padL},${padT + ih} ${pts.join(' ')} ${W - padR},${padT + ih}` }));
    }
    root.append(svg('polyline', { class: `line ${cls}`, points: pts.join(' ') }));
  });
  const cursor = svg('line', { class: 'cursor', x1: 0, x2: 0, y1: padT, y2: padT + ih, visibility: 'hidden' });
  root.append(cursor);
  // The sample the keyboard is on survives the redraw by its time (the live window slides), or
  // as "the newest" after End.
  const pick = root.chart ? root.chart.pick : null;
  root.chart = { times, series, fmt, xOf, padL, iw, W, cursor, pick: null,
    dates: !!opts.timeAxis && span > 86400e3 };
  if (pick && document.activeElement === root) {
    if (!n) hideTip(root);
    else showKeyed(root, pick.newest ? n - 1 : nearest(times, pick.t), pick.newest, false);
  }
  const sum = opts.legend === 'sum';
  fig.querySelector('.legend').replaceChildren(...series.map((s, i) => {
    const v = sum ? s.values.reduce((a, b) => a + (b || 0), 0) : (s.values.length ? s.values[s.values.length - 1] : 0);
    return el('span', { 'data-series': s.key || s.label, 'data-value': v },
      el('span', { class: `swatch ${s.cls || `s${i % 6}`}` }), `${s.label} `,
      el('b', { text: (opts.legendFmt || fmt)(v) }));
  }));
}

// The index of the time closest to t.
function nearest(times, t) {
  let k = 0;
  for (let i = 1; i < times.length; i++) if (Math.abs(times[i] - t) < Math.abs(times[k] - t)) k = i;
  return k;
}

function hideTip(root) {
  if (root.chart) root.chart.cursor.setAttribute('visibility', 'hidden');
  show('tooltip', false);
}

// End, Home and the arrows move along the samples; Escape lets go. Other keys (Tab, and any with
// a modifier: Alt+Left is the browser's Back) are left alone.
function chartKey(e, root) {
  const c = root.chart;
  if (!c || e.altKey || e.ctrlKey || e.metaKey) return;
  const last = c.times.length - 1;
  if (e.key === 'Escape') { hideTip(root); c.pick = null; return; }
  if (last < 0) return;
  const at = c.pick ? (c.pick.newest ? last : nearest(c.times, c.pick.t)) : -1;
  const next = { ArrowLeft: at < 0 ? last : Math.max(0, at - 1), ArrowRight: at < 0 ? last : Math.min(last, at + 1),
    Home: 0, End: last }[e.key];
  if (next === undefined) return;
  e.preventDefault();
  showKeyed(root, next, e.key === 'End' || (next === last && at === last), true);
}

// The keyboard's sample k: cursor and tooltip at it; `announce`: read out (on a key press only,
// never on a redraw, so a screen reader is not told the same thing every second).
function showKeyed(root, k, newest, announce) {
  const c = root.chart;
  c.pick = { t: c.times[k], newest };
  const box = root.getBoundingClientRect();
  showPoint(root, c.cursor, c, k, box.left + (c.xOf(c.times[k]) / c.W) * box.width, box.top + 8);
  if (announce) $('#chart-announce').textContent = [...$('#tooltip').children].map((d) => d.textContent).join('; ');
}

// About `count` evenly spread x-axis labels between t0 and t1 (ms), at round times.
function timeTicks(t0, t1, count) {
  const span = t1 - t0;
  if (!(span > 0)) return [];
  const steps = [60e3, 300e3, 600e3, 1800e3, 3600e3, 3 * 3600e3, 6 * 3600e3, 12 * 3600e3, 86400e3, 2 * 86400e3, 7 * 86400e3];
  const step = steps.find((s) => span / s <= count) || steps[steps.length - 1];
  const offset = new Date(t0).getTimezoneOffset() * 60e3;  // round in local time
  const out = [];
  for (let t = Math.ceil((t0 - offset) / step) * step + offset; t <= t1; t += step) {
    const d = new Date(t);
    const hm = d.toLocaleTimeString('en-GB', { hour: '2-digit', minute: '2-digit' });
    const day = d.toLocaleDateString('en-GB', { day: 'numeric', month: 'short' });
    out.push([t, step >= 86400e3 ? day : (span > 86400e3 && hm === '00:00' ? day : hm)]);
  }
  return out;
}

function hover(e, root, cursor, c) {
  if (!c.times.length) return;
  const box = root.getBoundingClientRect();
  const x = ((e.clientX - box.left) / box.width) * c.W;
  const frac = Math.min(1, Math.max(0, (x - c.padL) / c.iw));
  showPoint(root, cursor, c, Math.round(frac * (c.times.length - 1)), e.clientX, e.clientY);
}

// The cursor on point k and the tooltip with its time and values, near (px, py) on the screen.
function showPoint(root, cursor, c, k, px, py) {
  const cx = c.xOf(c.times[k]);
  cursor.setAttribute('x1', cx);
  cursor.setAttribute('x2', cx);
  cursor.setAttribute('visibility', 'visible');
  const tip = $('#tooltip');
  const d = new Date(c.times[k]);
  const when = c.dates ? d.toLocaleString('en-GB', { day: 'numeric', month: 'short', hour: '2-digit', minute: '2-digit' })
    : d.toLocaleTimeString('en-GB');
  tip.replaceChildren(el('div', { text: when }),
    ...c.series.map((s, i) => el('div', {}, el('span', { class: `swatch ${s.cls || `s${i % 6}`}` }),
      `${s.label}: `, el('b', { text: c.fmt(s.values[k]) }))));
  tip.dataset.point = String(k);
  tip.hidden = false;
  tip.style.left = `${Math.min(px + 14, window.innerWidth - tip.offsetWidth - 4)}px`;
  tip.style.top = `${py + 14}px`;
}

// The top of the y axis: four equal steps of 1, 2, 2.5 or 5 times a power of ten.
function niceMax(v) {
  if (!(v > 0)) return 1;
  const raw = v / 4;
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 2.5, 5, 10]) if (raw <= m * p) return 4 * m * p;
  return 40 * p;
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
