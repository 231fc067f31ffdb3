// The dashboard manages the edge, in a real browser: playwright-core driving Debian's
// /usr/bin/chromium against a running edge (tests/integration/test_dashboard_manage.sh starts it,
// its origins, the banned source, the injected rollups and the other origin's page). Connections
// are made from the client namespace (ip netns exec). Plain node script: prints "ok - ..." per
// check and exits 1 at the first failure (with a screenshot *-failed.png).
import { chromium, request } from 'playwright-core';
import { execFileSync, spawn } from 'node:child_process';
import net from 'node:net';

const env = (name) => {
  const v = process.env[name];
  if (v === undefined) { console.error(`manage.spec: ${name} is required`); process.exit(2); }
  return v;
};
const BASE = env('DASH_URL');
const TOKEN = env('DASH_TOKEN');
const VIEWER = env('DASH_VIEWER_TOKEN');
const NS_C = env('DASH_NS_CLIENT');
const NETUTIL = env('DASH_NETUTIL');
const EDGE = env('DASH_EDGE_IP');
const ORIGIN = env('DASH_ORIGIN_IP');
const CLIENT = env('DASH_CLIENT_IP');
const BAN_IP = env('DASH_BAN_IP');
const HIST = env('DASH_HIST_APP');
const ATTACK = env('DASH_ATTACK');
const ATTACK_XSITE = env('DASH_ATTACK_XSITE');
const SHOTS = env('DASH_SHOTS');
const ZONE = `${BASE}/client/v4/zones/default`;
const APP = 'web-app';
const PORT = 7100;
const T = 15000;  // ms per wait

let step = 'launch';
const ok = (what) => console.log(`ok - ${what}`);
function assert(cond, what) {
  if (!cond) throw new Error(`assertion failed: ${what}`);
  ok(what);
}

// ------------------------------------------------------------------ the client namespace

// netutil.py in the client namespace; its JSON answer, or {error} when it failed.
function client(...args) {
  try {
    const out = execFileSync('ip', ['netns', 'exec', NS_C, 'python3', NETUTIL, ...args],
      { encoding: 'utf8', timeout: 10000, stdio: ['ignore', 'pipe', 'pipe'] });
    return JSON.parse(out.trim().split('\n').pop());
  } catch (e) {
    try { return JSON.parse(String(e.stdout).trim().split('\n').pop()); } catch (e2) { /* no JSON */ }
    return { error: String(e.stderr || e.message).trim().split('\n').pop() };
  }
}
// Refused by the edge: accepted, then closed or reset before the origin said anything.
const refused = (r) => r.line === '' || /reset/i.test(r.error || '');
// The first line the app's origin sends ("origin-a" / "origin-b"); '' when the edge closed first.
const firstLine = () => client('readline', '--connect', `${EDGE}:${PORT}`, '--timeout', '3');
// The same from this process (the edge's namespace), without starting a client: what "live on
// the data plane within a second of the API's answer" is timed with.
const firstLineHere = () => new Promise((resolve) => {
  const s = net.connect({ host: EDGE, port: PORT });
  let buf = '';
  const done = (r) => { s.destroy(); resolve(r); };
  s.setTimeout(3000, () => done({ error: 'timeout' }));
  s.on('data', (d) => { buf += d; if (buf.includes('\n')) done({ line: buf.slice(0, buf.indexOf('\n')) }); });
  s.on('error', (e) => done({ error: e.message }));
  s.on('end', () => done({ line: buf }));
});

