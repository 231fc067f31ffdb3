// The dashboard in a real browser: playwright-core driving Debian's /usr/bin/chromium against a
// running edge (tests/integration/test_dashboard.sh starts it, with traffic). Plain node script:
// prints "ok - ..." per check and exits 1 at the first failure.
//
//   DASH_URL=http://127.0.0.1:8788 DASH_TOKEN=... DASH_APP=echo DASH_COUNTRY=XX \
//   DASH_SHOT=/tmp/dashboard.png node tests/browser/dashboard.spec.mjs
import { chromium } from 'playwright-core';

const env = (name, fallback) => {
  const v = process.env[name] ?? fallback;
  if (v === undefined) { console.error(`dashboard.spec: ${name} is required`); process.exit(2); }
  return v;
};
const BASE = env('DASH_URL');
const TOKEN = env('DASH_TOKEN');
const APP = env('DASH_APP');
const COUNTRY = env('DASH_COUNTRY');
const SHOT = env('DASH_SHOT');
const EXPECT_DROPS = env('DASH_EXPECT_DROPS', '1') === '1';
const API = `${BASE}/client/v4/zones/default/spectrum`;
const T = 20000; // ms per wait

let step = 'launch';
function ok(what) { console.log(`ok - ${what}`); }
function assert(cond, what) {
  if (!cond) throw new Error(`assertion failed: ${what}`);
  ok(what);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
const problems = [];
const urls = [];
let page = null;
try {
  const context = await browser.newContext({ viewport: { width: 1400, height: 1000 } });
  page = await context.newPage();
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/40[13] \((Unauthorized|Forbidden)\)/.test(m.text())) problems.push(`console error: ${m.text()}`);
  });
  page.on('request', (r) => urls.push(r.url()));
  const sessionCookie = async () => (await context.cookies(BASE)).find((c) => c.name === 'rampart_session');

  step = 'wrong token';
  await page.goto(`${BASE}/dashboard`);
  await page.locator('#login-form').waitFor({ state: 'visible', timeout: T });
  ok('the sign-in form is shown without a session');
  await page.fill('#token', `${TOKEN}-wrong`);
  await page.click('#login-submit');
  await page.locator('#login-error').waitFor({ state: 'visible', timeout: T });
  assert(/wrong api token/i.test(await page.textContent('#login-error')), 'a wrong token is refused with a message');
  assert(!(await sessionCookie()), 'no session cookie after a wrong token');
  assert((await context.request.get(`${API}/apps`)).status() === 401, 'the API still answers 401 without a session');

  step = 'token in a URL';
  await page.goto(`${BASE}/dashboard?token=${encodeURIComponent(TOKEN)}`);
  await page.locator('#login-form').waitFor({ state: 'visible', timeout: T });
  assert(!(await sessionCookie()), '/dashboard?token=... does not sign in');
  assert((await context.request.get(`${API}/apps?token=${encodeURIComponent(TOKEN)}`)).status() === 401,
    'the API ignores ?token=');
  const viaQuery = await context.request.post(`${BASE}/dashboard/login?token=${encodeURIComponent(TOKEN)}`);
  assert(viaQuery.status() === 400 && !(await sessionCookie()), 'POST /dashboard/login?token=... is refused');

  step = 'sign in';
  urls.length = 0; // from here on, the page's own requests: none may carry the token
  await page.goto(`${BASE}/dashboard`);
  await page.locator('#login-form').waitFor({ state: 'visible', timeout: T });
  await page.fill('#token', TOKEN);
  await page.click('#login-submit');
  await page.locator('#overview-view').waitFor({ state: 'visible', timeout: T });
  ok('signed in: the overview is shown');
  const cookie = await sessionCookie();
  assert(cookie && cookie.httpOnly && cookie.sameSite === 'Strict' && cookie.path === '/',
    'session cookie rampart_session is HttpOnly, SameSite=Strict, Path=/');
  assert(/^[0-9a-f]{64}$/.test(cookie.value), 'the session id is 256 random bits (64 hex), not the token');
  assert(!(await page.evaluate(() => document.cookie)).includes('rampart_session'),
    'page scripts cannot read the session cookie');
  assert(!page.url().includes(TOKEN), `the page URL carries no token (${page.url()})`);

  step = 'overview';
  const row = page.locator(`#apps-table tbody tr[data-app="${APP}"]`);
  await row.waitFor({ state: 'visible', timeout: T });
  ok(`the overview lists app ${APP}`);

  step = 'app view';
  await row.click();
  await page.locator('#app-view').waitFor({ state: 'visible', timeout: T });
  assert(page.url().endsWith(`#/app/${encodeURIComponent(APP)}`), 'the app view has its own URL (#/app/ID)');
  for (const chart of ['bytes', 'connections']) {
    await page.waitForFunction((name) => {
      const fig = document.querySelector(`figure[data-chart="${name}"]`);
      return fig && Number(fig.dataset.max) > 0 && fig.querySelector('svg polyline');
    }, chart, { timeout: T });
    const max = await page.getAttribute(`figure[data-chart="${chart}"]`, 'data-max');
    ok(`chart "${chart}" has non-zero data (max ${max})`);
  }
  // The charts refresh: the newest sample's time moves within 2 s.
  const before = await page.textContent('#status');
  await page.waitForFunction((b) => document.querySelector('#status').textContent !== b, before, { timeout: 5000 });
  ok('the data refreshes (status line changed within 5 s)');
  // A live chart read by keyboard keeps the focus and its sample across the redraws: after End it
  // follows the newest sample.
  await page.focus('figure[data-chart="bytes"] svg');
  await page.keyboard.press('End');
  await page.locator('#tooltip').waitFor({ state: 'visible', timeout: T });
  assert((await page.textContent('#chart-announce')).includes(':'), `the sample is announced: "${await page.textContent('#chart-announce')}"`);
  await page.$eval('figure[data-chart="bytes"] polyline', (e) => { e.dataset.mark = 'before'; });
  await page.waitForFunction(() => {
    const line = document.querySelector('figure[data-chart="bytes"] polyline');
    return line && !line.dataset.mark;  // redrawn
  }, null, { timeout: 5000 });
  const kept = await page.evaluate(() => {
    const fig = document.querySelector('figure[data-chart="bytes"]');
    const tip = document.querySelector('#tooltip');
    return { focused: document.activeElement === fig.querySelector('svg'), shown: !tip.hidden,
      point: Number(tip.dataset.point), newest: Number(fig.dataset.points) - 1 };
  });
  assert(kept.focused && kept.shown && kept.point === kept.newest,
    `after a redraw: the focus kept, the tooltip on the newest sample (${JSON.stringify(kept)})`);
  await page.keyboard.press('Escape');
  assert(await page.isHidden('#tooltip'), 'Escape hides the tooltip');
  ok('a live chart reads its samples by keyboard, across its redraws');

  step = 'geography';
  const geoRow = page.locator(`#geo-table tbody tr[data-country="${COUNTRY}"]`);
  await geoRow.waitFor({ state: 'visible', timeout: T });
  const geoText = await geoRow.textContent();
  const geoConns = Number((await geoRow.locator('td').nth(1).textContent()).replace(/,/g, ''));
  assert(geoText.includes(COUNTRY) && geoConns > 0, `the geographic table shows ${COUNTRY} with ${geoConns} connections`);
  const asnRow = page.locator('#asn-table tbody tr', { hasText: 'AS64500' });
  await asnRow.waitFor({ state: 'visible', timeout: T });
  const asnConns = Number((await asnRow.locator('td').nth(1).textContent()).replace(/,/g, ''));
  assert(asnConns > 0, `the networks table shows AS64500 with ${asnConns} connections`);

  step = 'protection';
  await page.locator('#protection').waitFor({ state: 'visible', timeout: T });
  ok('the protection panel is shown');
  if (EXPECT_DROPS) {
    await page.waitForFunction(() => document.querySelectorAll('#drops-table tbody tr').length > 0, null, { timeout: T });
    const reasons = await page.$$eval('#drops-table tbody tr', (rows) => rows.map((r) => r.dataset.reason));
    ok(`drops by reason lists ${reasons.join(', ')}`);
    await page.waitForFunction(() => document.querySelectorAll('#sources-table tbody tr').length > 0, null, { timeout: T });
    ok('top sources are listed');
  }

  step = 'screenshot';
  await page.screenshot({ path: SHOT, fullPage: true });
  ok(`screenshot saved: ${SHOT}`);

  step = 'cookie write without the CSRF token';
  const write = await page.evaluate(async (api) => {
    const r = await fetch(`${api}/apps`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ protocol: 'tcp/9', origin_direct: ['tcp://127.0.0.1:9'] }) });
    return r.status;
  }, API);
  assert(write === 403, 'a write with the session cookie but without X-CSRF-Token is refused (403)');
  const apps = await page.evaluate(async (api) => (await (await fetch(`${api}/apps`)).json()).result, API);
  assert(!apps.some((a) => a.protocol === 'tcp/9'), '... and created nothing');

  step = 'sign out';
  await page.click('#logout');
  await page.locator('#login-form').waitFor({ state: 'visible', timeout: T });
  ok('signing out shows the sign-in form');
  const replay = await context.request.get(`${API}/apps`, { headers: { Cookie: `rampart_session=${cookie.value}` } });
  assert(replay.status() === 401, 'the old session id no longer works after sign-out');

  step = 'no token in any URL';
  assert(!urls.some((u) => u.includes(TOKEN)), `none of the ${urls.length} URLs the page requested after the probes carries the token`);
  const foreign = urls.filter((u) => new URL(u).origin !== new URL(BASE).origin && !u.startsWith('data:'));
  assert(foreign.length === 0, `every one of them is the edge's own origin (no CDN, no external request): ${foreign.join(' ')}`);
  assert(problems.length === 0, `no page errors or CSP violations${problems.length ? ': ' + problems.join(' | ') : ''}`);
  await context.close();
} catch (e) {
  console.error(`not ok - ${step}: ${e.message}`);
  for (const p of problems) console.error(`  ${p}`);
  if (page) {
    const shot = SHOT.replace(/(\.png)?$/, '-failed.png');
    try { await page.screenshot({ path: shot, fullPage: true }); console.error(`  screenshot: ${shot}`); } catch (e2) { /* closed */ }
  }
  await browser.close();
  process.exit(1);
}
await browser.close();
console.log('dashboard.spec: all checks passed');
