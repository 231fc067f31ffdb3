// Rampart dashboard: managing Spectrum apps. The list (#/apps) with edit and delete (a delete asks
// first, naming the app's active connections), and the create/edit form (#/apps/new,
// #/apps/edit/ID) with Spectrum's fields plus Rampart's. A refused write shows each API error next
// to the field its source.pointer names (JSON pointer into the request body), else at the top.
'use strict';

const APPS_PATH = `${ZONE}/spectrum/apps`;
const form = { app: null };  // the app being edited (its JSON as the API sent it), null for a new one

// ------------------------------------------------------------------ the list

function originText(a) {
  if (a.origin_direct) return a.origin_direct.join(', ');
  if (a.origin_dns) return `${a.origin_dns.name}:${a.origin_port}`;
  return '';
}

function activeOf(id) {
  const l = liveApps().find((x) => x.appID === id);
  return (l && l.totals && l.totals.connections) || 0;
}

function renderManageApps() {
  const apps = [...state.apps].sort((a, b) => String(a.id).localeCompare(String(b.id)));
  // Keyed by what a row shows: a changed app gets a new row, the others (and their focus) stay.
  const keyOf = (a) => JSON.stringify([a.id, a.modified_on, a.protocol, a.dns, originText(a), a.source, canWrite()]);
  syncRows($('#manage-apps tbody'), apps, keyOf, (a) => {
    const fromFile = a.source === 'file';
    const why = fromFile ? 'defined in the config file: edit the file and reload' : undefined;
    return el('tr', { 'data-app': a.id },
      el('td', {}, el('a', { href: `#/app/${encodeURIComponent(a.id)}`, text: a.id })),
      el('td', { class: 'code', text: a.protocol }),
      el('td', { class: 'opt', text: (a.dns && a.dns.name) || '' }),
      el('td', { class: 'code wrap opt', text: originText(a) }),
      el('td', { class: 'opt', text: fromFile ? 'config file' : 'API' }),
      el('td', { class: 'num active', text: fmtInt(activeOf(a.id)) }),
      el('td', { class: 'actions-cell' },
        fromFile ? el('span', { class: 'muted small write-only', title: why, text: 'edit the config file' }) : null,
        fromFile ? null : el('a', { class: 'button small secondary write-only', href: `#/apps/edit/${encodeURIComponent(a.id)}`,
          'aria-label': `Edit ${a.id}`, 'data-action': 'edit' }, 'Edit'),
        fromFile ? null : el('button', { type: 'button', class: 'small danger write-only', 'aria-label': `Delete ${a.id}`,
          'data-action': 'delete', onclick: () => deleteApp(a.id) }, 'Delete')));
  }, (tr, a) => { tr.querySelector('.active').textContent = fmtInt(activeOf(a.id)); });
  show('manage-apps-empty', apps.length === 0);
}

async function deleteApp(id) {
  if (!canWrite()) return;
  // The active connections now (over the fleet on a fleet edge), named in the question.
  let active = activeOf(id);
  try {
    const rows = await getJSON(`${ZONE}/spectrum/analytics/aggregate/current?appID=${encodeURIComponent(id)}`);
    const row = (rows || []).find((x) => x.appID === id);
    if (row) active = row.connections || 0;
  } catch (e) { if (e instanceof AuthError) return; }
  const ok = await confirmDialog(`Delete app ${id}?`,
    `It has ${plural(active, 'active connection')}. Its listeners close and the app is removed from the edge.`,
    'Delete app');
  if (!ok) return;
  try {
    await apiRequest('DELETE', `${APPS_PATH}/${encodeURIComponent(id)}`);
    notice(`App ${id} deleted.`);
    $('#main').focus();  // its Delete button is gone
    await refreshApps();
  } catch (e) {
    notice(`Could not delete ${id}: ${writeFailure(e)}`, true);
  }
}

async function refreshApps() {
  const r = await getJSON(`${APPS_PATH}?per_page=1000`);
  state.apps = Array.isArray(r) ? r : [];
  state.appsFetchedAt = Date.now();
  render();
}

// ------------------------------------------------------------------ the form

const fv = (id) => document.getElementById(id);

function originRow(value) {
  const i = $$('#origin-list .origin-row').length;
  const input = el('input', { id: `f-origin-${i}`, class: 'origin-input', value: value || '', autocomplete: 'off',
    spellcheck: 'false', placeholder: 'tcp://192.0.2.1:22' });
  const row = el('div', { class: 'field origin-row', 'data-pointer': `/origin_direct/${i}` },
    el('label', { for: input.id, class: 'sr-only', text: `Origin address ${i + 1}` }),
    el('div', { class: 'inline' }, input,
      el('button', { type: 'button', class: 'small secondary', 'aria-label': `Remove origin address ${i + 1}`,
        onclick: () => { row.remove(); renumberOrigins(); } }, 'Remove')));
  fv('origin-list').append(row);
  return input;
}

