// Rampart dashboard: IP access rules (#/rules: the API's list filters, add, delete, and how many
// connections each rule refused since start) and autobans (#/bans: list and lift). The filters
// live in the URL (#/rules?mode=block&configuration.target=ip...), as the API's query parameters.
'use strict';

const RULES_PATH = `${ZONE}/firewall/access_rules/rules`;
const HITS_PATH = `${ZONE}/rampart/access_rules/hits`;
const BANS_PATH = `${ZONE}/rampart/bans`;
const SIDE_REFRESH_MS = 5000;  // refused counts and bans, while their page is shown
const RULE_FILTERS = [['q-mode', 'mode'], ['q-target', 'configuration.target'], ['q-value', 'configuration.value'],
  ['q-notes', 'notes']];
const TARGET_HINT = { ip: '198.51.100.4', ip6: '2001:db8::1', ip_range: '198.51.100.0/24', country: 'US (ISO code)', asn: '64500 or AS64500' };

const RULES_PER_PAGE = 100;  // the API's per_page; ?page=N in the URL, as the API's
const rules = { list: [], total: 0, page: 1, pages: 1, query: null, hits: null, hitsAt: 0, error: '' };
const bans = { list: [], at: 0, error: '' };

// ------------------------------------------------------------------ rules

// Entering #/rules (or new filters): the form shows the URL's filters, the list is read again.
async function enterRules(r) {
  for (const [id, key] of RULE_FILTERS) $(`#${id}`).value = r.query.get(key) || '';
  $('#q-match').value = r.query.get('match') === 'any' ? 'any' : 'all';
  await loadRules(r.query);
}

async function loadRules(query) {
  const q = new URLSearchParams();
  for (const [, key] of RULE_FILTERS) if (query.get(key)) q.set(key, query.get(key));
  if (query.get('match') === 'any') q.set('match', 'any');
  const page = Math.min(1 << 30, Math.max(1, parseInt(query.get('page'), 10) || 1));
  q.set('page', String(page));
  q.set('per_page', String(RULES_PER_PAGE));
  rules.query = query;
  try {
    const env = await apiRequest('GET', `${RULES_PATH}?${q}`);
    const info = env.result_info || {};
    rules.list = env.result || [];
    rules.total = info.total_count || rules.list.length;
    rules.page = info.page || page;
    rules.pages = Math.max(1, info.total_pages || 1);
    rules.error = '';
    if (!rules.list.length && page > rules.pages) {
      // Past the last page (its last rule deleted, or an old link): the last page instead.
      const q2 = new URLSearchParams(query);
      if (rules.pages > 1) q2.set('page', String(rules.pages)); else q2.delete('page');
      history.replaceState(null, '', withQuery('/rules', q2));
      await loadRules(q2);
      return;
    }
  } catch (e) {
    if (e instanceof AuthError) return;
    rules.list = [];
    rules.total = 0;
    rules.page = rules.pages = 1;
    rules.error = e.message;
  }
  await loadHits();
  renderRules();
}

async function loadHits() {
  rules.hitsAt = Date.now();
  try {
    const rows = await getJSON(HITS_PATH);
    rules.hits = new Map((rows || []).map((h) => [h.id, h.refused || 0]));
  } catch (e) {
    rules.hits = null;  // not available from this edge (an older version): the column says so
  }
}

function refusedText(id) {
  if (!rules.hits) return '—';
  return fmtInt(rules.hits.get(id) || 0);
}

function renderRules() {
  $('#rules-error').textContent = rules.error;
  show('rules-error', !!rules.error);
  const keyOf = (r) => JSON.stringify([r.id, r.modified_on, canWrite()]);
  syncRows($('#rules-table tbody'), rules.list, keyOf, (r) => {
    const c = r.configuration || {};
    const fromFile = r.source === 'file';
    return el('tr', { 'data-rule': r.id, 'data-value': c.value },
      el('td', {}, el('span', { class: r.mode === 'block' ? 'pill bad' : 'pill good', text: r.mode })),
      el('td', { class: 'code opt', text: c.target }),
      el('td', { class: 'code', text: c.value }),
      el('td', { class: 'wrap', text: r.notes || '' }),
      el('td', { class: 'opt', text: fromFile ? 'config file' : 'API' }),
      el('td', { class: 'num refused', text: refusedText(r.id) }),
      el('td', { class: 'actions-cell' }, fromFile
        ? el('span', { class: 'muted small write-only', text: 'edit the config file' })
        : el('button', { type: 'button', class: 'small danger write-only', 'aria-label': `Delete the rule for ${c.value}`,
          'data-action': 'delete', onclick: () => deleteRule(r) }, 'Delete')));
  }, (tr, r) => { tr.querySelector('.refused').textContent = refusedText(r.id); });
  const filtered = RULE_FILTERS.some(([, key]) => rules.query && rules.query.get(key));
  const summary = `${plural(rules.total, 'rule')}${filtered ? ' match the filters' : ''}` +
    (rules.pages > 1 ? ` · page ${rules.page} of ${rules.pages}` : '') +
    (rules.hits ? '' : ' · refused counts are not available from this edge');
  // A live region: written only when it changes (the refused counts refresh every 5 s).
  if ($('#rules-summary').textContent !== summary) $('#rules-summary').textContent = summary;
  show('rules-pager', rules.pages > 1);
  const focus = document.activeElement;
  $('#rules-prev').disabled = rules.page <= 1;
  $('#rules-next').disabled = rules.page >= rules.pages;
  // A pager button that just went off (the first or last page reached) hands the focus to the
  // other one instead of dropping it.
  if (focus && focus.disabled && (focus.id === 'rules-prev' || focus.id === 'rules-next'))
    $(focus.id === 'rules-prev' ? '#rules-next' : '#rules-prev').focus();
}

