// The events page: a filterable, pageable, auto-refreshing table of /api/audit hits. The filters
// live in the page's query string, so a filtered view can be bookmarked and shared.
import { ACTIONS, EVENT_IDS, LIST_KEY, SECURITY_ALERT, api, append, badge, el, eventTypeName, outcomeWords, showError, timeEl } from './common.js';

const FILTERS = ['since', 'until', 'event_id', 'event_type', 'outcome', 'patient', 'user', 'node', 'object', 'source', 'valid'];
const TIMES = new Set(['since', 'until']);
const PAGE_SIZE = 50;
const REFRESH_MS = 5000;

const form = document.getElementById('filters');
const tbody = document.querySelector('#events tbody');
const status = document.getElementById('status');
const error = document.getElementById('error');
const live = document.getElementById('live');
const older = document.getElementById('older');
const newest = document.getElementById('newest');

let shown = '';
let generation = 0;
let inFlight = 0;

/** The page's query string, reduced to what this page understands. */
function pageQuery() {
  const q = new URLSearchParams(location.search);
  const out = new URLSearchParams();
  for (const k of [...FILTERS, 'before', 'limit']) {
    const v = q.get(k);
    if (v !== null && v.trim() !== '') out.set(k, v.trim());
  }
  return out;
}

/** datetime-local value (read as UTC) -> RFC 3339, and back. */
function toRfc3339(v) {
  const withSeconds = v.length === 16 ? `${v}:00` : v;
  return `${withSeconds}Z`;
}
function toInput(v) {
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString().slice(0, 19);
}

function fillForm(q) {
  for (const k of FILTERS) {
    const v = q.get(k) ?? '';
    form.elements[k].value = TIMES.has(k) && v ? toInput(v) : v;
  }
}

function formQuery() {
  const out = new URLSearchParams();
  for (const k of FILTERS) {
    const v = form.elements[k].value.trim();
    if (v) out.set(k, TIMES.has(k) ? toRfc3339(v) : v);
  }
  return out;
}

function go(q) {
  const s = q.toString();
  history.pushState(null, '', s ? `?${s}` : location.pathname);
  load();
}

function list(values, max = 3, fmt = (v) => v) {
  if (!values || !values.length) return '—';
  const more = values.length > max ? ` +${values.length - max}` : '';
  return values.slice(0, max).map(fmt).join(', ') + more;
}

function row(hit) {
  const alert = hit.event_id === SECURITY_ALERT;
  const classes = [alert ? 'alert' : '', hit.valid ? '' : 'invalid', hit.outcome > 0 ? 'failed' : ''].join(' ').trim();
  const href = `event.html?seq=${hit.seq}`;
  const name = EVENT_IDS.get(hit.event_id);
  const event = el('td', { class: 'event' },
    el('a', { href }, hit.event_id ? `${hit.event_id}${name ? ` ${name}` : ''}` : '(unknown)'));
  if (alert) append(event, ' ', badge('Security alert', 'alert'));
  if (!hit.valid) {
    append(event, ' ', badge('Invalid: not parsed', 'invalid'));
    if (hit.error) append(event, el('div', { class: 'error-text' }, hit.error));
  }
  const via = [hit.source_id, [hit.transport, hit.remote_addr].filter(Boolean).join(' from ')].filter(Boolean);
  return el('tr', { class: classes || null, 'data-seq': hit.seq, 'data-event-id': hit.event_id ?? '' },
    el('td', { class: 'num' }, el('a', { href, 'aria-label': `Event ${hit.seq}` }, String(hit.seq))),
    el('td', { class: 'nowrap' }, timeEl(hit.event_time, `received ${hit.received_at}`)),
    event,
    el('td', {}, list(hit.event_types, 3, eventTypeName)),
    el('td', {}, ACTIONS[hit.event_action] ?? hit.event_action ?? '—'),
    el('td', { class: hit.outcome > 0 ? 'outcome bad' : 'outcome' }, outcomeWords(hit.outcome)),
    el('td', {}, list(hit.users, 2)),
    el('td', {}, list(hit.patient_ids, 2)),
    el('td', {}, via.length ? via.join(' · ') : '—', hit.sender ? el('div', { class: 'note', title: 'sender' }, hit.sender) : null),
  );
}

/** Fetches and shows the page the URL names; a refresh is skipped while a load is running, and
 * an answer that a newer load overtook is dropped. */
async function load({ quiet = false } = {}) {
  if (quiet && inFlight) return;
  const mine = ++generation;
  inFlight += 1;
  const q = pageQuery();
  try {
    sessionStorage.setItem(LIST_KEY, q.toString() ? `?${q}` : '');
  } catch {
    // storage disabled: "back" on the event page goes to the newest events
  }
  const paged = q.has('before');
  if (!q.has('limit')) q.set('limit', String(PAGE_SIZE));
  if (!quiet) status.textContent = 'Loading…';
  try {
    const { body, text } = await api(`/api/audit?${q}`);
    if (mine !== generation) return;
    showError(error, null);
    if (text !== shown) {
      shown = text;
      tbody.replaceChildren(...body.hits.map(row));
      if (!body.hits.length) {
        tbody.append(el('tr', {}, el('td', { colspan: 9, class: 'empty' }, 'No events match these filters.')));
      }
    }
    const filters = pageQuery();
    filters.delete('before');
    newest.hidden = !paged;
    newest.href = filters.toString() ? `?${filters}` : './';
    older.hidden = body.next_before == null;
    if (body.next_before != null) {
      filters.set('before', String(body.next_before));
      older.href = `?${filters}`;
    }
    const when = new Date().toISOString().slice(11, 19);
    status.textContent = `${body.hits.length} event${body.hits.length === 1 ? '' : 's'}${paged ? ' (older page)' : ', newest first'}; updated ${when} UTC`
      + (paged ? '; auto-refresh is off on older pages' : '');
  } catch (e) {
    if (mine !== generation) return;
    showError(error, e);
    status.textContent = quiet ? 'Refresh failed; showing the last answer.' : 'Loading failed.';
    if (!quiet) {
      shown = '';
      tbody.replaceChildren();
      older.hidden = true;
    }
  } finally {
    inFlight -= 1;
  }
}

for (const [code, name] of EVENT_IDS) {
  document.getElementById('event-ids').append(el('option', { value: code }, name));
}

form.addEventListener('submit', (e) => {
  e.preventDefault();
  const q = formQuery();
  const limit = pageQuery().get('limit');
  if (limit) q.set('limit', limit);
  go(q);
});
document.getElementById('clear').addEventListener('click', () => {
  form.reset();
  go(new URLSearchParams());
});
for (const a of [older, newest]) {
  a.addEventListener('click', (e) => {
    if (e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey) return;
    e.preventDefault();
    go(new URLSearchParams(new URL(a.href).search));
  });
}
window.addEventListener('popstate', () => {
  fillForm(pageQuery());
  load();
});
live.addEventListener('change', () => {
  if (live.checked) load({ quiet: true });
});
setInterval(() => {
  if (live.checked && !document.hidden && !pageQuery().has('before')) load({ quiet: true });
}, REFRESH_MS);

fillForm(pageQuery());
load();
