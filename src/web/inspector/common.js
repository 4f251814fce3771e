// Shared helpers of the inspector pages: the JSON API client, DOM building (text only, never
// HTML), and the names of DICOM audit codes.

/** An API call that did not succeed: the HTTP status and the server's message. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** Calls the JSON API; resolves to the parsed body, or rejects with an ApiError saying why. */
export async function api(path, options = {}) {
  let resp;
  try {
    resp = await fetch(path, { headers: { accept: 'application/json' }, ...options });
  } catch (e) {
    throw new ApiError(0, `${path}: the server could not be reached (${e.message})`);
  }
  const text = await resp.text();
  if (!resp.ok) {
    let message = text.trim();
    try {
      const body = JSON.parse(text);
      if (body && typeof body.error === 'string') message = body.error;
    } catch {
      // not JSON: the text itself is the message
    }
    throw new ApiError(resp.status, `${path}: ${resp.status} ${resp.statusText}${message ? ` — ${message}` : ''}`);
  }
  try {
    return { body: JSON.parse(text), text };
  } catch (e) {
    throw new ApiError(resp.status, `${path}: the answer is not JSON (${e.message})`);
  }
}

/** `el('td', {class: 'x'}, 'text', child)`: an element with attributes and text/element children. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else if (k === 'text') node.textContent = v;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  append(node, ...children);
  return node;
}

export function append(node, ...children) {
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

/** Shows `err` (an Error or text) in the banner `node`; `null` hides it. */
export function showError(node, err) {
  if (!err) {
    node.hidden = true;
    node.textContent = '';
    return;
  }
  node.textContent = err instanceof Error ? err.message : String(err);
  node.hidden = false;
}

/** `dl` rows: [[term, value], ...]; a value may be a Node; empty values are shown as "—". */
export function fillDl(dl, rows) {
  dl.replaceChildren();
  for (const [term, value] of rows) {
    const empty = value === undefined || value === null || value === '' || (Array.isArray(value) && !value.length);
    append(dl, el('dt', {}, term), el('dd', { class: empty ? 'none' : null }, empty ? '—' : value));
  }
}

export const OUTCOMES = new Map([
  [0, 'Success'],
  [4, 'Minor failure'],
  [8, 'Serious failure'],
  [12, 'Major failure'],
]);

/** EventOutcomeIndicator as words: a number (index) or the model's enum name (decoded). */
export function outcomeWords(o) {
  if (o === null || o === undefined) return '—';
  if (typeof o === 'number') return OUTCOMES.get(o) ?? `unknown (${o})`;
  return String(o).replace(/([a-z])([A-Z])/g, '$1 $2').replace(/ F/, ' f');
}

export const ACTIONS = { C: 'Create', R: 'Read', U: 'Update', D: 'Delete', E: 'Execute' };

/** DICOM PS3.16 audit event IDs (CID 403 / RFC 3881). */
export const EVENT_IDS = new Map([
  ['110100', 'Application Activity'],
  ['110101', 'Audit Log Used'],
  ['110102', 'Begin Transferring DICOM Instances'],
  ['110103', 'DICOM Instances Accessed'],
  ['110104', 'DICOM Instances Transferred'],
  ['110105', 'DICOM Study Deleted'],
  ['110106', 'Export'],
  ['110107', 'Import'],
  ['110108', 'Network Entry'],
  ['110109', 'Order Record'],
  ['110110', 'Patient Record'],
  ['110111', 'Procedure Record'],
  ['110112', 'Query'],
  ['110113', 'Security Alert'],
  ['110114', 'User Authentication'],
]);

/** DICOM PS3.16 audit event type codes (CID 400..402 and friends) used by hiehub and its peers. */
export const EVENT_TYPES = new Map([
  ['110120', 'Application Start'],
  ['110121', 'Application Stop'],
  ['110122', 'Login'],
  ['110123', 'Logout'],
  ['110124', 'Attach'],
  ['110125', 'Detach'],
  ['110126', 'Node Authentication'],
  ['110127', 'Emergency Override Started'],
  ['110128', 'Network Configuration'],
  ['110129', 'Security Configuration'],
  ['110130', 'Hash Check'],
  ['110131', 'Software Configuration'],
  ['110132', 'Use of a restricted function'],
  ['110133', 'Audit Recording Stopped'],
  ['110134', 'Audit Recording Started'],
  ['110135', 'Object Security Attributes Changed'],
  ['110136', 'Security Roles Changed'],
  ['110137', 'User security Attributes Changed'],
  ['110138', 'Emergency Override Stopped'],
  ['110139', 'Remote Service Operation Started'],
  ['110140', 'Remote Service Operation Stopped'],
  ['110141', 'Local Service Operation Started'],
  ['110142', 'Local Service Operation Stopped'],
]);

