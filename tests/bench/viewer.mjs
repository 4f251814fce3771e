// Browser benchmark of the DICOM viewer (/viewer/) in headless Chromium (playwright-core from
// tests/browser/node_modules, Debian's /usr/bin/chromium). Not a test: it prints figures.
//
//   node tests/bench/viewer.mjs --hiehub target/release/hiehub [--slices 300] [--size 512] [--runs 5]
//       starts its own server (`hiehub serve --dev`, embedded PostgreSQL in a temporary data dir),
//       generates a phantom CT series (`hiehub bench phantom`), ingests it by STOW-RS, measures.
//   node tests/bench/viewer.mjs --base http://127.0.0.1:8080 --hiehub target/release/hiehub
//       the same against a running server;  add --study <uid> to skip generating and ingesting.
//
// Figures (performance.now() in the page, from navigation start; loopback):
//   first image   time until the first image of the series is drawn on the canvas (the server's
//                 JPEG preview or the 16-bit frame, whichever comes first) and until the 16-bit frame
//                 is drawn; each run in a fresh browser context (empty HTTP cache). Goal < 1 s.
//   scroll cold   right after the first image: ArrowDown through every slice, each slice drawn from
//                 its 16-bit frame before the next key; frames arrive by prefetch while scrolling.
//   scroll warm   the same back up once every frame is cached (bounded by the 60 Hz display).
//   Goal >= 20 slices/s.
import { spawn, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const CHROMIUM = process.env.HIEHUB_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

function die(message) {
  console.error(`viewer bench: ${message}`);
  process.exit(2);
}

const opts = { slices: 300, size: 512, runs: 5, batch: 10 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const k = argv[i].replace(/^--/, '');
  if (!['base', 'hiehub', 'study', 'slices', 'size', 'runs', 'batch'].includes(k) || argv[i + 1] === undefined) {
    die(`unknown or incomplete option ${argv[i]} (see the head of ${process.argv[1]})`);
  }
  opts[k] = ['slices', 'size', 'runs', 'batch'].includes(k) ? Number(argv[i + 1]) : argv[i + 1];
}
if (!opts.base && !opts.hiehub) die('give --hiehub <binary> (and optionally --base <url> of a running server)');
if (!existsSync(CHROMIUM)) die(`no Chromium at ${CHROMIUM} (Debian package 'chromium')`);
let chromium;
try {
  const require = createRequire(new URL('../browser/package.json', import.meta.url));
  const mod = await import(pathToFileURL(require.resolve('playwright-core')).href);
  chromium = mod.chromium ?? mod.default?.chromium;
} catch (e) {
  die(`playwright-core is not installed in tests/browser (npm ci there): ${e.message}`);
}

const tmp = mkdtempSync(path.join(os.tmpdir(), 'hiehub-viewer-bench-'));
chmodSync(tmp, 0o711); // the embedded PostgreSQL runs as `postgres` and must traverse it
let server = null;
const cleanup = () => {
  if (server) {
    if (server.exitCode === null) server.kill('SIGTERM');
    // the server leaves its embedded PostgreSQL running: stop it before removing its directory
    try {
      execFileSync(opts.hiehub, ['db', 'stop', '--data-dir', path.join(tmp, 'data')], { stdio: 'ignore', timeout: 60000 });
    } catch {
      // nothing was started, or it is already down
    }
    // and if it still runs (seen here), stop the postmaster this run started, by its pid file
    try {
      const pid = Number(readFileSync(path.join(tmp, 'data', 'pg', 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
      if (pid > 0) process.kill(pid, 'SIGTERM');
    } catch {
      // no pid file: nothing running
    }
  }
  rmSync(tmp, { recursive: true, force: true });
};
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

/** Starts `hiehub serve --dev` on port 0; resolves to its base URL. */
function startServer() {
  return new Promise((resolve, reject) => {
    server = spawn(opts.hiehub, ['serve', '--dev', '--data-dir', path.join(tmp, 'data'), '--http', '127.0.0.1:0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`the server did not report its listener in 120 s:\n${out}`)), 120000);
    server.stdout.on('data', (d) => {
      out += d;
      const m = /hiehub listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    server.stderr.on('data', (d) => {
      out += d;
    });
    server.on('exit', (code) => reject(new Error(`the server exited (${code}):\n${out}`)));
  });
}

/** STOW-RS: POSTs the Part-10 files in batches as multipart/related. */
async function stow(base, files) {
  const boundary = `hiehub-bench-${Date.now()}`;
  let bytes = 0;
  const t0 = performance.now();
  for (let i = 0; i < files.length; i += opts.batch) {
    const parts = [];
    for (const f of files.slice(i, i + opts.batch)) {
      parts.push(Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), readFileSync(f), Buffer.from('\r\n'));
    }
    parts.push(Buffer.from(`--${boundary}--\r\n`));
    const body = Buffer.concat(parts);
    bytes += body.length;
    const resp = await fetch(new URL('/dicomweb/studies', base), {
      method: 'POST',
      headers: { 'content-type': `multipart/related; type="application/dicom"; boundary=${boundary}`, accept: 'application/dicom+json' },
      body,
    });
    if (!resp.ok) throw new Error(`STOW-RS of files ${i + 1}…: ${resp.status} ${await resp.text()}`);
  }
  return { bytes, ms: performance.now() - t0 };
}

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0], median: s[Math.floor(s.length / 2)], max: s[s.length - 1] };
};
const f0 = (x) => x.toFixed(0);
const f1 = (x) => x.toFixed(1);

const base = opts.base ?? (await startServer());
let study = opts.study;
if (!study) {
  const dir = path.join(tmp, 'phantom');
  const printed = execFileSync(opts.hiehub, ['bench', 'phantom', '--slices', String(opts.slices), '--rows', String(opts.size), '--columns', String(opts.size), '--out', dir], { encoding: 'utf8' });
  study = (/([0-9]+(?:\.[0-9]+)+)\s*$/.exec(printed.trim()) ?? [])[1];
  if (!study) die(`hiehub bench phantom printed no StudyInstanceUID: ${printed}`);
  const files = readdirSync(dir).filter((f) => !f.startsWith('.')).sort().map((f) => path.join(dir, f));
  const s = await stow(base, files);
  console.log(`ingested ${files.length} files (${f1(s.bytes / 1e6)} MB) by STOW-RS in ${f0(s.ms)} ms (${f1(s.bytes / 1e6 / (s.ms / 1000))} MB/s)`);
}

const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 60000 });
const url = new URL(`/viewer/?study=${encodeURIComponent(study)}`, base).href;
const first = [];
const firstPixels = [];
let cold = null;
let warm = null;
let n = 0;
for (let run = 0; run < opts.runs; run++) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 960 } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.goto(url);
  await page.waitForFunction(() => window.hiehubViewer?.state().displayedSource === 'pixels', null, { timeout: 30000, polling: 20 });
  const s = await page.evaluate(() => window.hiehubViewer.state());
  if (errors.length) die(`page errors: ${errors.join('; ')}`);
  n = s.sliceCount;
  first.push(s.firstImageMs);
  firstPixels.push(s.firstPixelsMs);
  if (run === opts.runs - 1) {
    // scroll the whole series from the top, one key per slice, each slice drawn before the next
    const scroll = (key, count) =>
      page.evaluate(async ([key, count]) => {
        const v = window.hiehubViewer;
        const d = key === 'ArrowDown' ? 1 : -1;
        const t0 = performance.now();
        let cur = v.state().slice;
        for (let k = 0; k < count; k++) {
          const target = cur + d;
          const drawn = new Promise((resolve) => {
            const h = (e) => {
              if (e.detail.slice === target && e.detail.source === 'pixels') {
                window.removeEventListener('hiehub-viewer-drawn', h);
                resolve();
              }
            };
            window.addEventListener('hiehub-viewer-drawn', h);
          });
          document.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true }));
          await drawn;
          cur = target;
        }
        return performance.now() - t0;
      }, [key, count]);
    const loadedAtStart = (await page.evaluate(() => window.hiehubViewer.state())).loadedFrames;
    const coldMs = await scroll('ArrowDown', n - 1);
    cold = { ms: coldMs, rate: (n - 1) / (coldMs / 1000), loadedAtStart };
    await page.waitForFunction((n) => window.hiehubViewer?.state().loadedFrames >= n, n, { timeout: 120000, polling: 100 });
    const warmMs = await scroll('ArrowUp', n - 1);
    warm = { ms: warmMs, rate: (n - 1) / (warmMs / 1000) };
  }
  await context.close();
}
await browser.close();

const a = stats(first);
const b = stats(firstPixels);
const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
console.log(`viewer benchmark: ${n} slices ${opts.size}×${opts.size}, ${opts.runs} fresh page loads, ${base} (loadavg ${load}, ${os.cpus().length} CPUs)`);
console.log(`first image on screen (preview or 16-bit): median ${f0(a.median)} ms (min ${f0(a.min)}, max ${f0(a.max)})  goal < 1000 ms`);
console.log(`first 16-bit frame on screen:               median ${f0(b.median)} ms (min ${f0(b.min)}, max ${f0(b.max)})`);
console.log(`scroll, cold (prefetching; ${cold.loadedAtStart} of ${n} loaded at start): ${f1(cold.rate)} slices/s (${n - 1} slices in ${f0(cold.ms)} ms)  goal >= 20`);
console.log(`scroll, warm (all cached):                   ${f1(warm.rate)} slices/s (${n - 1} slices in ${f0(warm.ms)} ms)`);
console.log(`RESULT ${JSON.stringify({ slices: n, size: opts.size, firstImageMs: a, firstPixelsMs: b, scrollCold: cold, scrollWarm: warm, loadavg: load })}`);
process.exit(0); // the server child keeps the event loop alive; exit runs the cleanup
