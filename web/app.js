// Rampart dashboard: a small single-page app over the edge's own API (no framework, no CDN).
// This file: state, sign-in and sessions, the polling loop, routing and the start. The views are
// in live.js (live overview and app), history.js (ranges), apps.js (app management) and rules.js
// (access rules and bans); helpers in util.js and chart.js.
// Auth: the session cookie set by POST /dashboard/login (HttpOnly; this script never sees it);
// writes also carry the session's CSRF token (util.js apiRequest).
// Data: GET .../spectrum/analytics/live and .../analytics/protection every second, the app list
// every 15 s, the fleet's edges every 5 s; a view's own data when it is shown.
'use strict';

const REFRESH_MS = 1000;
const APPS_REFRESH_MS = 15000;
const FLEET_REFRESH_MS = 5000;  // aggregate/current asks every edge of the fleet

const state = {
  live: null,          // result of /analytics/live
  protection: null,    // result of /analytics/protection
  apps: [],            // result of /spectrum/apps
  appsFetchedAt: 0,
  fleet: null,         // { edges: [...], current: [...] } in fleet mode (more than one edge)
  fleetFetchedAt: 0,
  timer: null,
  signedIn: false,
  entered: '',         // the route (path and query) whose view was last entered
  errors: {},          // endpoint -> message of its last failure
};

// ------------------------------------------------------------------ routing

