// The dashboard of a fleet edge in a real browser (playwright-core + Debian's chromium): after
// signing in on one edge, the Fleet card lists every live edge of the registry and the app summed
// over them; the 30-minute history is the fleet's (the sum of each edge's totals, every edge had
// connections; the guard drops are every edge's) and the edge picker narrows it to one edge. Started by
// tests/integration/test_fleet_sync.sh. Plain node script: "ok - ..." per
// check, exit 1 at the first failure.
//
//   DASH_URL=http://127.0.0.1:18801 DASH_TOKEN=... DASH_APP=ID DASH_EDGES=3 DASH_BYTES=45 DASH_DROPS=19 \
//   DASH_SHOT=/tmp/fleet.png node tests/browser/fleet.spec.mjs
import { chromium } from 'playwright-core';

const env = (name) => {
  const v = process.env[name];
  if (v === undefined) { console.error(`fleet.spec: ${name} is required`); process.exit(2); }
  return v;
};
const BASE = env('DASH_URL');
const TOKEN = env('DASH_TOKEN');
const APP = env('DASH_APP');
const EDGES = Number(env('DASH_EDGES'));
const BYTES = Number(env('DASH_BYTES'));
const SHOT = env('DASH_SHOT');
const DROPS = Number(env('DASH_DROPS'));
const T = 20000;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
let page = null;
try {
  // The fleet's APIs are HTTPS with a test CA the browser does not know.
  page = await (await browser.newContext({ viewport: { width: 1400, height: 1000 },
    ignoreHTTPSErrors: true })).newPage();
  const problems = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  // A CSP violation or a failed request shows as a console error (401: the session check
  // before signing in).
  page.on('console', (m) => {
    if (m.type() === 'error' && !/status of 401/.test(m.text())) problems.push(`console error: ${m.text()}`);
  });
  await page.goto(`${BASE}/dashboard`);
  await page.fill('#token', TOKEN);
  await page.click('#login-submit');
  await page.locator('#fleet').waitFor({ state: 'visible', timeout: T });
  console.log('ok - the Fleet card is shown on a fleet edge');
  await page.waitForFunction((n) => document.querySelectorAll('#fleet-edges tbody tr').length === n,
    EDGES, { timeout: T });
  console.log(`ok - it lists the ${EDGES} live edges`);
  const row = page.locator('#fleet-apps tbody tr', { hasText: APP });
  await row.waitFor({ state: 'visible', timeout: T });
  const cells = await row.locator('td').allTextContents();
  // Bytes out in the last minute, summed over the edges: "45 B".
  if (!cells[3] || !cells[3].startsWith(`${BYTES} B`)) throw new Error(`bytes out cell: ${cells[3]}`);
  console.log(`ok - the app's bytes out over the fleet: ${cells[3]}`);
  await page.screenshot({ path: SHOT, fullPage: true });
  console.log(`ok - screenshot ${SHOT}`);

  // History over the fleet: 30 minutes, summed, with each edge's totals; then one edge.
  await page.click('#range-bar [data-range="30m"]');
  await page.waitForFunction((n) => document.querySelectorAll('#history-edges tbody tr td.num').length === 5 * n,
    EDGES, { timeout: T });
  const perEdge = await page.$$eval('#history-edges tbody tr', (rows) => rows.map((r) => ({
    name: r.dataset.edge, conns: Number(r.cells[1].textContent.replace(/,/g, '')) })));
  const summed = async () => Number(await page.getAttribute('#history-tiles [data-metric="connections"]', 'data-value'));
  const total = perEdge.reduce((a, e) => a + e.conns, 0);
  if (!perEdge.every((e) => e.conns > 0)) throw new Error(`an edge without connections: ${JSON.stringify(perEdge)}`);
  if ((await summed()) !== total) throw new Error(`summed ${await summed()} != the edges' ${total}`);
  console.log(`ok - 30 min over the fleet: ${total} connections = ${perEdge.map((e) => `${e.name} ${e.conns}`).join(' + ')}`);
  if (!(await page.isVisible(`#history-apps tbody tr[data-app="${APP}"]`))) throw new Error('the app is not in the history table');
  const drops = Number(await page.getAttribute('#history-tiles [data-metric="drops"]', 'data-value'));
  if (drops !== DROPS) throw new Error(`guard drops over the fleet: ${drops}, want ${DROPS}`);
  console.log(`ok - guard drops over the fleet: ${drops}`);
  await page.selectOption('#edge-select', perEdge[1].name);
  await page.waitForFunction((want) => {
    const t = document.querySelector('#history-tiles [data-metric="connections"]');
    return location.hash.includes('edge=') && t && Number(t.dataset.value) === want && !document.querySelector('#history-meta').textContent.includes('loading');
  }, perEdge[1].conns, { timeout: T });
  console.log(`ok - edge ${perEdge[1].name} alone: ${perEdge[1].conns} connections`);
  await page.screenshot({ path: SHOT.replace(/\.png$/, '-history.png'), fullPage: true });
  if (problems.length) throw new Error(problems.join('; '));
} catch (e) {
  console.error(`not ok - ${e.message}`);
  if (page) await page.screenshot({ path: SHOT.replace(/\.png$/, '-failed.png'), fullPage: true }).catch(() => {});
  process.exitCode = 1;
} finally {
  await browser.close();
}
