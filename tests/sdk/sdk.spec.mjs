// Cloudflare's official TypeScript SDK (npm `cloudflare`, pinned in package-lock.json) against a
// running Rampart edge with only baseURL changed and a real 32-hex zone id from api.zones
// (issue #13, SPEC §3). Run by tests/integration/test_sdk.sh from the client namespace:
//   SDK_BASE=http://EDGE:8788/client/v4 SDK_TOKEN=... SDK_ZONE=<32 hex> SDK_EDGE=EDGE_IP
//   SDK_ORIGIN=ORIGIN_IP:PORT SDK_CLIENT_IP=... node sdk.spec.mjs
// Prints one "PASS: ..." / "FAIL: ..." line per check and exits 1 if any failed.
import Cloudflare from 'cloudflare';
import net from 'node:net';

const env = (k) => {
  const v = process.env[k];
  if (!v) throw new Error(`${k} is not set`);
  return v;
};
const zone_id = env('SDK_ZONE');
const EDGE = env('SDK_EDGE');
const ORIGIN = env('SDK_ORIGIN');
const CLIENT_IP = env('SDK_CLIENT_IP');
const client = new Cloudflare({ apiToken: env('SDK_TOKEN'), baseURL: env('SDK_BASE'), maxRetries: 0 });

let fails = 0;
const pass = (what) => console.log(`PASS: ${what}`);
const fail = (what) => {
  fails++;
  console.log(`FAIL: ${what}`);
};
const check = (what, ok, detail = '') => (ok ? pass(what) : fail(`${what}${detail ? ': ' + detail : ''}`));
const eq = (what, want, got) => {
  const w = JSON.stringify(want), g = JSON.stringify(got);
  check(what, w === g, `expected ${w}, got ${g}`);
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
// Polls fn() (async, truthy when done) every 100 ms for up to `ms`; the last value.
async function until(ms, fn) {
  const end = Date.now() + ms;
  let v;
  while (Date.now() < end) {
    try {
      v = await fn();
      if (v) return v;
    } catch (e) {
      v = undefined;
    }
    await sleep(100);
  }
  return v;
}
// Expects `p` to reject with the SDK's error class `cls`; returns the error (or null).
async function rejects(what, p, cls, code) {
  try {
    await p;
    fail(`${what}: no error`);
    return null;
  } catch (e) {
    check(`${what}: ${cls.name}`, e instanceof cls, `${e?.constructor?.name}: ${e?.message}`);
    if (code !== undefined) eq(`${what}: error code ${code}`, code, e?.errors?.[0]?.code);
    return e;
  }
}

// One TCP round trip through the edge: sends `n` bytes, reads them back, closes. Resolves to
// the bytes echoed (0 when the edge closes or refuses first).
function echo(port, n) {
  return new Promise((resolve) => {
    const s = net.connect({ host: EDGE, port, localAddress: CLIENT_IP });
    let got = 0;
    const done = () => {
      s.destroy();
      resolve(got);
    };
    s.setTimeout(2000, done);
    s.on('connect', () => s.write(Buffer.alloc(n, 0x61)));
    s.on('data', (d) => {
      got += d.length;
      if (got >= n) s.end();
    });
    s.on('close', () => resolve(got));
    s.on('error', () => resolve(got));
  });
}

const t0 = Date.now();
const PORTS = [7101, 7102, 7103, 7104, 7105];
const body = (port, extra = {}) => ({
  zone_id,
  protocol: `tcp/${port}`,
  dns: { type: 'CNAME', name: `app${port}.example.com` },
  origin_direct: [`tcp://${ORIGIN}`],
  edge_ips: { type: 'static', ips: [EDGE] },
  traffic_type: 'direct',
  ...extra,
});

// ---------------------------------------------------------------- apps: create, first traffic
const first = await client.spectrum.apps.create(body(PORTS[0], { ip_firewall: true }));
check('apps.create answers a 32-hex id', /^[0-9a-f]{32}$/.test(first.id), first.id);
// Real traffic at once: the connection made in the app's first second counts (issue #13).
const firstBytes = await until(3000, async () => ((await echo(PORTS[0], 1000)) === 1000 ? 1000 : 0));
eq('a TCP connection through the new app echoes 1000 bytes', 1000, firstBytes);

const ids = [first.id];
for (const port of PORTS.slice(1)) ids.push((await client.spectrum.apps.create(body(port))).id);
// Cloudflare's fields with no effect here are stored, echoed and named in `messages`.
const raw = await client.spectrum.apps
  .create(body(7106, { traffic_type: 'https', virtual_network_id: 'f70ff985-a4ef-4643-bbbc-4a0ed4fc8415' }))
  .asResponse();
const rawBody = await raw.json();
eq('traffic_type https is stored and echoed', 'https', rawBody.result?.traffic_type);
eq('virtual_network_id is echoed', 'f70ff985-a4ef-4643-bbbc-4a0ed4fc8415', rawBody.result?.virtual_network_id);
check(
  'messages name traffic_type and virtual_network_id',
  ['traffic_type https', 'virtual_network_id'].every((w) => rawBody.messages?.some((m) => m.message.startsWith(w))),
  JSON.stringify(rawBody.messages),
);
ids.push(rawBody.result.id);

// ---------------------------------------------------------------- apps: pages
const page1 = await client.spectrum.apps.list({ zone_id, per_page: 2, order: 'protocol' });
eq('apps.list per_page=2: two apps on page 1', 2, page1.result.length);
eq('apps.list result_info', { page: 1, per_page: 2, count: 2, total_count: 6, total_pages: 3 }, {
  page: page1.result_info.page,
  per_page: page1.result_info.per_page,
  count: page1.result_info.count,
  total_count: page1.result_info.total_count,
  total_pages: page1.result_info.total_pages,
});
const all = [];
for await (const app of client.spectrum.apps.list({ zone_id, per_page: 2, order: 'protocol' })) all.push(app.protocol);
eq('auto-pagination walks every page in protocol order', [...PORTS, 7106].map((p) => `tcp/${p}`), all);
const desc = await client.spectrum.apps.list({ zone_id, per_page: 1, order: 'protocol', direction: 'desc' });
eq('order=protocol direction=desc', 'tcp/7106', desc.result[0]?.protocol);

// ---------------------------------------------------------------- apps: get, update, delete
const got = await client.spectrum.apps.get(ids[1], { zone_id });
eq('apps.get', `tcp/${PORTS[1]}`, got.protocol);
const updated = await client.spectrum.apps.update(ids[1], { ...body(7107), zone_id });
eq('apps.update (PUT) moves the app to tcp/7107', 'tcp/7107', updated.protocol);
await client.spectrum.apps.delete(ids[2], { zone_id });
await rejects('apps.get of a deleted app', client.spectrum.apps.get(ids[2], { zone_id }), Cloudflare.NotFoundError, 10007);

// ---------------------------------------------------------------- typed errors
await rejects(
  'apps.create without an origin',
  client.spectrum.apps.create({ zone_id, protocol: 'tcp/7199', dns: { type: 'CNAME', name: 'x.example.com' } }),
  Cloudflare.BadRequestError,
  11000,
);
await rejects(
  'an unknown zone id',
  client.spectrum.apps.list({ zone_id: '0'.repeat(32) }),
  Cloudflare.NotFoundError,
  7003,
);
await rejects(
  'access rules listed with match=some',
  client.firewall.accessRules.list({ zone_id, match: 'some' }),
  Cloudflare.BadRequestError,
  10001,
);

// ---------------------------------------------------------------- access rules: unblock script
const rule = (mode, target, value, notes) =>
  client.firewall.accessRules.create({ zone_id, mode, configuration: { target, value }, notes });
await rule('block', 'ip', CLIENT_IP, 'Attack 02/12: the test client');
await rule('block', 'ip', '10.77.9.9', 'attack 03/12');
await rule('whitelist', 'ip', '10.77.9.10', 'office');
await rule('block', 'country', 'XX', 'nobody');
const blocked = await until(3000, async () => (await echo(PORTS[0], 100)) === 0);
check('a block rule on the client address closes its connections (ip_firewall app)', blocked === true);

const attack = [];
for await (const r of client.firewall.accessRules.list({ zone_id, notes: 'ATTACK' })) attack.push(r.configuration.value);
eq('list notes=ATTACK (case-insensitive substring)', [CLIENT_IP, '10.77.9.9'], attack);
const any = await client.firewall.accessRules.list({ zone_id, mode: 'whitelist', configuration: { target: 'country' }, match: 'any' });
eq('list mode=whitelist OR target=country (match=any)', ['10.77.9.10', 'XX'], any.result.map((r) => r.configuration.value));
const ordered = await client.firewall.accessRules.list({ zone_id, configuration: { target: 'ip' }, order: 'configuration.value', direction: 'desc' });
// Addresses order by value (10.77.9.10 after 10.77.9.9), not as text.
eq('list target=ip order=configuration.value desc', ['10.77.9.10', '10.77.9.9', CLIENT_IP], ordered.result.map((r) => r.configuration.value));
// The usual script: list by the address, delete what comes back.
let deleted = 0;
for await (const r of client.firewall.accessRules.list({ zone_id, configuration: { target: 'ip', value: CLIENT_IP } })) {
  await client.firewall.accessRules.delete(r.id, { zone_id });
  deleted++;
}
eq('the unblock script deletes exactly one rule', 1, deleted);
const left = [];
for await (const r of client.firewall.accessRules.list({ zone_id, per_page: 5 })) left.push(r.configuration.value);
eq('the other rules stay', ['10.77.9.9', '10.77.9.10', 'XX'], left);
const unblocked = await until(3000, async () => (await echo(PORTS[0], 100)) === 100);
check('the client connects again once its rule is gone', unblocked === true);

// ---------------------------------------------------------------- analytics
const cur = await until(4000, async () => {
  const rows = await client.spectrum.analytics.aggregates.currents.get({ zone_id, appID: first.id });
  const row = rows.find((r) => r.appID === first.id);
  return row && row.bytesIngress >= 1100 ? row : null;
});
check(
  'aggregate/current counts the first-second connection (>= 1000 + 100 bytes in)',
  cur && cur.bytesIngress >= 1100 && cur.bytesEgress >= 1100,
  JSON.stringify(cur),
);
const since = new Date(t0 - 120_000).toISOString();
const summary = (filters, dimensions) =>
  client.spectrum.analytics.events.summaries.get({ zone_id, metrics: ['count'], dimensions, filters, since });
const disconnects = await until(5000, async () => {
  const s = await summary(`event==disconnect AND appID==${first.id}`, ['event']);
  return s.totals?.count >= 2 ? s : null;
});
// Two connections went through (the first-second one and the one after the unblock);
// the attempts refused while blocked are clientFiltered events, not disconnects.
check('events/summary with AND counts the app\'s disconnects', disconnects?.totals?.count >= 2, JSON.stringify(disconnects?.totals));
const both = await summary(`appID==${first.id} AND event==connect OR appID==${first.id} AND event==disconnect`, ['event']);
const byEvent = Object.fromEntries((both.data ?? []).map((d) => [d.dimensions[0], d.metrics[0]]));
check(
  'events/summary with AND/OR (AND binds tighter) groups connect and disconnect',
  byEvent.connect >= 2 && byEvent.disconnect === disconnects?.totals?.count && Object.keys(byEvent).length === 2,
  JSON.stringify(byEvent),
);
await rejects(
  'a filters grammar error',
  summary(`event==disconnect and appID==${first.id}`, ['event']),
  Cloudflare.BadRequestError,
  10001,
);

console.log(`sdk.spec: ${fails} failed, ${((Date.now() - t0) / 1000).toFixed(1)} s`);
process.exit(fails ? 1 : 0);