async function until(fn, what, ms = T) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > end) throw new Error(`timed out (${ms} ms) waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 150));
  }
}

// ------------------------------------------------------------------ browser helpers

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
const bearer = await request.newContext({ extraHTTPHeaders: { Authorization: `Bearer ${TOKEN}` } });
const problems = [];
let page = null;
let held = null;

async function signedIn(viewport, token) {
  const context = await browser.newContext({ viewport });
  const p = await context.newPage();
  p.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  p.on('console', (m) => {
    // 401 (session checks), 400 and 403 (the refused writes this test makes on purpose).
    if (m.type() === 'error' && !/status of 40[013]/.test(m.text())) problems.push(`console error: ${m.text()}`);
  });
  await p.goto(`${BASE}/dashboard`);
  await p.fill('#token', token);
  await p.click('#login-submit');
  await p.locator('#overview-view').waitFor({ state: 'visible', timeout: T });
  return p;
}

const go = (p, hash) => p.evaluate((h) => { location.hash = h; }, hash);
const shot = (name) => page.screenshot({ path: `${SHOTS}/manage-${name}.png`, fullPage: true });
const appsNow = async () => (await (await bearer.get(`${ZONE}/spectrum/apps?per_page=1000`)).json()).result;

try {
  page = await signedIn({ width: 1280, height: 900 }, TOKEN);
  ok('signed in (write scope)');
  const session = await page.evaluate(async () => (await (await fetch('/dashboard/session')).json()).result);
  assert(session.scope === 'write' && /^[A-Za-z0-9_-]{32,}$/.test(session.csrf_token || ''),
    'GET /dashboard/session: scope write and a CSRF token');

  step = 'create: a field error';
  await page.click('#nav a[data-nav="apps"]');
  await page.locator('#apps-view').waitFor({ state: 'visible', timeout: T });
  await page.click('#app-new');
  await page.locator('#app-edit-view').waitFor({ state: 'visible', timeout: T });
  await page.fill('#f-id', APP);
  await page.fill('#f-port', '70000');  // no such port: refused by the API
  await page.fill('#f-dns-name', 'web.example.com');
  await page.fill('#f-origin-0', `tcp://${ORIGIN}`);  // no port: refused too
  assert(await page.isChecked('#f-ipfw'), 'the IP firewall is on by default');
  await page.fill('#f-p-burst', 'lots');  // not a number: refused with /protection/per_ip/burst
  await page.click('#app-submit');
  const fieldErr = page.locator('.origin-row[data-pointer="/origin_direct/0"] .field-error');
  await fieldErr.waitFor({ state: 'visible', timeout: T });
  assert(await page.getAttribute('#f-origin-0', 'aria-invalid') === 'true',
    `the API's error is shown next to the origin field: "${await fieldErr.textContent()}"`);
  const portErr = page.locator('[data-pointer="/protocol"] .field-error');
  assert(await portErr.isVisible() && await page.getAttribute('#f-port', 'aria-invalid') === 'true',
    `... and the other one next to the port: "${await portErr.textContent()}"`);
  assert(await page.evaluate(() => document.activeElement.id) === 'f-port', 'the first field in error has the focus');
  const burstErr = page.locator('[data-pointer="/protection/per_ip/burst"] .field-error');
  assert(await burstErr.isVisible() && await page.getAttribute('#f-p-burst', 'aria-invalid') === 'true',
    `... and the per-source burst's next to it: "${await burstErr.textContent()}"`);
  await shot('app-form-1280');

  step = 'create';
  await page.fill('#f-port', String(PORT));
  await page.fill('#f-origin-0', `${ORIGIN}:7001`);  // the form adds tcp://
  await page.fill('#f-p-rate', '100');  // a per-source limit for this app (the rest: the zone's)
  await page.fill('#f-p-burst', '200');
  // The API's answer to the form's write: "live within a second" counts from it.
  const answerOf = (method) => page.waitForResponse((r) => r.request().method() === method &&
    new URL(r.url()).pathname.startsWith('/client/v4/zones/default/spectrum/apps'), { timeout: T })
    .then(() => Date.now());
  let answered = answerOf('POST');
  await page.click('#app-submit');
  let t0 = await answered;
  // Live on the data plane within a second of the API's answer: connections are tried at once.
  await until(async () => (await firstLineHere()).line === 'origin-a', 'a connection through the new app', 1000);
  assert(Date.now() - t0 <= 1000, `a connection through ${EDGE}:${PORT} reached origin a ${Date.now() - t0} ms after the API's answer`);
  const a = firstLine();  // and a client's, from its own namespace
  assert(a.line === 'origin-a', `a client (${a.local_ip}) reaches origin a too`);
  const row = page.locator(`#manage-apps tbody tr[data-app="${APP}"]`);
  await row.waitFor({ state: 'visible', timeout: T });
  ok(`app ${APP} created through the form and listed`);
  const created = (await appsNow()).find((a) => a.id === APP);
  assert(created && created.protocol === `tcp/${PORT}` && created.origin_direct[0] === `tcp://${ORIGIN}:7001` &&
    created.ip_firewall === true && created.dns.name === 'web.example.com', 'the API has the app as the form said');
  assert(JSON.stringify(created.protection) === JSON.stringify({ per_ip: { burst: 200, new_connections_per_second: 100 } }),
    `the API echoes the per-source limit set in the form, nothing else: ${JSON.stringify(created.protection)}`);

  step = 'connect';
  await go(page, '#/');
  await until(() => page.evaluate((id) => {
    const tr = document.querySelector(`#apps-table tbody tr[data-app="${id}"]`);
    return tr && Number(tr.cells[8].textContent.replace(/,/g, '')) >= 1;
  }, APP), 'the connection counted in the overview');
  ok('the overview counts the connection');
  await shot('overview-1280');

  step = 'edit';
  await go(page, '#/apps');
  await row.locator('[data-action="edit"]').click();
  await page.waitForFunction(() => document.querySelector('#f-origin-0') &&
    document.querySelector('#f-origin-0').value.endsWith(':7001'), null, { timeout: T });
  assert(await page.inputValue('#f-port') === String(PORT) && await page.inputValue('#f-id') === APP,
    'the edit form is filled with the app');
  assert(await page.inputValue('#f-p-rate') === '100' && await page.inputValue('#f-p-burst') === '200' &&
    await page.inputValue('#f-p-maxconn') === '', 'the form shows the app\'s per-source limit, other fields empty (the zone\'s)');
  await page.fill('#f-origin-0', `tcp://${ORIGIN}:7002`);
  answered = answerOf('PUT');
  await page.click('#app-submit');
  t0 = await answered;
  await until(async () => (await firstLineHere()).line === 'origin-b', 'a connection to the new origin', 1000);
  assert(Date.now() - t0 <= 1000, `after the edit a new connection reaches origin b ${Date.now() - t0} ms after the API's answer`);
  assert(firstLine().line === 'origin-b', 'a client reaches origin b too');
  await page.locator('#apps-view').waitFor({ state: 'visible', timeout: T });
  await until(() => row.locator('td', { hasText: ':7002' }).count(), 'the list shows the new origin');

  step = 'block rule';
  await page.click('#nav a[data-nav="rules"]');
  await page.locator('#rules-view').waitFor({ state: 'visible', timeout: T });
  await page.selectOption('#r-mode', 'block');
  await page.selectOption('#r-target', 'ip');
  await page.fill('#r-value', CLIENT);
  await page.fill('#r-notes', 'dashboard test');
  await page.click('#rule-submit');
  const ruleRow = page.locator(`#rules-table tbody tr[data-value="${CLIENT}"]`);
  await ruleRow.waitFor({ state: 'visible', timeout: T });
  ok(`block rule for ${CLIENT} added and listed`);
  await until(() => refused(firstLine()), 'the client refused', 3000);
  ok('the client is refused (the edge closes before the origin says anything)');
  await until(async () => Number((await ruleRow.locator('td.refused').textContent()).replace(/,/g, '')) >= 1,
    "the rule's refused count", 10000);
  ok(`the rule shows its refused connections (${await ruleRow.locator('td.refused').textContent()})`);
  await shot('rules-1280');

  step = 'rule filters';
  const rowsShown = () => page.locator('#rules-table tbody tr').count();
  await page.selectOption('#q-mode', 'whitelist');
  await page.click('#rule-filter button[type="submit"]');
  await until(async () => (await rowsShown()) === 0, 'no whitelist rule');
  assert(page.url().includes('mode=whitelist'), 'mode=whitelist: no rule (and the filter is in the URL)');
  await page.fill('#q-value', CLIENT);
  await page.selectOption('#q-match', 'any');
  await page.click('#rule-filter button[type="submit"]');
  await until(async () => (await rowsShown()) === 1, 'match=any finds the rule');
  ok('mode=whitelist or value=the client (match=any): the rule');
  await page.click('#q-clear');
  await page.fill('#q-notes', 'DASHBOARD');
  await page.click('#rule-filter button[type="submit"]');
  await until(async () => (await rowsShown()) === 1 && (await ruleRow.count()) === 1, 'notes filter');
  ok('notes filter (case-insensitive substring)');

  step = 'delete rule';
  await ruleRow.locator('[data-action="delete"]').click();
  await page.locator('#confirm').waitFor({ state: 'visible', timeout: T });
  await page.click('#confirm-ok');
  await ruleRow.waitFor({ state: 'detached', timeout: T });
  ok('the rule is deleted');
  await until(() => firstLine().line === 'origin-b', 'the client gets through again', 3000);
  ok('the client gets through again');

  step = 'rule pages';
  // 105 rules (written with the API): the list pages by 100, the page is in the URL, the
  // filters carry over to the next page.
  const many = [];
  for (let i = 0; i < 105; i++) {
    const r = await bearer.post(`${ZONE}/firewall/access_rules/rules`, { data: { mode: 'block',
      configuration: { target: 'ip', value: `198.18.${Math.floor(i / 200)}.${(i % 200) + 1}` }, notes: `pager ${i}` } });
    if (r.ok()) many.push((await r.json()).result.id);
  }
  assert(many.length === 105, `105 rules written through the API (${many.length})`);
  await go(page, '#/rules?notes=pager');
  await until(async () => (await rowsShown()) === 100, 'the first page: 100 rules');
  const summary = () => page.textContent('#rules-summary');
  assert((await summary()).includes('105 rules match the filters · page 1 of 2'), `summary: ${await summary()}`);
  assert(await page.isDisabled('#rules-prev') && !(await page.isDisabled('#rules-next')), 'page 1: Previous off, Next on');
  await page.focus('#rules-next');
  await page.keyboard.press('Enter');
  await until(async () => (await rowsShown()) === 5, 'the second page: 5 rules');
  assert(page.url().includes('page=2') && page.url().includes('notes=pager'), `page 2 in the URL with the filter: ${page.url()}`);
  assert(!(await page.isDisabled('#rules-prev')) && await page.isDisabled('#rules-next'), 'page 2: Previous on, Next off');
  assert(await page.evaluate(() => document.activeElement.id) === 'rules-prev', 'the focus moved from the spent Next to Previous');
  await go(page, '#/rules?notes=pager&page=5');  // past the end (an old link, a deleted last rule)
  await until(async () => (await rowsShown()) === 5 && page.url().includes('page=2'), 'page 5 of 2 becomes page 2');
  await page.click('#rules-prev');
  await until(async () => (await rowsShown()) === 100, 'back to page 1');
  ok('105 rules: two pages of 100 and 5, Next and Previous by keyboard and mouse, the filter kept');
  let deleted = 0;
  for (const id of many) deleted += (await bearer.delete(`${ZONE}/firewall/access_rules/rules/${id}`)).ok() ? 1 : 0;
  assert(deleted === 105, `and deleted (${deleted})`);
  await go(page, '#/rules');
  await until(async () => (await rowsShown()) === 0, 'the pager rules gone');
  assert(await page.isHidden('#rules-pager'), 'one page: no pager');

  step = 'bans';
  await page.click('#nav a[data-nav="bans"]');
  const banRow = page.locator(`#bans-list tbody tr[data-ip="${BAN_IP}"]`);
  await banRow.waitFor({ state: 'visible', timeout: T });
  ok(`the autoban of ${BAN_IP} is listed`);
  await banRow.locator('[data-action="lift"]').click();
  await banRow.waitFor({ state: 'detached', timeout: T });
  const bans = (await (await bearer.get(`${ZONE}/rampart/bans`)).json()).result;
  assert(!bans.some((x) => x.ip === BAN_IP), 'lifted: the API no longer lists the ban');

  step = 'delete app';
  // One connection stays open: the confirmation must name it.
  held = spawn('ip', ['netns', 'exec', NS_C, 'python3', NETUTIL, 'probe', '--connect', `${EDGE}:${PORT}`, '--timeout', '30'],
    { stdio: 'ignore' });
  await until(async () => {
    const r = (await (await bearer.get(`${ZONE}/spectrum/analytics/aggregate/current?appID=${APP}`)).json()).result;
    return r.some((x) => x.appID === APP && x.connections === 1);
  }, 'one open connection');
  await go(page, '#/apps');
  await row.locator('[data-action="delete"]').click();
  await page.locator('#confirm').waitFor({ state: 'visible', timeout: T });
  const question = await page.textContent('#confirm-text');
  assert(/\b1 active connection\b/.test(question), `the confirmation names the open connection: "${question}"`);
  await page.keyboard.press('Escape');
  await page.locator('#confirm').waitFor({ state: 'hidden', timeout: T });
  assert((await appsNow()).some((x) => x.id === APP), 'Escape cancels: the app is still there');
  await row.locator('[data-action="delete"]').click();
  await page.click('#confirm-ok');
  await row.waitFor({ state: 'detached', timeout: T });
  assert(!(await appsNow()).some((x) => x.id === APP), 'the app is deleted');
  await until(() => /refused/i.test(firstLine().error || ''), 'the port closed', 3000);
  ok(`nothing listens on :${PORT} any more`);

  step = 'history';
  // hist-app's injected rollups: 5 min, 3 h, 20 h, 30 h and 3 days ago (test_dashboard_manage.sh).
  const expect = {
    '30m': { connections: 3, bytesIngress: 3000, bytesEgress: 6000, errors: 0, refused: 0, statusErrors: 0, drops: 0 },
    '24h': { connections: 33, bytesIngress: 1103000, bytesEgress: 2206000, errors: 2, refused: 4, statusErrors: 5, drops: 8 },
    '7d': { connections: 1133, bytesIngress: 13103000, bytesEgress: 16206000, errors: 9, refused: 4, statusErrors: 10, drops: 58 },
  };
  await go(page, `#/app/${HIST}`);
  await page.locator('#range-bar').waitFor({ state: 'visible', timeout: T });
  for (const range of ['30m', '24h', '7d']) {
    // By keyboard: focus the range's button and press Enter.
    await page.focus(`#range-bar [data-range="${range}"]`);
    await page.keyboard.press('Enter');
    await page.waitForFunction((want) => {
      const t = document.querySelector('#history-tiles [data-metric="connections"]');
      return !document.querySelector('#history').hidden && t && t.dataset.value === String(want);
    }, expect[range].connections, { timeout: T });
    const got = await page.$$eval('#history-tiles [data-metric]', (ts) => Object.fromEntries(ts.map((t) => [t.dataset.metric, Number(t.dataset.value)])));
    for (const [k, v] of Object.entries(expect[range])) assert(got[k] === v, `${range}: ${k} = ${v} (got ${got[k]})`);
    const legend = await page.getAttribute('figure[data-chart="h-bytes"] [data-series="bytesIngress"]', 'data-value');
    assert(Number(legend) === expect[range].bytesIngress, `${range}: the bytes chart's legend totals ${legend}`);
    // Errors by status and drops by reason: one legend entry per status / reason, with its total.
    const legends = async (chart) => page.$$eval(`figure[data-chart="${chart}"] [data-series]`,
      (es) => Object.fromEntries(es.map((e) => [e.dataset.series, Number(e.dataset.value)])));
    const wantStatus = { '30m': { none: 0 }, '24h': { 'status-521': 3, 'status-522': 2 }, '7d': { 'status-499': 5, 'status-521': 3, 'status-522': 2 } }[range];
    const wantDrops = { '30m': { none: 0 }, '24h': { 'drop-conn_limit': 2, 'drop-rate_limit': 6 }, '7d': { 'drop-conn_limit': 2, 'drop-rate_limit': 56 } }[range];
    assert(JSON.stringify(await legends('h-status')) === JSON.stringify(wantStatus), `${range}: errors by status ${JSON.stringify(await legends('h-status'))}`);
    assert(JSON.stringify(await legends('h-drops')) === JSON.stringify(wantDrops), `${range}: drops by reason ${JSON.stringify(await legends('h-drops'))}`);
    assert(await page.getAttribute(`#range-bar [data-range="${range}"]`, 'aria-pressed') === 'true', `${range}: its button is pressed`);
  }
  const points = Number(await page.getAttribute('figure[data-chart="h-connections"]', 'data-points'));
  assert(points >= 168 && points <= 170, `7 d: hourly buckets (${points} points)`);
  // By keyboard, point by point: the chart takes the focus, End / arrows / Home move along the
  // buckets, the tooltip (a live region) gives the bucket's values, Escape hides it.
  const tip = page.locator('#tooltip');
  const point = async () => Number(await tip.getAttribute('data-point'));
  await page.focus('figure[data-chart="h-connections"] svg');
  await page.keyboard.press('End');
  await tip.waitFor({ state: 'visible', timeout: T });
  assert(await point() === points - 1, `End: the newest bucket (${await point()} of ${points})`);
  await page.keyboard.press('ArrowLeft');
  assert(await point() === points - 2, 'ArrowLeft: one bucket back');
  await page.keyboard.press('Home');
  assert(await point() === 0, 'Home: the oldest bucket');
  const legendCount = await page.locator('figure[data-chart="h-connections"] [data-series]').count();
  assert(await tip.locator('b').count() === legendCount, 'the tooltip has a value for every series');
  const said = await page.textContent('#chart-announce');
  assert(said.includes(': ') && said.split('; ').length === legendCount + 1,
    `the sample is announced (a live region): "${said}"`);
  await page.keyboard.press('Escape');
  await tip.waitFor({ state: 'hidden', timeout: T });
  ok('a history chart reads its buckets by keyboard (End, arrows, Home; Escape hides)');
  await page.click('#range-bar [data-range="24h"]');
  await page.waitForFunction(() => document.querySelector('#history-meta').textContent.includes('per 10 minutes'), null, { timeout: T });
  await shot('history-1280');
  await go(page, '#/?range=24h');
  const histRow = page.locator(`#history-apps tbody tr[data-app="${HIST}"]`);
  await histRow.waitFor({ state: 'visible', timeout: T });
  const cells = await histRow.locator('td').allTextContents();
  assert(cells[1] === '33' && cells[4] === '2' && cells[5] === '4', `the overview's 24 h table: ${HIST} ${cells.join(' | ')}`);
  // Custom: from 25 h to 10 h ago holds only the rows of 20 h ago.
  await page.click('#range-bar [data-range="custom"]');
  const local = (msAgo) => page.evaluate((ago) => { const t = Date.now() - ago; return new Date(t - new Date(t).getTimezoneOffset() * 60e3).toISOString().slice(0, 16); }, msAgo);
  await page.fill('#range-from', await local(25 * 3600e3));
  await page.fill('#range-to', await local(10 * 3600e3));
  await page.click('#custom-range button[type="submit"]');
  await until(async () => (await histRow.locator('td').nth(1).textContent()) === '20', 'the custom range (20 connections)');
  ok('a custom range (25 h to 10 h ago) counts only the rows of 20 h ago');
  await page.click('#range-bar [data-range="live"]');
  await page.locator('#overview-view').waitFor({ state: 'visible', timeout: T });
  ok('Live goes back to the live overview');

  step = 'forged writes';
  const before = (await appsNow()).length;
  for (const [url, want, what] of [[ATTACK, 403, 'same-site page of another origin (the cookie goes along)'],
    [ATTACK_XSITE, 401, 'cross-site page (no cookie)']]) {
    const attacker = await page.context().newPage();
    const resp = attacker.waitForResponse((r) => r.url().startsWith(`${ZONE}/spectrum/apps`), { timeout: T });
    await attacker.goto(url);
    const status = (await resp).status();
    assert(status === want, `a form posted to the API by a ${what}: ${status}`);
    await attacker.close();
  }
  const noToken = await page.evaluate(async (z) => (await fetch(`${z}/spectrum/apps`, {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ id: 'csrf-app', protocol: 'tcp/7999', origin_direct: ['tcp://192.0.2.1:1'] }) })).status, ZONE);
  assert(noToken === 403, `a same-origin fetch without X-CSRF-Token: ${noToken}`);
  const badToken = await page.evaluate(async (z) => (await fetch(`${z}/spectrum/apps`, {
    method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': 'x'.repeat(43) },
    body: JSON.stringify({ id: 'csrf-app', protocol: 'tcp/7999', origin_direct: ['tcp://192.0.2.1:1'] }) })).status, ZONE);
  assert(badToken === 403, `... with a wrong X-CSRF-Token: ${badToken}`);
  const after = await appsNow();
  assert(after.length === before && !after.some((x) => x.id === 'csrf-app'), 'nothing was created');
  assert(client('probe', '--connect', `${EDGE}:7999`, '--timeout', '2').connect !== 'ok', 'nothing listens on :7999');

  step = 'phone';
  const phone = await signedIn({ width: 390, height: 844 }, TOKEN);
  const pageW = page;
  page = phone;
  // Every page at 390 px: nothing makes it scroll sideways (wide tables scroll inside their card).
  const sideways = async (what) => {
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert(overflow <= 0, `at 390 px ${what} does not scroll sideways (${overflow} px)`);
  };
  await shot('overview-390');
  await sideways('the overview');
  await go(page, `#/app/${HIST}?range=24h`);
  await page.waitForFunction(() => document.querySelector('#history-tiles [data-metric="connections"]'), null, { timeout: T });
  await shot('history-390');
  await sideways('the history');
  await go(page, '#/apps');
  await page.locator('#manage-apps tbody tr').first().waitFor({ state: 'visible', timeout: T });
  await sideways('the apps list');
  await go(page, '#/rules');
  await page.locator('#rules-view').waitFor({ state: 'visible', timeout: T });
  await shot('rules-390');
  await sideways('the rules page');
  await go(page, '#/apps/new');
  await page.locator('#app-edit-view').waitFor({ state: 'visible', timeout: T });
  await shot('app-form-390');
  await sideways('the app form');
  page = pageW;

  step = 'read scope';
  const viewer = await signedIn({ width: 1280, height: 900 }, VIEWER);
  const vs = await viewer.evaluate(async () => (await (await fetch('/dashboard/session')).json()).result);
  assert(vs.scope === 'read', 'a session of the read token has scope read');
  await go(viewer, '#/apps');
  await viewer.locator('#manage-apps tbody tr').first().waitFor({ state: 'visible', timeout: T });
  assert(!(await viewer.isVisible('#app-new')) && !(await viewer.isVisible('#logout-all')),
    'read scope: no "New app" and no "Sign out everywhere"');
  await go(viewer, '#/rules');
  await viewer.locator('#rules-view').waitFor({ state: 'visible', timeout: T });
  assert(!(await viewer.isVisible('#rule-form')), 'read scope: no form to add a rule');
  const vWrite = await viewer.evaluate(async ([z, t]) => (await fetch(`${z}/firewall/access_rules/rules`, {
    method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': t },
    body: JSON.stringify({ mode: 'block', configuration: { target: 'ip', value: '192.0.2.7' } }) })).status, [ZONE, vs.csrf_token]);
  assert(vWrite === 403, `read scope: a write with the session's own CSRF token is refused (${vWrite})`);

  step = 'sign out everywhere';
  await page.click('#logout-all');
  await page.locator('#confirm').waitFor({ state: 'visible', timeout: T });
  await page.click('#confirm-ok');
  await page.locator('#login-form').waitFor({ state: 'visible', timeout: T });
  ok('"Sign out everywhere" shows the sign-in form');
  await viewer.locator('#login-form').waitFor({ state: 'visible', timeout: T });
  ok('... and the other session (another browser context) is signed out too');
  assert((await phone.evaluate(async () => (await fetch('/dashboard/session')).status)) === 401, '... and the third one');

  assert(problems.length === 0, `no page errors or CSP violations${problems.length ? ': ' + problems.join(' | ') : ''}`);
} catch (e) {
  console.error(`not ok - ${step}: ${e.message}`);
  for (const p of problems) console.error(`  ${p}`);
  if (page) {
    const failed = `${SHOTS}/manage-failed.png`;
    try { await page.screenshot({ path: failed, fullPage: true }); console.error(`  screenshot: ${failed}`); } catch (e2) { /* closed */ }
  }
  process.exitCode = 1;
} finally {
  if (held) held.kill();
  await bearer.dispose();
  await browser.close();
}
if (!process.exitCode) console.log('manage.spec: all checks passed');
