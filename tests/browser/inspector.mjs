// The audit inspector pages in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core). Run by tests/it/inspector.rs against a real server.
//
//   node tests/browser/inspector.mjs <base-url> <download-dir>
//     The server holds five Echo requests and one refused XXE request (one Security Alert,
//     110113): list, filter, bookmark, open the alert, download its inclusion proof, and verify
//     the chain ("intact").
//   node tests/browser/inspector.mjs <base-url> <download-dir> --tampered <seq>
//     Entry <seq>'s payload has been changed behind the server's back: full verification must name
//     it in a red banner, and the failure must show up as a Security Alert naming the entry.
//
// Writes into <download-dir>: the proof as downloaded (hiehub-proof-<seq>.json), the verifier key
// the page shows (page-vkey.txt), and on failure a screenshot (inspector-failure.png).
// Exits 0 when every step passed, 1 naming the step that failed, 2 on bad usage or setup.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const CHROMIUM = process.env.HIEHUB_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];
const SECURITY_ALERT = '110113';
const SEEDED_ECHOES = 5;

function die(code, message) {
  console.error(`inspector.mjs: ${message}`);
  process.exit(code);
}

const [base, downloadDir, flag, tamperedArg] = process.argv.slice(2);
const tampered = flag === '--tampered' ? Number(tamperedArg) : null;
if (!base || !downloadDir || (flag !== undefined && !Number.isInteger(tampered))) {
  die(2, 'usage: node inspector.mjs <base-url> <download-dir> [--tampered <seq>]');
}
if (!existsSync(CHROMIUM)) {
  die(2, `no Chromium at ${CHROMIUM}: install the Debian package 'chromium' (deploy/setup.sh --test does)`);
}
let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (e) {
  die(2, `the npm package 'playwright-core' is not installed in tests/browser (run 'npm ci' there, or deploy/setup.sh --test): ${e.message}`);
}
mkdirSync(downloadDir, { recursive: true });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns something truthy; fails naming `what` and the last state. */
async function until(what, fn, timeout = 15000) {
  const end = Date.now() + timeout;
  let last = '';
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
      last = '';
    } catch (e) {
      last = ` (last error: ${e.message.split('\n')[0]})`;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what}${last}`);
    await sleep(100);
  }
}

function check(cond, message) {
  if (!cond) throw new Error(message);
}

const started = Date.now();
let browser;
try {
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 60000 });
} catch (e) {
  die(2, `Chromium (${CHROMIUM}, Debian package 'chromium') did not start: ${e.message}`);
}
const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1400, height: 1000 } });
const page = await context.newPage();
page.setDefaultTimeout(15000);
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(`uncaught exception: ${e.message}`));
page.on('console', (m) => {
  if (/Content Security Policy|Refused to/i.test(m.text())) pageErrors.push(`CSP violation: ${m.text()}`);
});

let current = 'start';
async function step(name, fn) {
  current = name;
  const t = Date.now();
  await fn();
  check(!pageErrors.length, `the page reported: ${pageErrors.join('; ')}`);
  console.log(`ok - ${name} (${Date.now() - t} ms)`);
}

const rows = page.locator('#events tbody tr[data-seq]');
const rowIds = () => rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.eventId));
const rowSeqs = () => rows.evaluateAll((trs) => trs.map((tr) => Number(tr.dataset.seq)));
const text = async (selector) => (await page.locator(selector).textContent()) ?? '';

function echoEnvelope(id) {
  return '<?xml version="1.0" encoding="UTF-8"?>'
    + '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.w3.org/2005/08/addressing">'
    + '<s:Header><a:Action s:mustUnderstand="1">urn:hiehub:2026:Echo</a:Action>'
    + `<a:MessageID>${id}</a:MessageID>`
    + '<a:ReplyTo><a:Address>http://www.w3.org/2005/08/addressing/anonymous</a:Address></a:ReplyTo></s:Header>'
    + '<s:Body><d:EchoRequest xmlns:d="urn:hiehub:diagnostics:2026"><d:Text>live</d:Text></d:EchoRequest></s:Body></s:Envelope>';
}

let total = 0;
let alertSeq = 0;
let proofFile = '';

async function intact() {
  await step('/audit redirects to /audit/ and the table lists the seeded events', async () => {
    const resp = await page.goto(`${base}/audit`);
    check(resp && resp.ok(), `GET /audit answered ${resp && resp.status()}`);
    check(new URL(page.url()).pathname === '/audit/', `ended at ${page.url()}, not /audit/`);
    const csp = resp.headers()['content-security-policy'] ?? '';
    check(csp.includes("default-src 'self'"), `Content-Security-Policy is '${csp}'`);
    await until(`${SEEDED_ECHOES + 1} or more rows`, async () => (await rows.count()) >= SEEDED_ECHOES + 1);
    const ids = await rowIds();
    total = ids.length;
    check(ids.filter((i) => i === SECURITY_ALERT).length === 1, `expected one Security Alert row, got event ids ${ids}`);
    const echoes = await rows.filter({ hasText: 'Echo' }).count();
    check(echoes >= SEEDED_ECHOES, `expected ${SEEDED_ECHOES} Echo rows, saw ${echoes}`);
    const alertText = await page.locator(`#events tbody tr[data-event-id="${SECURITY_ALERT}"]`).textContent();
    check(/Security alert/.test(alertText), `the alert row is not marked: '${alertText}'`);
    check(/Serious failure/.test(alertText), `the alert row's outcome is not in words: '${alertText}'`);
    check(/Success/.test(await rows.filter({ hasText: 'Echo' }).first().textContent()), 'Echo rows do not say Success');
    const seqs = await rowSeqs();
    check(seqs.every((s, i) => i === 0 || s < seqs[i - 1]), `rows are not newest first: ${seqs}`);
  });

  await step('filtering by event ID 110113 leaves only the Security Alert, in the URL', async () => {
    await page.getByLabel('Event ID').fill(SECURITY_ALERT);
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await until('exactly one row, the alert', async () => {
      const ids = await rowIds();
      return ids.length === 1 && ids[0] === SECURITY_ALERT;
    });
    check(new URL(page.url()).searchParams.get('event_id') === SECURITY_ALERT, `the URL does not keep the filter: ${page.url()}`);
    alertSeq = (await rowSeqs())[0];
  });

  await step('the filtered view survives a reload (bookmarkable)', async () => {
    await page.reload();
    await until('the alert alone after reload', async () => {
      const ids = await rowIds();
      return ids.length === 1 && ids[0] === SECURITY_ALERT;
    });
    check((await page.getByLabel('Event ID').inputValue()) === SECURITY_ALERT, 'the form lost the filter on reload');
  });

  await step('an outcome filter with no match says so', async () => {
    await page.getByLabel('Outcome').selectOption({ label: 'Success' });
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await until('the empty-result message', async () => (await rows.count()) === 0
      && /No events match/.test(await text('#events tbody')));
  });

  await step('Clear brings every event back; Back restores the filter', async () => {
    await page.getByRole('button', { name: 'Clear' }).click();
    await until(`${total} rows again`, async () => (await rows.count()) >= total);
    check(new URL(page.url()).search === '', `the URL keeps a query after Clear: ${page.url()}`);
    check((await page.getByLabel('Event ID').inputValue()) === '', 'Clear left the Event ID field filled');
    await page.goBack();
    await until('no rows (outcome filter) after Back', async () => /No events match/.test(await text('#events tbody')));
    await page.goBack();
    await until('the alert alone after Back', async () => {
      const ids = await rowIds();
      return ids.length === 1 && ids[0] === SECURITY_ALERT;
    });
    check((await page.getByLabel('Event ID').inputValue()) === SECURITY_ALERT, 'Back did not refill the form');
  });

  await step('paging: Older shows the next page, Newest comes back', async () => {
    await page.goto(`${base}/audit/?limit=3`);
    await until('3 rows', async () => (await rows.count()) === 3);
    const first = await rowSeqs();
    check(await page.locator('#newest').isHidden(), 'Newest is offered on the newest page');
    await page.getByRole('link', { name: /Older/ }).click();
    await until('an older page', async () => {
      const seqs = await rowSeqs();
      return seqs.length === 3 && seqs[0] < first[2];
    });
    check(new URL(page.url()).searchParams.has('before'), `the page is not in the URL: ${page.url()}`);
    check(/auto-refresh is off/.test(await text('#status')), 'no word that auto-refresh pauses on older pages');
    await page.getByRole('link', { name: /Newest/ }).click();
    await until('the newest page again', async () => (await rowSeqs())[0] === first[0]);
  });

  await step('a bad filter value is reported, not swallowed', async () => {
    await page.goto(`${base}/audit/?since=yesterday`);
    await until('the error banner', async () => page.locator('#error').isVisible());
    const msg = await text('#error');
    check(/400/.test(msg) && /since|deserialize|premature|input/i.test(msg), `unhelpful error text: '${msg}'`);
  });

  await step('auto-refresh shows a new event without a reload', async () => {
    await page.goto(`${base}/audit/`);
    await until('rows', async () => (await rows.count()) >= total);
    check(await page.getByLabel(/Auto-refresh/).isChecked(), 'auto-refresh is not on by default');
    const top = (await rowSeqs())[0];
    const resp = await fetch(`${base}/xds/registry`, {
      method: 'POST',
      headers: { 'content-type': 'application/soap+xml; charset=utf-8' },
      body: echoEnvelope('urn:uuid:inspector-live'),
    });
    check(resp.ok, `the live Echo request failed: ${resp.status}`);
    await until('a newer row from the refresh', async () => (await rowSeqs())[0] > top, 20000);
  });

  await step('opening the alert shows its decoded fields and the raw XML as text', async () => {
    await page.goto(`${base}/audit/?event_id=${SECURITY_ALERT}`);
    await page.getByRole('link', { name: `Event ${alertSeq}` }).click();
    await page.waitForURL(`**/audit/event.html?seq=${alertSeq}`);
    await page.locator('#content').waitFor({ state: 'visible' });
    const title = await text('h1');
    check(title.includes(`Ledger entry ${alertSeq}`) && title.includes('Security Alert'), `title is '${title}'`);
    check(await page.locator('#badges .badge.alert').isVisible(), 'the detail does not mark the Security Alert');
    const summary = await text('#summary');
    check(summary.includes('Serious failure'), `summary lacks the outcome in words: ${summary}`);
    const decoded = await text('#decoded');
    for (const want of ['Event identification', '110113 Security Alert [DCM]', 'Active participants', 'Audit source', 'hiehub']) {
      check(decoded.includes(want), `decoded fields lack '${want}': ${decoded.slice(0, 400)}`);
    }
    const ledger = await text('#ledger');
    for (const want of ['Leaf hash', 'Chain hash', 'Payload SHA3-256', 'Received (envelope)', 'Transport']) {
      check(ledger.includes(want), `ledger record lacks '${want}'`);
    }
    check(/[0-9a-f]{64}/.test(ledger), 'no hash shown in the ledger record');
    const raw = page.locator('#raw');
    const rawText = (await raw.textContent()) ?? '';
    check(rawText.includes('<AuditMessage') && rawText.includes('110113'), `raw payload not shown as XML text: '${rawText.slice(0, 200)}'`);
    check((await raw.evaluate((pre) => pre.childElementCount)) === 0, 'the raw XML was parsed as HTML');
    await page.getByLabel(/Indent the XML/).check();
    const indented = (await raw.textContent()) ?? '';
    check(/\n  <EventIdentification/.test(indented), `indenting did not indent: '${indented.slice(0, 200)}'`);
    check((await raw.evaluate((pre) => pre.childElementCount)) === 0, 'the indented XML was parsed as HTML');
  });

  await step('the proof download reports "not yet covered" (409) and offers a retry', async () => {
    await page.route('**/api/ledger/proof/*', (route) => route.fulfill({
      status: 409,
      contentType: 'application/json',
      body: JSON.stringify({ error: `entry ${alertSeq} is not covered by a signed checkpoint yet` }),
    }));
    await page.getByRole('button', { name: 'Download inclusion proof' }).click();
    await until('the 409 banner', async () => page.locator('#proof-error').isVisible());
    const msg = await text('#proof-error');
    check(msg.includes('409') && /not yet covered/.test(msg), `409 not explained: '${msg}'`);
    check(await page.getByRole('button', { name: 'Retry' }).isVisible(), 'no Retry button');
    await page.unroute('**/api/ledger/proof/*');
  });

  await step('Retry downloads hiehub-proof-<seq>.json and shows its checkpoint and path', async () => {
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      page.getByRole('button', { name: 'Retry' }).click(),
    ]);
    const name = download.suggestedFilename();
    check(name === `hiehub-proof-${alertSeq}.json`, `downloaded as '${name}'`);
    proofFile = path.join(downloadDir, name);
    await download.saveAs(proofFile);
    const bundle = JSON.parse(readFileSync(proofFile, 'utf8'));
    check(bundle.seq === alertSeq && bundle.format === 'hiehub-inclusion-proof/v1', `unexpected bundle: ${JSON.stringify(bundle).slice(0, 200)}`);
    await page.locator('#proof').waitFor({ state: 'visible' });
    check(await page.locator('#proof-error').isHidden(), 'the 409 banner stayed after a successful retry');
    const cp = await text('#proof-checkpoint');
    check(cp.includes('/atna-ledger/') && cp.includes('\u2014 '), `checkpoint note not shown: '${cp}'`);
    const path_ = await page.locator('#proof-path li').allTextContents();
    check(path_.length === bundle.proof.length && path_.every((h, i) => h === bundle.proof[i]), `audit path shown ${path_} vs bundle ${bundle.proof}`);
    console.log(`proof saved: ${proofFile}`);
  });

  await step('the chain-state page shows the checkpoint and the verifier key', async () => {
    await page.getByRole('navigation', { name: 'Inspector' }).getByRole('link', { name: 'Chain state' }).click();
    await page.waitForURL('**/audit/chain.html');
    await page.locator('#checkpoint').waitFor({ state: 'visible' });
    const facts = await text('#checkpoint-facts');
    check(/Tree size \(entries\)\d+/.test(facts), `no tree size: '${facts}'`);
    const vkey = await page.getByLabel('Verifier key').inputValue();
    check(/^[^+\s]+\+[0-9a-f]{8}\+[A-Za-z0-9+/=]+$/.test(vkey), `verifier key looks wrong: '${vkey}'`);
    writeFileSync(path.join(downloadDir, 'page-vkey.txt'), `${vkey}\n`);
    check((await text('#note')).startsWith(vkey.split('+')[0]), 'the signed note is not shown');
  });

  await step('Verify now shows progress, then "intact"', async () => {
    const verify = page.getByRole('button', { name: 'Verify now' });
    await page.route('**/api/ledger/verify*', async (route) => {
      await sleep(300); // long enough to see the running state
      await route.continue();
    });
    await verify.click();
    await until('the running state', async () => (await verify.isDisabled()) && /running/.test(await text('#verify-status')), 5000);
    await until('the result banner', async () => page.locator('#result').isVisible(), 30000);
    const result = await text('#result');
    check(/OK: the ledger is intact/.test(result), `verification result: '${result}'`);
    check(await verify.isEnabled(), 'Verify now stays disabled');
    await page.unroute('**/api/ledger/verify*');
    await until('the run in the history', async () => /intact/.test(await text('#history tbody tr:first-child')));
    check(/OK: the ledger is intact/.test(await text('#last')), `last verification: '${await text('#last')}'`);
  });

  await step('Full verification says "intact" too', async () => {
    await page.getByRole('button', { name: 'Full verification' }).click();
    await until('the full result', async () => /Full verification: OK: the ledger is intact/.test(await text('#result')), 30000);
  });
}