// Another page of the list: the URL's ?page=N, the filters kept.
function rulesPage(delta) {
  const q = new URLSearchParams(rules.query || '');
  const page = Math.min(rules.pages, Math.max(1, rules.page + delta));
  if (page === 1) q.delete('page'); else q.set('page', String(page));
  location.hash = withQuery('/rules', q);
}

async function deleteRule(r) {
  if (!canWrite()) return;
  const c = r.configuration || {};
  const n = rules.hits ? rules.hits.get(r.id) || 0 : 0;
  const refused = rules.hits ? ` It refused ${fmtInt(n)} ${n === 1 ? 'connection or datagram' : 'connections or datagrams'} since the edge started.` : '';
  if (!(await confirmDialog(`Delete this ${r.mode} rule?`, `${c.target} ${c.value}${r.notes ? ` (${r.notes})` : ''}.${refused}`, 'Delete rule'))) return;
  try {
    await apiRequest('DELETE', `${RULES_PATH}/${encodeURIComponent(r.id)}`);
    notice(`Rule for ${c.value} deleted.`);
    $('#main').focus();  // its Delete button is gone
  } catch (e) {
    notice(`Could not delete the rule: ${writeFailure(e)}`, true);
  }
  await loadRules(rules.query || new URLSearchParams());
}

async function submitRule(e) {
  e.preventDefault();
  if (!canWrite()) return;
  const body = { mode: $('#r-mode').value, configuration: { target: $('#r-target').value, value: $('#r-value').value.trim() } };
  const notes = $('#r-notes').value.trim();
  if (notes) body.notes = notes;
  const button = $('#rule-submit');
  button.disabled = true;
  try {
    await apiRequest('POST', RULES_PATH, body);
    clearErrors($('#rule-form'));
    notice(`${body.mode === 'block' ? 'Block' : 'Allow'} rule for ${body.configuration.value} added.`);
    $('#r-value').value = '';
    $('#r-notes').value = '';
    await loadRules(rules.query || new URLSearchParams());
  } catch (err) {
    if (!(err instanceof AuthError)) showErrors($('#rule-form'), err);
  } finally {
    button.disabled = false;
  }
}

function setupRules() {
  $('#rule-filter').addEventListener('submit', (e) => {
    e.preventDefault();
    const q = new URLSearchParams();
    for (const [id, key] of RULE_FILTERS) if ($(`#${id}`).value.trim()) q.set(key, $(`#${id}`).value.trim());
    if ($('#q-match').value === 'any') q.set('match', 'any');
    const next = withQuery('/rules', q);
    if (location.hash === next) loadRules(q); else location.hash = next;
  });
  $('#q-clear').addEventListener('click', () => {
    if (location.hash === '#/rules') enterRules(route()); else location.hash = '#/rules';
  });
  $('#rule-form').addEventListener('submit', submitRule);
  $('#rules-prev').addEventListener('click', () => rulesPage(-1));
  $('#rules-next').addEventListener('click', () => rulesPage(1));
  const hint = () => { $('#r-value').placeholder = TARGET_HINT[$('#r-target').value] || ''; };
  $('#r-target').addEventListener('change', hint);
  hint();
}

// ------------------------------------------------------------------ bans

async function loadBans() {
  bans.at = Date.now();
  try {
    bans.list = (await getJSON(BANS_PATH)) || [];
    bans.error = '';
  } catch (e) {
    if (e instanceof AuthError) return;
    bans.error = e.message;
  }
  renderBans();
}

function renderBans() {
  $('#bans-error').textContent = bans.error;
  show('bans-error', !!bans.error);
  syncRows($('#bans-list tbody'), bans.list, (b) => `${b.ip}/${canWrite()}`, (b) => el('tr', { 'data-ip': b.ip },
    el('td', { class: 'code', text: b.ip }),
    el('td', { class: 'num expires', text: fmtDuration(b.expires_in) }),
    el('td', { class: 'actions-cell' }, el('button', { type: 'button', class: 'small secondary write-only',
      'aria-label': `Lift the ban of ${b.ip}`, 'data-action': 'lift', onclick: () => liftBan(b.ip) }, 'Lift'))),
  (tr, b) => { tr.querySelector('.expires').textContent = fmtDuration(b.expires_in); });
  show('bans-list-empty', bans.list.length === 0 && !bans.error);
}

async function liftBan(source) {
  if (!canWrite()) return;
  // A banned IPv6 prefix ("2001:db8::/64") is lifted by any address in it.
  const ip = source.split('/')[0];
  try {
    await apiRequest('DELETE', `${BANS_PATH}/${encodeURIComponent(ip)}`);
    notice(`Ban of ${source} lifted.`);
    $('#main').focus();  // its Lift button is gone
  } catch (e) {
    notice(`Could not lift the ban of ${source}: ${writeFailure(e)}`, true);
  }
  await loadBans();
}