// #/ (overview), #/app/ID, #/apps, #/apps/new, #/apps/edit/ID, #/rules, #/bans; each may carry a
// query after '?' (the time range, the rule filters).
function route() {
  const h = location.hash.replace(/^#/, '') || '/';
  const at = h.indexOf('?');
  const path = at < 0 ? h : h.slice(0, at);
  const query = new URLSearchParams(at < 0 ? '' : h.slice(at + 1));
  let m;
  if ((m = /^\/app\/(.+)$/.exec(path))) return { view: 'app', id: decodeURIComponent(m[1]), path, query };
  if ((m = /^\/apps\/edit\/(.+)$/.exec(path))) return { view: 'app-edit', id: decodeURIComponent(m[1]), path, query };
  if (path === '/apps/new') return { view: 'app-edit', id: null, path, query };
  if (path === '/apps') return { view: 'apps', path, query };
  if (path === '/rules') return { view: 'rules', path, query };
  if (path === '/bans') return { view: 'bans', path, query };
  return { view: 'overview', path: '/', query };
}

function withQuery(path, query) {
  const s = query.toString();
  return `#${path}${s ? `?${s}` : ''}`;
}

// ------------------------------------------------------------------ sign-in and out

async function signIn(token) {
  const res = await fetch('/dashboard/login', {
    method: 'POST', credentials: 'same-origin', cache: 'no-store',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({ token }),
  });
  if (res.ok) return null;
  if (res.status === 401) return 'Wrong API token.';
  if (res.status === 429) return 'Too many wrong tokens from your address: wait a moment and try again.';
  return `Sign-in failed (HTTP ${res.status}).`;
}

async function signOut() {
  try { await fetch('/dashboard/logout', { method: 'POST', credentials: 'same-origin' }); } catch (e) { /* offline */ }
  stopPolling();
  showLogin();
}

// Ends every session of this edge (all browsers, this one too); asks first.
async function signOutEverywhere() {
  if (!(await confirmDialog('Sign out everywhere?',
    'Every dashboard session of this edge ends now, in every browser, this one included.', 'Sign out everywhere'))) return;
  try {
    await apiRequest('POST', '/dashboard/logout', { everywhere: true });
  } catch (e) {
    if (e instanceof AuthError) return;  // already signed out
    notice(`Could not sign out everywhere: ${writeFailure(e)}`, true);
    return;
  }
  stopPolling();
  showLogin('Every session has been signed out.');
}

// ------------------------------------------------------------------ polling

async function refresh() {
  const soft = (key, p) => p.then((r) => { delete state.errors[key]; return r; },
    (e) => { if (e instanceof AuthError) throw e; state.errors[key] = e.message; });
  const jobs = [
    soft('live', getJSON(`${ZONE}/spectrum/analytics/live`).then((r) => { state.live = r; })),
    soft('protection', getJSON(`${ZONE}/spectrum/analytics/protection`).then((r) => { state.protection = r; })),
  ];
  if (Date.now() - state.appsFetchedAt > APPS_REFRESH_MS) {
    jobs.push(soft('apps', getJSON(`${ZONE}/spectrum/apps?per_page=1000`).then((r) => {
      state.apps = Array.isArray(r) ? r : []; state.appsFetchedAt = Date.now();
    })));
  }
  if (Date.now() - state.fleetFetchedAt > FLEET_REFRESH_MS) {
    state.fleetFetchedAt = Date.now();
    jobs.push(soft('fleet', (async () => {
      const edges = await getJSON(`${ZONE}/rampart/edges`);
      // One edge (SQLite, or alone in etcd): the overview above is already the whole picture.
      if (!Array.isArray(edges) || edges.length < 2) { state.fleet = null; return; }
      const current = await getJSON(`${ZONE}/spectrum/analytics/aggregate/current`);
      state.fleet = { edges, current: Array.isArray(current) ? current : [] };
    })()));
  }
  // The shown page's own data: refused counts of the rules, the bans.
  const r = route();
  if (r.view === 'rules' && Date.now() - rules.hitsAt > SIDE_REFRESH_MS) jobs.push(loadHits().then(renderRules));
  if (r.view === 'bans' && Date.now() - bans.at > SIDE_REFRESH_MS) jobs.push(loadBans());
  try {
    await Promise.all(jobs);
    delete state.errors.network;  // every request answered: whatever failed before has recovered
  } catch (e) {
    if (e instanceof AuthError) return;  // onAuthLost has shown the sign-in form
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

const VIEWS = ['overview-view', 'app-view', 'apps-view', 'app-edit-view', 'rules-view', 'bans-view', 'history', 'range-bar', 'protection'];

function showLogin(message) {
  state.signedIn = false;
  state.entered = '';
  for (const id of [...VIEWS, 'nav', 'logout', 'logout-all', 'who', 'fatal', 'notice']) show(id, false);
  if ($('#confirm').open) $('#confirm').close();
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
  show('nav', true);
  show('logout', true);
  show('logout-all', canWrite());
  const who = $('#who');
  who.textContent = canWrite() ? '' : 'read-only';
  who.title = session.who;
  who.hidden = canWrite();
  render();
}

// The view's own data when it is entered (not on every refresh: a form keeps what is typed).
function enter(r) {
  if (r.view === 'app-edit') {
    if (!canWrite()) { location.hash = '#/apps'; return; }
    enterAppForm(r);
  } else if (r.view === 'apps') {
    refreshApps().catch(() => {});
  } else if (r.view === 'rules') {
    enterRules(r);
  } else if (r.view === 'bans') {
    loadBans();
  }
}

function render() {
  if (!state.signedIn) return;
  const r = route();
  const liveView = r.view === 'overview' || r.view === 'app';
  const historyMode = liveView && rangeOf(r).key !== 'live';
  show('range-bar', liveView);
  show('history', historyMode);
  show('overview-view', r.view === 'overview' && !historyMode);
  show('app-view', r.view === 'app' && !historyMode);
  show('apps-view', r.view === 'apps');
  show('app-edit-view', r.view === 'app-edit');
  show('rules-view', r.view === 'rules');
  show('bans-view', r.view === 'bans');
  show('protection', liveView);
  const section = { overview: 'overview', app: 'overview', apps: 'apps', 'app-edit': 'apps', rules: 'rules', bans: 'bans' }[r.view];
  for (const a of $$('#nav a')) {
    if (a.dataset.nav === section) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
  $('#crumbs').replaceChildren(...(r.view === 'app' ? [el('span', { 'aria-hidden': 'true', text: '/ ' }), r.id] : []));
  renderStatus();
  const entered = r.path + '?' + r.query;
  if (state.entered !== entered) {
    state.entered = entered;
    enter(r);
  }
  if (liveView) {
    renderRangeBar(r);
    if (historyMode) {
      maybeLoadHistory(r);
      const drawn = [hist.key, hist.at, hist.loading, hist.error, window.innerWidth].join('|');
      if (hist.drawn !== drawn) { hist.drawn = drawn; renderHistory(r); }
    } else if (r.view === 'app') {
      renderApp(r.id);
    } else {
      renderOverview();
    }
    renderProtection();
  } else if (r.view === 'apps') {
    renderManageApps();
  }
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

// ------------------------------------------------------------------ start

async function boot() {
  onAuthLost = () => {
    if (!state.signedIn) return;
    stopPolling();
    showLogin('Your session has ended; sign in again.');
  };
  $('#login-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const input = $('#token');
    const button = $('#login-submit');
    button.disabled = true;
    let why;
    try { why = await signIn(input.value); } catch (err) { why = 'The edge cannot be reached.'; }
    button.disabled = false;
    input.value = '';
    if (!why && !(await loadSession())) why = 'Signed in, but the session could not be read; try again.';
    if (why) { showLogin(why); return; }
    showDashboard();
    startPolling();
  });
  $('#logout').addEventListener('click', signOut);
  $('#logout-all').addEventListener('click', signOutEverywhere);
  setupRangeBar();
  setupAppForm();
  setupRules();
  let lastPath = route().path;
  window.addEventListener('hashchange', () => {
    render();
    // A new page (not a new range or filter): keyboard and screen-reader users land on its
    // content, not on the link they followed.
    const r = route();
    if (state.signedIn && r.path !== lastPath && r.view !== 'app-edit') $('#main').focus();
    lastPath = r.path;
  });
  window.addEventListener('resize', render);
  if (await loadSession()) { showDashboard(); startPolling(); } else { showLogin(); }
}

document.addEventListener('DOMContentLoaded', boot);