async function afterTampering(seq) {
  await step(`full verification names entry ${seq} in a red banner`, async () => {
    await page.goto(`${base}/audit/chain.html`);
    await page.getByRole('button', { name: 'Full verification' }).click();
    const result = page.locator('#result');
    await until('the result banner', async () => result.isVisible(), 30000);
    const msg = await result.textContent();
    check(msg.includes(`Full verification: FAILED: entry ${seq}: payload hash differs`), `result: '${msg}'`);
    check(/\bbad\b/.test(await result.getAttribute('class')), 'the failure banner is not marked bad (red)');
    check(await result.getByRole('link', { name: `Open entry ${seq}` }).isVisible(), 'no link to the bad entry');
    await until('the failed run in the history', async () => /FAILED: entry/.test(await text('#history tbody tr:first-child')));
    check(/FAILED/.test(await text('#last')), `last verification: '${await text('#last')}'`);
  });

  await step('the failed verification is a new Security Alert that names the entry', async () => {
    await page.goto(`${base}/audit/?event_id=${SECURITY_ALERT}`);
    await until('two alerts (the XXE refusal and the verification)', async () => (await rows.count()) === 2);
    const [newest] = await rowSeqs();
    await page.getByRole('link', { name: `Event ${newest}` }).click();
    await page.locator('#content').waitFor({ state: 'visible' });
    const decoded = await text('#decoded');
    check(decoded.includes(`ledger verification failed: entry ${seq}: payload hash differs`), `alert ${newest}: ${decoded.slice(0, 600)}`);
  });
}

try {
  if (tampered === null) await intact();
  else await afterTampering(tampered);
} catch (e) {
  const shot = path.join(downloadDir, 'inspector-failure.png');
  await page.screenshot({ path: shot, fullPage: true }).catch(() => {});
  console.error(`FAILED at step '${current}': ${e.message}`);
  console.error(`  page: ${page.url()}`);
  if (pageErrors.length) console.error(`  page errors: ${pageErrors.join('; ')}`);
  console.error(`  screenshot: ${shot}`);
  await browser.close();
  process.exit(1);
}
await browser.close();
console.log(`inspector: all steps passed in ${Date.now() - started} ms`);