function renumberOrigins() {
  $$('#origin-list .origin-row').forEach((row, i) => {
    row.dataset.pointer = `/origin_direct/${i}`;
    const input = $('input', row);
    input.id = `f-origin-${i}`;
    $('label', row).setAttribute('for', input.id);
    $('label', row).textContent = `Origin address ${i + 1}`;
    $('button', row).setAttribute('aria-label', `Remove origin address ${i + 1}`);
  });
  if (!$$('#origin-list .origin-row').length) originRow('');
}

// Shows the parts of the form that apply to the chosen protocol, origin kind and edge IP type.
function syncFormState() {
  const udp = fv('f-proto').value === 'udp';
  const dns = fv('f-origin-dns').checked;
  fv('origin-direct-box').hidden = dns;
  fv('origin-dns-box').hidden = !dns;
  fv('f-tls').disabled = udp;
  if (udp) fv('f-tls').value = 'off';
  fv('f-ppu').disabled = !udp;
  const stat = fv('f-edge-type').value === 'static';
  fv('edge-conn-field').hidden = stat;
  fv('edge-ips-field').hidden = !stat;
}

function fillForm(a) {
  const isNew = !a;
  a = a || {};
  form.app = isNew ? null : a;
  clearErrors();
  $('#app-form-title').textContent = isNew ? 'New app' : `Edit ${a.id}`;
  $('#app-submit').textContent = isNew ? 'Create app' : 'Save changes';
  $('#app-form-note').textContent = isNew ? 'A new app listens within a second of being created.'
    : `Changes apply to new connections within a second; established ones are not touched. Last modified ${a.modified_on || ''}.`;
  fv('f-id').value = a.id || '';
  fv('f-id').readOnly = !isNew;
  const [proto, port] = (a.protocol || 'tcp/').split('/');
  fv('f-proto').value = proto === 'udp' ? 'udp' : 'tcp';
  fv('f-port').value = port || '';
  fv('f-dns-type').value = (a.dns && a.dns.type) || 'CNAME';
  fv('f-dns-name').value = (a.dns && a.dns.name) || '';
  fv('f-origin-dns').checked = !!a.origin_dns;
  fv('f-origin-direct').checked = !a.origin_dns;
  fv('origin-list').replaceChildren();
  for (const o of a.origin_direct || ['']) originRow(o);
  fv('f-odns-name').value = (a.origin_dns && a.origin_dns.name) || '';
  fv('f-odns-type').value = (a.origin_dns && a.origin_dns.type) || '';
  fv('f-odns-ttl').value = a.origin_dns && a.origin_dns.ttl ? String(a.origin_dns.ttl) : '';
  fv('f-odns-port').value = a.origin_port !== undefined ? String(a.origin_port) : '';
  fv('f-pp').value = a.proxy_protocol || 'off';
  fv('f-ppu').value = a.proxy_protocol_udp || 'every';
  fv('f-tls').value = a.tls || 'off';
  fv('f-ipfw').checked = isNew ? true : !!a.ip_firewall;
  const e = a.edge_ips || { type: 'dynamic', connectivity: 'all' };
  fv('f-edge-type').value = e.type || 'dynamic';
  fv('f-edge-conn').value = e.connectivity || 'all';
  fv('f-edge-ips').value = (e.ips || []).join(', ');
  fv('f-validate').value = a.validate || 'none';
  fv('f-lb').value = (a.load_balancing && a.load_balancing.policy) || 'least_connections';
  fv('f-kr').value = a.kernel_relay || 'auto';
  const t = a.timeouts || {};
  fv('f-t-connect').value = t.connect || '';
  fv('f-t-idle').value = t.idle || '';
  fv('f-t-udp').value = t.udp_flow_idle || '';
  // Protection: the override's fields as the API echoes them (only those set); empty = the zone's.
  const p = a.protection || {};
  const pi = p.per_ip || {};
  for (const [id, v] of protFields(p, pi)) fv(id).value = v === undefined ? '' : String(v);
  fv('f-p-dry').value = (p.dry_run || []).join(', ');
  const kept = Object.keys(p).filter((k) => !['per_ip', 'max_connections', 'handshake_timeout', 'dry_run'].includes(k));
  $('#app-protection').textContent = a.protection
    ? `This app overrides the zone's protection in the fields set below${kept.length ? ` (and ${kept.join(', ')}, kept as they are)` : ''}; empty fields inherit the zone's.`
    : 'The zone-wide protection (the config file\'s protection: block) applies; set a field below to override it for this app.';
  syncFormState();
}

