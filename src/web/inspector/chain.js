// The chain-state page: the latest signed checkpoint and verifier key, the last verifications,
// and "verify now" (POST /api/ledger/verify), with any failure named exactly.
import { ApiError, api, el, fillDl, showError, timeEl, utc } from './common.js';

const $ = (id) => document.getElementById(id);

/** A verification failure (`Failure` of src/ledger/verify.rs, tagged by `problem`) in words. */
export function failureText(f) {
  const m = {
    missing_entry: () => `entry ${f.expected} is missing (next stored entry is ${f.found})`,
    truncated: () => `the ledger ends at ${f.size} entries but checkpoint ${f.checkpoint} covers more`,
    leaf_hash: () => `entry ${f.seq}: leaf hash differs: stored ${f.stored}, computed ${f.computed}`,
    leaf_decode: () => `entry ${f.seq}: leaf does not decode: ${f.error}`,
    payload_hash: () => `entry ${f.seq}: payload hash differs: leaf says ${f.expected}, payload hashes to ${f.computed}`,
    payload_missing: () => `entry ${f.seq}: payload missing without a recorded erasure`,
    bad_erasure: () => `entry ${f.seq}: payload erased by entry ${f.erased_by}, which is not an Erasure entry`,
    chain_hash: () => `entry ${f.seq}: chain hash differs: stored ${f.stored}, computed ${f.computed}`,
    node_hash: () => `tree node ${f.level}/${f.index}: stored ${f.stored}, computed ${f.computed}`,
    node_missing: () => `tree node ${f.level}/${f.index} is missing`,
    extra_nodes: () => `${f.count} tree nodes are stored beyond the ledger's ${f.size} entries`,
    checkpoint_root: () => `checkpoint at size ${f.size}: stored root ${f.stored}, tree root ${f.computed}`,
    checkpoint_note: () => `checkpoint at size ${f.size}: ${f.error}`,
  }[f.problem];
  return m ? m() : `${f.problem ?? 'failure'}: ${JSON.stringify(f)}`;
}

/** The entry a failure names, when it names one. */
function failureSeq(f) {
  return f.seq ?? (f.problem === 'missing_entry' ? f.expected : null);
}

function reportText(r) {
  const span = r.from ? `entries ${r.from} to ${r.size - 1}` : `all ${r.size} entries`;
  const partly = r.entries_checked !== r.size - r.from ? ` (${r.entries_checked} checked)` : '';
  const erased = r.erased && r.erased.length ? `; ${r.erased.length} erased payload(s)` : '';
  return `${span}${partly}, ${r.checkpoints_checked} checkpoint signature(s), ${Number(r.seconds).toFixed(3)} s${erased}`;
}

/** A banner for a report: green when intact, red naming the failure exactly. */
function resultBanner(node, r, heading) {
  node.replaceChildren();
  node.hidden = false;
  if (r.failure) {
    node.className = 'banner bad';
    const seq = failureSeq(r.failure);
    node.append(
      el('strong', {}, `${heading}: FAILED: ${r.failure_message || failureText(r.failure)}`),
      el('div', {}, `Stopped at the first failure, after ${r.entries_checked} entries from entry ${r.from} and ${r.checkpoints_checked} checkpoint signature(s) (${Number(r.seconds).toFixed(3)} s).`),
      seq != null ? el('div', {}, el('a', { href: `event.html?seq=${seq}` }, `Open entry ${seq}`)) : null,
    );
  } else {
    node.className = 'banner good';
    node.append(el('strong', {}, `${heading}: OK: the ledger is intact.`), ' ', `Checked ${reportText(r)}.`);
  }
}

function parseReport(row) {
  try {
    return JSON.parse(row.report);
  } catch {
    return null;
  }
}

async function loadCheckpoint() {
  try {
    const { body: cp } = await api('/api/ledger/checkpoint');
    showError($('checkpoint-error'), null);
    fillDl($('checkpoint-facts'), [
      ['Origin', cp.note.split('\n')[0]],
      ['Tree size (entries)', String(cp.size)],
      ['Root hash (SHA3-256)', el('code', { class: 'mono' }, cp.root)],
      ['Signed', timeEl(cp.created_at)],
    ]);
    $('vkey').value = cp.vkey;
    $('note').textContent = cp.note;
    $('checkpoint').hidden = false;
  } catch (e) {
    $('checkpoint').hidden = true;
    const text = e instanceof ApiError && e.status === 404
      ? 'No checkpoint has been signed yet: the ledger is empty or the first checkpoint is still due.'
      : e;
    showError($('checkpoint-error'), text);
  }
}