/** An event type code with its meaning when it is a known DICOM code. */
export function eventTypeName(code) {
  const name = EVENT_TYPES.get(code);
  return name ? `${code} ${name}` : code;
}

export const SECURITY_ALERT = '110113';

/** sessionStorage key: the query string of the events list last shown in this tab. */
export const LIST_KEY = 'hiehub-inspector-list';

/** A timestamp as "YYYY-MM-DD HH:MM:SS.mmm" in UTC, or "—". */
export function utc(t) {
  if (!t) return '—';
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return String(t);
  return d.toISOString().replace('T', ' ').replace('Z', '');
}

/** A `<time>` element showing `t` in UTC. */
export function timeEl(t, title) {
  if (!t) return '—';
  return el('time', { datetime: t, title: title ?? t }, utc(t));
}

/** A small label that does not rely on colour alone. */
export function badge(text, kind) {
  return el('span', { class: `badge ${kind}` }, text);
}

/** A string of bytes as the API gives them (array of numbers) as text, when it is UTF-8. */
export function bytesText(bytes) {
  if (!Array.isArray(bytes)) return bytes;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(bytes));
  } catch {
    return `(${bytes.length} bytes, not UTF-8) ` + bytes.map((b) => b.toString(16).padStart(2, '0')).join('');
  }
}

/** XML indented for reading (display only): one element per line, two spaces per level. Text
 * before the XML (a syslog header) is kept on its own line. */
export function indentXml(text) {
  const start = [text.indexOf('<?xml'), text.indexOf('<AuditMessage')].filter((i) => i >= 0);
  const at = start.length ? Math.min(...start) : 0;
  const head = text.slice(0, at).trimEnd();
  let depth = 0;
  const out = [];
  for (const line of text.slice(at).replace(/>\s*</g, '>\n<').split('\n')) {
    const closing = line.startsWith('</');
    const leaf = /^<[?!]/.test(line) || /\/>$/.test(line) || /^<([^\s>/]+)[^>]*>.*<\/\1>$/.test(line) || !line.startsWith('<');
    if (closing) depth = Math.max(0, depth - 1);
    out.push('  '.repeat(depth) + line);
    if (!closing && !leaf) depth += 1;
  }
  return (head ? `${head}\n` : '') + out.join('\n');
}

/**
 * The anchoring alarm banner on every inspector page: when another hub's ledger (or this one's)
 * was caught forking, rolling back or with a bad signature or proof (`/api/ledger/alarms`), a red
 * banner at the top of the page says so, newest first, until an operator deals with it.
 */
async function anchorBanner() {
  const main = document.querySelector('main');
  if (!main) return;
  let alarms;
  try {
    ({ body: alarms } = await api('/api/ledger/alarms'));
  } catch {
    return; // the page's own requests report an unreachable server
  }
  if (!Array.isArray(alarms) || !alarms.length) return;
  const list = el('ul', {});
  for (const a of alarms.slice(0, 5)) {
    append(list, el('li', {}, `${utc(a.detected_at)} · ${a.kind} · peer ${a.peer}: ${a.detail}`,
      a.evidence ? ' ' : '', a.evidence ? el('a', { href: `/api/ledger/alarms/${a.id}/evidence` }, 'evidence') : ''));
  }
  const banner = el('div', { id: 'anchor-alarm', class: 'banner bad', role: 'alert' },
    el('strong', {}, `Anchoring alarm: ${alarms.length} alarm${alarms.length === 1 ? '' : 's'} — a ledger in the region does not extend what was witnessed. Re-check the evidence with hiehub ledger check-fork.`),
    list);
  main.prepend(banner);
}

anchorBanner();