// [input id, value] of the protection fields the form edits.
function protFields(p, pi) {
  return [['f-p-maxconn', pi.max_connections], ['f-p-rate', pi.new_connections_per_second],
    ['f-p-burst', pi.burst], ['f-p-udp', pi.udp_packets_per_second], ['f-p-udpburst', pi.udp_burst],
    ['f-p-appmax', p.max_connections], ['f-p-hs', p.handshake_timeout]];
}

// The protection override from the form: the fields set (a number as a number, anything else as
// typed, for the API to judge), over the override's fields the form does not show; undefined when
// nothing is set (PUT without protection: the zone's protection applies).
function protectionBody() {
  const old = (form.app && form.app.protection) || {};
  const out = {};
  for (const [k, v] of Object.entries(old)) if (!['per_ip', 'max_connections', 'handshake_timeout', 'dry_run'].includes(k)) out[k] = v;
  const val = (id) => {
    const v = fv(id).value.trim();
    if (!v) return undefined;
    return /^\d+$/.test(v) ? Number(v) : v;
  };
  const perIp = {};
  for (const [k, id] of [['max_connections', 'f-p-maxconn'], ['new_connections_per_second', 'f-p-rate'], ['burst', 'f-p-burst'],
    ['udp_packets_per_second', 'f-p-udp'], ['udp_burst', 'f-p-udpburst']]) {
    const v = val(id);
    if (v !== undefined) perIp[k] = v;
  }
  if (Object.keys(perIp).length) out.per_ip = perIp;
  const appMax = val('f-p-appmax');
  if (appMax !== undefined) out.max_connections = appMax;
  const hs = fv('f-p-hs').value.trim();
  if (hs) out.handshake_timeout = hs;
  const dry = fv('f-p-dry').value.split(/[\s,]+/).filter(Boolean);
  if (dry.length) out.dry_run = dry;
  return Object.keys(out).length ? out : undefined;
}

// The request body from the form. An edit starts from the app as the API sent it (fields the form
// does not show, such as tls_settings, are kept) and carries modified_on, so that a change made
// meanwhile by someone else is refused rather than overwritten.
function formBody() {
  const proto = fv('f-proto').value;
  const body = {};
  if (form.app) {
    for (const [k, v] of Object.entries(form.app)) {
      if (!['protection', 'created_on', 'source', 'origin_direct', 'origin_dns', 'origin_port'].includes(k)) body[k] = v;
    }
  } else if (fv('f-id').value.trim()) {
    body.id = fv('f-id').value.trim();
  }
  body.protocol = `${proto}/${fv('f-port').value.trim()}`;
  const dnsName = fv('f-dns-name').value.trim();
  if (dnsName) body.dns = { type: fv('f-dns-type').value, name: dnsName }; else delete body.dns;
  if (fv('f-origin-dns').checked) {
    body.origin_dns = { name: fv('f-odns-name').value.trim(), type: fv('f-odns-type').value };
    const ttl = fv('f-odns-ttl').value.trim();
    if (ttl) body.origin_dns.ttl = /^\d+$/.test(ttl) ? Number(ttl) : ttl;
    const port = fv('f-odns-port').value.trim();
    body.origin_port = /^\d+$/.test(port) ? Number(port) : port;
  } else {
    // "192.0.2.1:22" gets the app's scheme; anything with a scheme goes as typed.
    body.origin_direct = $$('#origin-list .origin-input').map((i) => i.value.trim()).filter(Boolean)
      .map((v) => (v.includes('://') ? v : `${proto}://${v}`));
  }
  body.proxy_protocol = fv('f-pp').value;
  if (proto === 'udp') body.proxy_protocol_udp = fv('f-ppu').value;
  body.tls = proto === 'udp' ? 'off' : fv('f-tls').value;
  body.ip_firewall = fv('f-ipfw').checked;
  body.edge_ips = fv('f-edge-type').value === 'static'
    ? { type: 'static', ips: fv('f-edge-ips').value.split(/[\s,]+/).filter(Boolean) }
    : { type: 'dynamic', connectivity: fv('f-edge-conn').value };
  body.validate = fv('f-validate').value;
  body.load_balancing = Object.assign({}, body.load_balancing || {}, { policy: fv('f-lb').value });
  body.kernel_relay = fv('f-kr').value;
  const timeouts = Object.assign({}, body.timeouts || {});
  for (const [k, id] of [['connect', 'f-t-connect'], ['idle', 'f-t-idle'], ['udp_flow_idle', 'f-t-udp']]) {
    const v = fv(id).value.trim();
    if (v) timeouts[k] = v; else delete timeouts[k];
  }
  body.timeouts = timeouts;
  const protection = protectionBody();
  if (protection) body.protection = protection;
  return body;
}

