// The inspector's anchoring views in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core). Run by tests/it/anchor.rs against real hubs.
//
//   node tests/browser/anchor.mjs anchored <event-page-url> <k>
//     The entry is anchored: the event page says so, with k cosigners in the table.
//   node tests/browser/anchor.mjs alarm <inspector-url> <peer>
//     The hub raised an anchoring alarm about <peer>: every inspector page shows the red banner,
//     with a link to the evidence.
//
// Exits 0 when every step passed, 1 naming the step that failed, 2 on bad usage or setup.
import { existsSync } from 'node:fs';

const CHROMIUM = process.env.HIEHUB_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

function die(code, message) {
  console.error(`anchor.mjs: ${message}`);
  process.exit(code);
}

const [mode, url, arg] = process.argv.slice(2);
if (!['anchored', 'alarm'].includes(mode) || !url || !arg) {
  die(2, 'usage: node anchor.mjs anchored <event-page-url> <k> | alarm <inspector-url> <peer>');
}
if (!existsSync(CHROMIUM)) die(2, `no Chromium at ${CHROMIUM}: install the Debian package 'chromium'`);
let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (e) {
  die(2, `the npm package 'playwright-core' is not installed in tests/browser (npm ci there): ${e.message}`);
}

let browser;
try {
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 60000 });
} catch (e) {
  die(2, `Chromium did not start: ${e.message}`);
}
const page = await browser.newPage();
page.setDefaultTimeout(15000);
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(`uncaught exception: ${e.message}`));
page.on('console', (m) => {
  if (/Content Security Policy|Refused to/i.test(m.text())) pageErrors.push(`CSP violation: ${m.text()}`);
});
const text = async (selector) => (await page.locator(selector).textContent()) ?? '';
function check(cond, message) {
  if (!cond) throw new Error(message);
}

let current = 'start';
async function step(name, fn) {
  current = name;
  await fn();
  check(!pageErrors.length, `the page reported: ${pageErrors.join('; ')}`);
  console.log(`ok - ${name}`);
}

try {
  if (mode === 'anchored') {
    await step('the event page shows the entry anchored, who cosigned and when', async () => {
      await page.goto(url);
      await page.locator('#cosigners').waitFor({ state: 'visible' });
      const facts = await text('#anchoring');
      check(facts.includes(`yes (${arg} of k = ${arg}`), `anchoring facts: '${facts}'`);
      check(/Covering checkpoint\s*size \d+/.test(facts), `no covering checkpoint: '${facts}'`);
      const rows = await page.locator('#cosigners tbody tr').count();
      check(rows === Number(arg), `${rows} cosigner rows`);
      const first = await text('#cosigners tbody tr:first-child');
      check(/witness/.test(first) && /\d{4}-\d{2}-\d{2}/.test(first), `cosigner row: '${first}'`);
      check(await page.locator('#badges .badge.ok', { hasText: 'Anchored' }).isVisible(), 'no Anchored badge');
      check(!(await page.locator('#anchor-alarm').count()), 'an alarm banner on a hub without alarms');
    });
  } else {
    for (const p of ['', 'chain.html']) {
      await step(`the alarm banner on /audit/${p}`, async () => {
        await page.goto(`${url}${p}`);
        const banner = page.locator('#anchor-alarm');
        await banner.waitFor({ state: 'visible' });
        const t = await banner.textContent();
        check(/Anchoring alarm/.test(t) && t.includes(`peer ${arg}`) && /inconsistent/.test(t), `banner: '${t}'`);
        check(await banner.getByRole('link', { name: 'evidence' }).first().isVisible(), 'no evidence link');
      });
    }
  }
} catch (e) {
  console.error(`FAILED at step '${current}': ${e.message}`);
  console.error(`  page: ${page.url()}`);
  await browser.close();
  process.exit(1);
}
await browser.close();
