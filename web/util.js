// Rampart dashboard, shared pieces: DOM helpers, number formats, the API client (reads, and
// writes with the session's CSRF token) and the session itself. Loaded first; the other scripts
// (chart.js, history.js, apps.js, rules.js, app.js) use these globals. Every string from the API
// reaches the page through textContent or attributes, never as HTML.
'use strict';

const ZONE = '/client/v4/zones/default';
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

// ------------------------------------------------------------------ DOM helpers

const $ = (sel, root) => (root || document).querySelector(sel);
const $$ = (sel, root) => [...(root || document).querySelectorAll(sel)];

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
    if (c === null || c === undefined || c === false) continue;
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

function tile(label, value, sub, attrs) {
  return el('div', Object.assign({ class: 'tile' }, attrs || {}), el('div', { class: 'label', text: label }),
    el('div', { class: 'value', text: value }), sub ? el('div', { class: 'sub', text: sub }) : null);
}

// Brings tbody's rows in line with `items` without rebuilding the rows that stay (a focused button
// keeps its focus while the table refreshes every second): rows are keyed by data-key; build(item)
// makes a new row, update(tr, item) refreshes one in place.
function syncRows(tbody, items, keyOf, build, update) {
  const old = new Map($$(':scope > tr', tbody).map((tr) => [tr.dataset.key, tr]));
  let prev = null;
  for (const item of items) {
    const key = String(keyOf(item));
    let tr = old.get(key);
    if (tr) { old.delete(key); if (update) update(tr, item); } else { tr = build(item); tr.dataset.key = key; }
    const want = prev ? prev.nextSibling : tbody.firstChild;
    if (want !== tr) tbody.insertBefore(tr, want);
    prev = tr;
  }
  for (const tr of old.values()) tr.remove();
}

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
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${String(m).padStart(2, '0')}m`;
  if (m) return `${m}m ${String(r).padStart(2, '0')}s`;
  return `${r}s`;
}

function plural(n, one, many) { return `${fmtInt(n)} ${n === 1 ? one : (many || one + 's')}`; }

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

// ------------------------------------------------------------------ session

// What GET /dashboard/session said: the CSRF token every write carries, and the scope ("read":
// the page hides or disables every control that would write).
const session = { csrf: '', scope: 'write', who: '', expiresIn: 0 };

function canWrite() { return session.scope === 'write'; }

async function loadSession() {
  let res;
  try { res = await fetch('/dashboard/session', { credentials: 'same-origin', cache: 'no-store' }); } catch (e) { return false; }
  if (!res.ok) return false;
  let r = {};
  try { r = (await res.json()).result || {}; } catch (e) { /* keep defaults */ }
  session.csrf = r.csrf_token || '';
  session.scope = r.scope === 'read' ? 'read' : 'write';
  session.who = r.who || '';
  session.expiresIn = r.expires_in || 0;
  document.body.classList.toggle('scope-read', !canWrite());
  return true;
}

// ------------------------------------------------------------------ API

class AuthError extends Error {}

// A refused request: status, and the envelope's errors ({code, message, source: {pointer}}).
class ApiError extends Error {
  constructor(status, errors, fallback) {
    super(errors.length ? errors.map((e) => e.message).join('; ') : fallback);
    this.status = status;
    this.errors = errors;
  }
}

// Called when any request answers 401 (set by app.js: stop polling, back to the sign-in form).
let onAuthLost = () => {};

// One API request; resolves to the whole envelope of a success. Writes carry X-CSRF-Token (and go
// out same-origin, so the browser adds Origin and Sec-Fetch-Site: same-origin).
async function apiRequest(method, path, body) {
  const headers = { Accept: 'application/json' };
  const init = { method, credentials: 'same-origin', cache: 'no-store', headers };
  if (method !== 'GET' && method !== 'HEAD') {
    headers['X-CSRF-Token'] = session.csrf;
    headers['Content-Type'] = 'application/json';
    if (body !== undefined) init.body = JSON.stringify(body);
  }
  const res = await fetch(path, init);
  if (res.status === 401) { onAuthLost(); throw new AuthError('signed out'); }
  let data = null;
  try { data = await res.json(); } catch (e) { /* not JSON */ }
  if (!res.ok || !data || data.success !== true) {
    const errors = data && Array.isArray(data.errors) ? data.errors : [];
    throw new ApiError(res.status, errors, `HTTP ${res.status}`);
  }
  return data;
}

async function getJSON(path) { return (await apiRequest('GET', path)).result; }

// What to tell the operator about a failed write.
function writeFailure(e) {
  if (e instanceof AuthError) return 'Your session has ended; sign in again.';
  if (e instanceof ApiError && e.status === 403) return `Refused (403): ${e.message}`;
  if (e instanceof ApiError) return `${e.message} (HTTP ${e.status})`;
  return `The edge cannot be reached: ${e.message}`;
}

// ------------------------------------------------------------------ confirmation dialog

// Asks in the page's <dialog id="confirm">; resolves true when the operator confirms.
function confirmDialog(title, text, action) {
  const dlg = $('#confirm');
  $('#confirm-title').textContent = title;
  $('#confirm-text').textContent = text;
  $('#confirm-ok').textContent = action;
  return new Promise((resolve) => {
    const done = (answer) => {
      $('#confirm-ok').removeEventListener('click', yes);
      $('#confirm-cancel').removeEventListener('click', no);
      dlg.removeEventListener('cancel', no);
      if (dlg.open) dlg.close();
      resolve(answer);
    };
    const yes = () => done(true);
    const no = (e) => { if (e) e.preventDefault(); done(false); };
    $('#confirm-ok').addEventListener('click', yes);
    $('#confirm-cancel').addEventListener('click', no);
    dlg.addEventListener('cancel', no);
    dlg.showModal();
    $('#confirm-cancel').focus();
  });
}

// A short message in the page's live region (#notice), cleared after a while.
let noticeTimer = null;
function notice(text, bad) {
  const n = $('#notice');
  n.textContent = text;
  n.classList.toggle('error', !!bad);
  n.hidden = !text;
  clearTimeout(noticeTimer);
  if (text) noticeTimer = setTimeout(() => { n.hidden = true; }, 8000);
}