// ------------------------------------------------------------------ errors next to fields

function clearErrors(root) {
  root = root || $('#app-form');
  for (const p of $$('.field-error', root)) p.remove();
  for (const i of $$('[aria-invalid]', root)) { i.removeAttribute('aria-invalid'); i.removeAttribute('aria-describedby'); }
  for (const f of $$('.invalid', root)) f.classList.remove('invalid');
  const top = $('.form-error', root);
  top.hidden = true;
  top.textContent = '';
}

// The element of `root` for a JSON pointer: the field with that data-pointer, else the nearest
// one for a prefix of it ("/edge_ips/ips/1" -> "/edge_ips/ips"), else null (top of the form).
function fieldFor(root, pointer) {
  let p = typeof pointer === 'string' ? pointer : '';
  while (p && p !== '/') {
    const f = root.querySelector(`[data-pointer="${CSS.escape(p)}"]`);
    if (f && !f.closest('[hidden]')) return f;
    p = p.slice(0, p.lastIndexOf('/'));
  }
  return null;
}

// Puts each error of a refused write next to its field (the rest at the top) and focuses the
// first.
function showErrors(root, e) {
  clearErrors(root);
  const top = $('.form-error', root);
  const errors = e instanceof ApiError && e.errors.length ? e.errors : [{ message: writeFailure(e) }];
  const topLines = [];
  errors.forEach((err, n) => {
    const pointer = err.source && err.source.pointer;
    const field = fieldFor(root, pointer);
    const code = err.code ? ` (${err.code})` : '';
    if (!field) { topLines.push(err.message + code); return; }
    // Next to its field the message needs no "origin_direct[0]: " in front.
    const path = pointer.split('/').slice(1).map((p, i) => (/^\d+$/.test(p) ? `[${p}]` : (i ? '.' : '') + p)).join('');
    const text = (err.message.startsWith(`${path}: `) ? err.message.slice(path.length + 2) : err.message) + code;
    const id = `${root.id}-err-${n}`;
    field.classList.add('invalid');
    field.append(el('p', { class: 'field-error', id, text }));
    // The input that gets aria-invalid and the focus: the one marked so, else the field's first.
    const input = $('[data-error-target]', field) || $('input:not([type=radio]), select', field);
    if (input) {
      input.setAttribute('aria-invalid', 'true');
      input.setAttribute('aria-describedby', `${input.getAttribute('aria-describedby') || ''} ${id}`.trim());
    }
  });
  if (e instanceof ApiError && e.status === 403) topLines.unshift(writeFailure(e));
  if (topLines.length) {
    top.textContent = [...new Set(topLines)].join(' · ');
    top.hidden = false;
    top.tabIndex = -1;
  }
  // The focus goes to the top message, else to the first field in error (in the form's order).
  const first = topLines.length ? top : $('[aria-invalid="true"]', root);
  if (first) first.focus();
}

async function submitApp(e) {
  e.preventDefault();
  if (!canWrite()) return;
  const button = $('#app-submit');
  button.disabled = true;
  const body = formBody();
  try {
    const res = form.app
      ? await apiRequest('PUT', `${APPS_PATH}/${encodeURIComponent(form.app.id)}`, body)
      : await apiRequest('POST', APPS_PATH, body);
    const id = res.result.id;
    const notes = (res.messages || []).map((m) => m.message).filter(Boolean);
    notice(`App ${id} ${form.app ? 'saved' : 'created'}.${notes.length ? ' ' + notes.join(' ') : ''}`);
    location.hash = '#/apps';
    await refreshApps();
  } catch (err) {
    if (!(err instanceof AuthError)) showErrors($('#app-form'), err);
  } finally {
    button.disabled = false;
  }
}

// Entering #/apps/new or #/apps/edit/ID: a fresh form (the app read again for an edit).
async function enterAppForm(r) {
  if (!r.id) { fillForm(null); fv('f-port').focus(); return; }
  fillForm(null);
  $('#app-form-title').textContent = `Edit ${r.id}`;
  try {
    fillForm(await getJSON(`${APPS_PATH}/${encodeURIComponent(r.id)}`));
    fv('f-port').focus();
  } catch (e) {
    if (!(e instanceof AuthError)) showErrors($('#app-form'), e);
  }
}

function setupAppForm() {
  $('#app-form').addEventListener('submit', submitApp);
  for (const id of ['f-proto', 'f-origin-direct', 'f-origin-dns', 'f-edge-type']) fv(id).addEventListener('change', syncFormState);
  fv('origin-add').addEventListener('click', () => originRow('').focus());
}