async function loadHistory() {
  try {
    const { body: rows } = await api('/api/ledger/verifications');
    showError($('history-error'), null);
    const tbody = $('history').querySelector('tbody');
    tbody.replaceChildren(...rows.map((row) => {
      const r = parseReport(row);
      const result = row.ok
        ? el('span', { class: 'badge ok' }, 'intact')
        : el('span', { class: 'badge invalid' }, r && r.failure ? `FAILED: ${r.failure_message || failureText(r.failure)}` : 'FAILED');
      return el('tr', { class: row.ok ? null : 'invalid' },
        el('td', { class: 'num' }, String(row.id)),
        el('td', { class: 'nowrap' }, timeEl(row.finished_at, `started ${row.started_at}`)),
        el('td', {}, row.from_size ? `${row.from_size} → ${row.to_size}` : `0 → ${row.to_size} (from the start)`),
        el('td', {}, r ? `${r.entries_checked} entries, ${r.checkpoints_checked} checkpoints` : '—'),
        el('td', { class: 'nowrap' }, r ? `${Number(r.seconds).toFixed(3)} s` : '—'),
        el('td', {}, result));
    }));
    if (!rows.length) tbody.append(el('tr', {}, el('td', { colspan: 6, class: 'empty' }, 'The ledger has not been verified yet.')));
    const last = $('last');
    if (!rows.length) {
      last.replaceChildren(el('p', {}, 'Never verified. Use “Verify now”.'));
    } else {
      const r = parseReport(rows[0]);
      const banner = el('div', { class: 'banner' });
      if (r) resultBanner(banner, r, `Run ${rows[0].id}, finished ${utc(rows[0].finished_at)} UTC`);
      else banner.append(`Run ${rows[0].id}: ${rows[0].ok ? 'intact' : 'FAILED'} (report unreadable: ${rows[0].report})`);
      last.replaceChildren(banner);
    }
  } catch (e) {
    showError($('history-error'), e);
    $('last').replaceChildren(el('p', { class: 'bad' }, 'Unknown: the verification history could not be loaded.'));
  }
}

async function verify(full) {
  const buttons = [$('verify'), $('verify-full')];
  const status = $('verify-status');
  const result = $('result');
  for (const b of buttons) b.disabled = true;
  $('progress').hidden = false;
  result.hidden = true;
  const started = performance.now();
  const label = full ? 'Full verification' : 'Verification';
  status.textContent = `${label} running…`;
  const tick = setInterval(() => {
    status.textContent = `${label} running… ${((performance.now() - started) / 1000).toFixed(0)} s`;
  }, 1000);
  try {
    const { body: report } = await api(`/api/ledger/verify${full ? '?full=true' : ''}`, { method: 'POST' });
    resultBanner(result, report, label);
    status.textContent = `${label} finished.`;
  } catch (e) {
    result.className = 'banner bad';
    result.textContent = `${label} could not run: ${e.message}`;
    result.hidden = false;
    status.textContent = `${label} did not run.`;
  } finally {
    clearInterval(tick);
    $('progress').hidden = true;
    for (const b of buttons) b.disabled = false;
  }
  await Promise.all([loadHistory(), loadCheckpoint()]);
}

async function copyKey() {
  const input = $('vkey');
  const status = $('copy-status');
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(input.value);
    } else {
      input.select();
      if (!document.execCommand('copy')) throw new Error('the browser refused');
    }
    status.textContent = 'Copied.';
  } catch (e) {
    input.select();
    status.textContent = `Could not copy (${e.message}); the key is selected: copy it by hand.`;
  }
}

$('verify').addEventListener('click', () => verify(false));
$('verify-full').addEventListener('click', () => verify(true));
$('copy-vkey').addEventListener('click', copyKey);
$('vkey').addEventListener('focus', () => $('vkey').select());
loadCheckpoint();
loadHistory();
