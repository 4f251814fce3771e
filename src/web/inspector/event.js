// The event page: one ledger entry (`/api/ledger/entries/<seq>`) decoded and raw, its ledger
// record, and its inclusion proof (`/api/ledger/proof/<seq>`) to view and download.
import {
  ACTIONS, EVENT_IDS, LIST_KEY, SECURITY_ALERT, api, append, badge, bytesText, el, eventTypeName, fillDl, indentXml, outcomeWords, showError, timeEl,
} from './common.js';

const $ = (id) => document.getElementById(id);
const seq = new URLSearchParams(location.search).get('seq') ?? '';

function coded(c) {
  if (!c) return null;
  const meaning = c.original_text ?? c.display_name;
  return [c.code, meaning ? ` ${meaning}` : '', c.code_system_name ? ` [${c.code_system_name}]` : ''].join('');
}

function items(values, fmt = (v) => v) {
  if (!values || !values.length) return null;
  return el('ul', { class: 'plain' }, values.map((v) => el('li', {}, fmt(v))));
}

function mono(text) {
  return text == null ? null : el('code', { class: 'mono' }, String(text));
}

function table(caption, head, rows) {
  return el('div', { class: 'table-wrap' }, el('table', { class: 'events' },
    el('caption', { class: 'visually-hidden' }, caption),
    el('thead', {}, el('tr', {}, head.map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, rows.map((r) => el('tr', {}, r.map((c) => el('td', {}, c ?? '—')))))));
}

const NAP_TYPES = { 1: 'machine name', 2: 'IP address', 3: 'telephone', 4: 'e-mail', 5: 'URI' };
const OBJECT_TYPES = { 1: 'Person', 2: 'System object', 3: 'Organization', 4: 'Other' };
const LIFE_CYCLE = {
  1: 'Origination', 2: 'Import', 3: 'Amendment', 4: 'Verification', 5: 'Translation', 6: 'Access',
  7: 'De-identification', 8: 'Aggregation', 9: 'Report', 10: 'Export', 11: 'Disclosure',
  12: 'Receipt of disclosure', 13: 'Archiving', 14: 'Logical deletion', 15: 'Permanent erasure',
};

function renderSummary(d) {
  const ix = d.index;
  if (!ix) {
    fillDl($('summary'), [['Entry kind', d.kind], ['Committed', timeEl(d.committed_at)],
      ['Audit index', 'This entry is not an indexed audit event.']]);
    return;
  }
  const name = EVENT_IDS.get(ix.event_id);
  fillDl($('summary'), [
    ['Event ID', ix.event_id ? `${ix.event_id}${name ? ` ${name}` : ''}` : null],
    ['Event time', timeEl(ix.event_time)],
    ['Received', timeEl(ix.received_at)],
    ['Action', ACTIONS[ix.event_action] ?? ix.event_action],
    ['Outcome', outcomeWords(ix.outcome)],
    ['Event types', items(ix.event_types, eventTypeName)],
    ['Users', items(ix.users)],
    ['Nodes', items(ix.nodes)],
    ['Patients', items(ix.patient_ids)],
    ['Objects', items(ix.object_ids)],
    ['Audit source', ix.source_id],
    ['Transport', ix.transport],
    ['Sender', ix.sender],
    ['Remote address', ix.remote_addr],
    ['Message ID', mono(ix.message_id)],
    ['Parsed', ix.valid ? 'yes' : el('span', { class: 'bad' }, `no: ${ix.error ?? 'unknown error'}`)],
  ]);
}

function renderDecoded(d) {
  const box = $('decoded');
  const m = d.decoded;
  if (!m) {
    const why = d.index && d.index.error ? ` (${d.index.error})` : '';
    box.replaceChildren(el('p', { class: 'banner warn' },
      `The payload does not decode as a DICOM or RFC 3881 audit message${why}; it is kept raw below.`));
    return;
  }
  const ev = m.event;
  const idl = el('dl', { class: 'kv' });
  fillDl(idl, [
    ['Message format', m.format === 'Rfc3881' ? 'RFC 3881 (legacy)' : 'DICOM PS3.15 A.5'],
    ['Event ID', coded(ev.event_id)],
    ['Action', ev.action],
    ['Event date/time (as sent)', mono(ev.date_time)],
    ['Outcome', outcomeWords(ev.outcome)],
    ['Outcome description', ev.outcome_description],
    ['Event type codes', items(ev.event_type_codes, coded)],
    ['Purpose of use', items(ev.purpose_of_use, coded)],
  ]);
  const participants = table('Active participants',
    ['User ID', 'Alternative user ID', 'User name', 'Requestor', 'Roles', 'Network access point'],
    m.active_participants.map((p) => [
      mono(p.user_id), p.alternative_user_id, p.user_name, p.user_is_requestor ? 'yes' : 'no',
      items(p.role_id_codes, coded),
      p.network_access_point_id
        ? `${p.network_access_point_id}${NAP_TYPES[p.network_access_point_type_code] ? ` (${NAP_TYPES[p.network_access_point_type_code]})` : ''}`
        : null,
    ]));
  const sources = [m.audit_source, ...(m.additional_audit_sources ?? [])];
  const sourceTable = table('Audit sources', ['Audit source ID', 'Enterprise site', 'Type codes'],
    sources.map((s) => [mono(s.audit_source_id), s.enterprise_site_id, items(s.type_codes, coded)]));
  const objects = m.participant_objects.length
    ? table('Participant objects', ['ID', 'ID type', 'Type / role', 'Life cycle', 'Name', 'Query', 'Details'],
      m.participant_objects.map((o) => [
        mono(o.id || '(empty)'), coded(o.id_type_code),
        [OBJECT_TYPES[o.type_code] ?? o.type_code, o.type_code_role].filter((x) => x != null).join(' / role ') || null,
        LIFE_CYCLE[o.data_life_cycle] ?? o.data_life_cycle,
        o.name,
        o.query ? el('pre', { class: 'box small' }, bytesText(o.query)) : null,
        items(o.details, (x) => `${x.type}: ${bytesText(x.value)}`),
      ]))
    : el('p', {}, 'None.');
  box.replaceChildren(
    el('h3', {}, 'Event identification'), idl,
    el('h3', {}, 'Active participants'), participants,
    el('h3', {}, 'Audit source'), sourceTable,
    el('h3', {}, 'Participant objects'), objects,
  );
}

function renderLedger(d) {
  const env = d.envelope ?? {};
  fillDl($('ledger'), [
    ['Sequence number', String(d.seq)],
    ['Entry kind', d.kind],
    ['Leaf format', env.format_version],
    ['Committed', timeEl(d.committed_at)],
    ['Received (envelope)', timeEl(env.received_at)],
    ['Transport', env.transport],
    ['Sender certificate (SHA-256)', mono(env.sender_fingerprint)],
    ['Connection ID', env.connection_id == null ? null : String(env.connection_id)],
    ['Frame in connection', env.frame_seq == null ? null : String(env.frame_seq)],
    ['Leaf hash', mono(d.leaf_hash)],
    ['Chain hash', mono(d.chain_hash)],
    ['Payload SHA3-256', mono(d.payload_sha3)],
    ['Payload size', d.payload_bytes == null ? null : `${d.payload_bytes} bytes`],
    ['Erased by entry', d.erased_by == null ? null : String(d.erased_by)],
  ]);
}

function renderRaw(d) {
  const note = $('raw-note');
  const raw = $('raw');
  if (d.payload_text != null) {
    note.textContent = 'Exactly as stored in the ledger (for syslog, the whole frame as received), shown as text.';
    raw.textContent = d.payload_text;
    const indent = $('indent');
    $('indent-label').hidden = false;
    indent.addEventListener('change', () => {
      raw.textContent = indent.checked ? indentXml(d.payload_text) : d.payload_text;
    });
  } else if (d.payload_base64 != null) {
    note.textContent = 'The payload is not UTF-8; shown as base64.';
    raw.textContent = d.payload_base64;
  } else {
    note.textContent = d.erased_by != null
      ? `The payload was erased by entry ${d.erased_by}; its hash stays in the leaf.`
      : 'This entry has no payload.';
    raw.hidden = true;
  }
}

function render(d) {
  const ix = d.index;
  const name = ix ? EVENT_IDS.get(ix.event_id) : null;
  const heading = `Ledger entry ${d.seq}${ix && ix.event_id ? `: ${ix.event_id}${name ? ` ${name}` : ''}` : ''}`;
  $('title').textContent = heading;
  document.title = `${heading} · hiehub inspector`;
  const badges = $('badges');
  if (ix && ix.event_id === SECURITY_ALERT) badges.append(badge('Security alert', 'alert'));
  if (ix && !ix.valid) badges.append(badge('Invalid: not parsed', 'invalid'));
  if (ix && ix.outcome > 0) badges.append(badge(outcomeWords(ix.outcome), 'failed'));
  renderSummary(d);
  renderDecoded(d);
  renderLedger(d);
  renderRaw(d);
}

async function renderAnchoring() {
  try {
    const { body: a } = await api(`/api/ledger/entries/${seq}/anchoring`);
    fillDl($('anchoring'), [
      ['Anchored', a.anchored ? `yes (${a.cosigners.length} of k = ${a.quorum}, ${a.peers} peers)` : `no (${a.cosigners.length} of k = ${a.quorum}, ${a.peers} peers)`],
      ['Covering checkpoint', a.covering_checkpoint ? `size ${a.covering_checkpoint.size}, root ${a.covering_checkpoint.root}` : 'none signed yet'],
    ]);
    if (a.anchored) $('badges').append(badge('Anchored', 'ok'));
    const body = $('cosigners').querySelector('tbody');
    body.replaceChildren();
    for (const c of a.cosigners) {
      body.append(el('tr', {}, el('td', {}, c.peer), el('td', {}, String(c.size)), el('td', { class: 'mono' }, c.key_name),
        el('td', {}, c.cosigned_at ? timeEl(c.cosigned_at) : '—'),
        el('td', {}, el('a', { href: `event.html?seq=${c.ledger_seq}` }, String(c.ledger_seq)))));
    }
    $('cosigners').hidden = !a.cosigners.length;
  } catch (e) {
    showError($('anchoring-error'), e);
  }
}

function save(text, name) {
  const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }));
  const a = el('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

function showProof(b) {
  fillDl($('proof-facts'), [
    ['Format', b.format],
    ['Leaf index', String(b.seq)],
    ['Tree size of the checkpoint', String(b.tree_size)],
    ['Leaf hash', mono(b.leaf_hash)],
    ['Path length', `${b.proof.length} hash${b.proof.length === 1 ? '' : 'es'}`],
  ]);
  $('proof-checkpoint').textContent = b.checkpoint;
  $('proof-path').replaceChildren(...b.proof.map((h) => el('li', {}, h)));
  if (!b.proof.length) $('proof-path').append(el('li', { class: 'none' }, '(none: the tree has one entry)'));
  $('proof').hidden = false;
}

async function downloadProof() {
  const button = $('download-proof');
  const status = $('proof-status');
  button.disabled = true;
  $('proof-retry').disabled = true;
  status.textContent = 'Fetching the proof…';
  try {
    const { body, text } = await api(`/api/ledger/proof/${seq}`);
    $('proof-error').hidden = true;
    const name = `hiehub-proof-${seq}.json`;
    save(text, name);
    showProof(body);
    status.textContent = `Saved as ${name} (against the checkpoint at tree size ${body.tree_size}).`;
  } catch (e) {
    const why = e.status === 409
      ? `${e.message}. The entry is not yet covered by a signed checkpoint; checkpoints are signed every few entries or seconds, so retry in a moment.`
      : e.message;
    $('proof-error-text').textContent = why;
    $('proof-error').hidden = false;
    status.textContent = 'No proof.';
  } finally {
    button.disabled = false;
    $('proof-retry').disabled = false;
  }
}

/** The query of the events list last shown in this tab (events.js keeps it), for "back". */
function lastList() {
  try {
    return sessionStorage.getItem(LIST_KEY) ?? '';
  } catch {
    return '';
  }
}

async function main() {
  $('download-proof').addEventListener('click', downloadProof);
  $('proof-retry').addEventListener('click', downloadProof);
  $('back').href = `./${lastList()}`;
  if (!/^\d+$/.test(seq)) {
    $('loading').hidden = true;
    showError($('error'), `No event named: the address needs ?seq=N with a ledger sequence number (got "${seq}").`);
    return;
  }
  try {
    const { body } = await api(`/api/ledger/entries/${seq}`);
    render(body);
    $('content').hidden = false;
    await renderAnchoring();
  } catch (e) {
    showError($('error'), e);
  } finally {
    $('loading').hidden = true;
  }
}

main();
