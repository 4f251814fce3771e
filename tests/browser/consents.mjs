// The privacy officer's consent page (/consents/) in headless Chromium (Debian's
// /usr/bin/chromium, driven by playwright-core). Run by tests/it/consent.rs against a real server.
//
//   node tests/browser/consents.mjs <base-url> <patient-cx> <consent-unique-id>
//     The patient's consent in force names "Laboratory reports only" (2.25.1002): the page lists
//     it as in force with its history; "may Hospital B see LAB?" is PERMIT by 2.25.1002, RAD is
//     DENY, RAD with break-the-glass is PERMIT (break-the-glass); a bad patient id shows the
//     server's error. No console error and no CSP violation on the way.
// Exits 0 when every step passed, 1 naming the step that failed, 2 on bad usage or setup.
import { existsSync } from 'node:fs';

const CHROMIUM = process.env.HIEHUB_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

function die(code, message) {
  console.error(`consents.mjs: ${message}`);
  process.exit(code);
}

const [base, patient, consentId] = process.argv.slice(2);
if (!base || !patient || !consentId) {
  die(2, 'usage: node consents.mjs <base-url> <patient-cx> <consent-unique-id>');
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

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
async function until(what, fn, timeout = 15000) {
  const end = Date.now() + timeout;
  let last = '';
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = ` (last error: ${e.message.split('\n')[0]})`;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last}`);
    await sleep(100);
  }
}

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
const problems = [];
let step = 'start';
try {
  const page = await browser.newPage();
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));

  step = 'open the page for the patient (bookmarkable ?patient=)';
  await page.goto(`${base}/consents/?patient=${encodeURIComponent(patient)}`);
  await until('the consent row', async () => {
    const rows = await page.locator('#consents tbody tr').allTextContents();
    return rows.some((r) => r.includes(consentId) && r.includes('yes') && r.includes('Laboratory reports only'));
  });
  step = 'the history';
  await until('a "registered" history row', async () =>
    (await page.locator('#history tbody').textContent()).includes('registered'));
  const summary = await page.locator('#summary').textContent();
  if (!summary.includes('opt-in')) throw new Error(`summary does not name the domain default: ${summary}`);

  const decide = async (klass, emergency) => {
    await page.fill('#organisation', 'Hospital B');
    await page.fill('#class', klass);
    await page.setChecked('#emergency', emergency);
    await page.evaluate(() => { document.getElementById('decision').textContent = ''; });
    await page.click('#decision-form button[type=submit]');
    return until(`a decision for ${klass}`, async () => (await page.locator('#decision').textContent()) || null);
  };
  step = 'may Hospital B see LAB now?';
  let text = await decide('LAB', false);
  if (!text.startsWith('PERMIT') || !text.includes('2.25.1002')) throw new Error(`LAB: ${text}`);
  step = 'may Hospital B see RAD now?';
  text = await decide('RAD', false);
  if (!text.startsWith('DENY')) throw new Error(`RAD: ${text}`);
  step = 'RAD with break-the-glass';
  text = await decide('RAD', true);
  if (!text.startsWith('PERMIT (break-the-glass)')) throw new Error(`RAD emergency: ${text}`);

  step = 'a bad patient id';
  await page.fill('#patient', 'not-a-cx');
  await page.click('#patient-form button[type=submit]');
  await until('the error', async () => (await page.locator('#decision').textContent()).includes('patient'));
  // The 400 itself is reported by Chromium as a failed resource load: not a page problem.
  const real = problems.filter((p) => !p.includes('status of 400'));
  if (real.length) throw new Error(real.join('; '));
  console.log('consents.mjs: every step passed');
} catch (e) {
  console.error(`consents.mjs: step '${step}' failed: ${e.message}`);
  await browser.close();
  process.exit(1);
}
await browser.close();
