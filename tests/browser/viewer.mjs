// The DICOM viewer (/viewer/) in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core). Run by tests/it/viewer_browser.rs against a real server holding a phantom CT
// series ingested by STOW-RS.
//
//   node tests/browser/viewer.mjs <base-url> <study-uid> <artifact-dir> [<report text>...]
//
// Opens /viewer/?study=<uid> on a tablet-sized screen (1024×768), waits for the first image, checks
// the overlay against the study's JSON, scrolls by wheel, keys and slider (the slice shown changes
// and so do the canvas pixels), drags the window (pixel values change), applies a preset, zooms,
// draws a length (mm, checked against the pixel spacing) and an angle, opens the report pane when
// the study has a report (each <report text> must be shown in it, as text), turns the screen to portrait (768×1024) and keeps screenshots in
// <artifact-dir> (viewer.png, viewer-portrait.png; viewer-failure.png on failure).
// Prints "RESULT <json>" with what it measured; exits 0 when every step passed, 1 naming the step
// that failed, 2 on bad usage or setup.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';

const CHROMIUM = process.env.HIEHUB_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

function die(code, message) {
  console.error(`viewer.mjs: ${message}`);
  process.exit(code);
}

const argv = process.argv.slice(2);
const smokeAt = argv.indexOf('--smoke');
const smoke = smokeAt >= 0 ? argv.splice(smokeAt, 2)[1] : null;
const [base, studyUid, artifactDir, ...reportTexts] = argv;
if (!base || !studyUid || !artifactDir || smoke === undefined) {
  die(2, 'usage: node viewer.mjs <base-url> <study-uid> <artifact-dir> [<report text>...] | [--smoke <name>]');
}
if (!existsSync(CHROMIUM)) die(2, `no Chromium at ${CHROMIUM}: install the Debian package 'chromium' (deploy/setup.sh --test does)`);
let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (e) {
  die(2, `the npm package 'playwright-core' is not installed in tests/browser (run 'npm ci' there, or deploy/setup.sh --test): ${e.message}`);
}
mkdirSync(artifactDir, { recursive: true });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until it returns something truthy; fails naming `what` and the last value seen. */
async function until(what, fn, timeout = 30000) {
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
    await sleep(50);
  }
}

function check(cond, message) {
  if (!cond) throw new Error(message);
}

// the study as the hub describes it, read independently of the page
const studyUrl = new URL(`/viewer/api/studies/${encodeURIComponent(studyUid)}`, base);
const studyResp = await fetch(studyUrl);
if (!studyResp.ok) die(1, `GET ${studyUrl}: ${studyResp.status} ${await studyResp.text()}`);
const studyJson = await studyResp.json();
const series0 = studyJson.series?.[0];
if (!series0) die(1, `${studyUrl} lists no series: ${JSON.stringify(studyJson).slice(0, 500)}`);
const expectedSlices = series0.instances.reduce((n, i) => n + Math.max(1, Number(i.numberOfFrames) || 1), 0);
const spacing = series0.instances[0].pixelSpacing;

const started = Date.now();
let browser;
try {
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 60000 });
} catch (e) {
  die(2, `Chromium (${CHROMIUM}, Debian package 'chromium') did not start: ${e.message}`);
}
const context = await browser.newContext({ viewport: { width: 1024, height: 768 }, deviceScaleFactor: 1, hasTouch: true });
const page = await context.newPage();
page.setDefaultTimeout(30000);
const pageErrors = [];
page.on('pageerror', (e) => pageErrors.push(`page error: ${e.message}`));
page.on('console', (m) => {
  if (m.type() === 'error') pageErrors.push(`console error: ${m.text()}`);
});
page.on('response', (r) => {
  if (r.status() >= 400) pageErrors.push(`HTTP ${r.status()} for ${r.request().method()} ${r.url()}`);
});

const state = () => page.evaluate(() => window.hiehubViewer.state());

/** Grey values of the image canvas, every 4th pixel in each direction (R channel). */
const grab = () =>
  page.evaluate(() => {
    const c = document.getElementById('image');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    const out = [];
    for (let y = 0; y < c.height; y += 4) for (let x = 0; x < c.width; x += 4) out.push(d[4 * (y * c.width + x)]);
    return out;
  });

/** How many sampled pixels differ by more than 2 grey levels. */
function changed(a, b) {
  check(a.length === b.length, `the canvas changed size between two reads (${a.length} vs ${b.length} samples)`);
  let n = 0;
  for (let i = 0; i < a.length; i++) if (Math.abs(a[i] - b[i]) > 2) n++;
  return n;
}

const nonBlack = (a) => a.filter((v) => v > 8).length;

/** Waits until slice `i` is on screen from the 16-bit frame. */
const shown = (i, what) =>
  until(`${what}: slice ${i + 1} drawn from its 16-bit frame`, async () => {
    const s = await state();
    return s.slice === i && s.displayedSlice === i && s.displayedSource === 'pixels' ? s : null;
  });

/** The decoded frame of `inst` as the hub serves it to the viewer (node's fetch un-gzips it). */
async function frameOf(inst) {
  const u = new URL(`/viewer/api/pixels/${encodeURIComponent(studyUid)}/${encodeURIComponent(series0.seriesInstanceUid)}/${encodeURIComponent(inst.sopInstanceUid)}/1`, base);
  const r = await fetch(u, { headers: { 'accept-encoding': 'gzip' } });
  if (!r.ok) throw new Error(`GET ${u}: ${r.status}`);
  const format = r.headers.get('x-pixel-format');
  const rows = Number(r.headers.get('x-rows'));
  const cols = Number(r.headers.get('x-columns'));
  const buf = Buffer.from(await r.arrayBuffer());
  const bytes = format === 'rgb8' ? 3 : 2;
  check(['int16', 'uint16', 'rgb8'].includes(format), `pixel format ${format}`);
  check(buf.length === rows * cols * bytes, `${buf.length} bytes for ${rows}×${cols} ${format}`);
  const at = (x, y) => {
    const i = y * cols + x;
    if (format === 'int16') return buf.readInt16LE(2 * i);
    if (format === 'uint16') return buf.readUInt16LE(2 * i);
    return [buf[3 * i], buf[3 * i + 1], buf[3 * i + 2]];
  };
  return { format, rows, cols, at };
}

/** PS3.3 C.11.2.1.2.1 linear VOI to 8 bits, written here independently of the page's code. */
function expectedGrey(stored, inst, win) {
  const x = stored * (inst.rescaleSlope ?? 1) + (inst.rescaleIntercept ?? 0);
  const c = win.center;
  const w = win.width;
  let y;
  if (x <= c - 0.5 - (w - 1) / 2) y = 0;
  else if (x > c - 0.5 + (w - 1) / 2) y = 255;
  else y = ((x - (c - 0.5)) / (w - 1) + 0.5) * 255;
  return inst.photometricInterpretation === 'MONOCHROME1' ? 255 - y : y;
}

/**
 * Compares the canvas with the frame the hub serves, windowed here: at the centre of every pixel
 * of a grid the colour on screen must be the expected one ±1. When the page smooths (less than 3
 * screen pixels per image pixel), only points inside a uniform 7×7 neighbourhood are compared.
 */
async function checkWindowedPixels(what) {
  const s = await state();
  const inst = series0.instances[s.slice];
  const f = await frameOf(inst);
  const canvas = await page.evaluate(() => {
    const c = document.getElementById('image');
    return { w: c.width, h: c.height, data: Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data) };
  });
  const radius = s.zoom * s.canvas.dpr >= 3 ? 0 : 3;
  const same = (a, b) => (Array.isArray(a) ? a.every((v, k) => v === b[k]) : a === b);
  let compared = 0;
  const bad = [];
  const stepY = Math.max(1, Math.floor(f.rows / 24));
  const stepX = Math.max(1, Math.floor(f.cols / 24));
  for (let y = radius; y < f.rows - radius; y += stepY) {
    for (let x = radius; x < f.cols - radius; x += stepX) {
      const v = f.at(x, y);
      let uniform = true;
      for (let dy = -radius; dy <= radius && uniform; dy++) {
        for (let dx = -radius; dx <= radius; dx++) {
          if (!same(f.at(x + dx, y + dy), v)) {
            uniform = false;
            break;
          }
        }
      }
      if (!uniform) continue;
      // the pixel's centre on the canvas (device pixels; dpr 1)
      const sx = Math.floor(s.canvas.width / 2 + s.pan.x + (x + 0.5 - f.cols / 2) * s.zoom);
      const sy = Math.floor(s.canvas.height / 2 + s.pan.y + (y + 0.5 - f.rows / 2) * s.zoom);
      if (sx < 0 || sy < 0 || sx >= canvas.w || sy >= canvas.h) continue;
      const o = 4 * (sy * canvas.w + sx);
      const got = [canvas.data[o], canvas.data[o + 1], canvas.data[o + 2]];
      const want = f.format === 'rgb8' ? v : [expectedGrey(v, inst, s.window), expectedGrey(v, inst, s.window), expectedGrey(v, inst, s.window)];
      compared++;
      if (got.some((g, k) => Math.abs(g - want[k]) > 1)) {
        bad.push(`image (${x},${y}) value ${JSON.stringify(v)}: screen (${sx},${sy}) ${JSON.stringify(got)}, expected ${JSON.stringify(want.map((w) => Math.round(w * 10) / 10))}`);
      }
    }
  }
  check(compared >= 20, `${what}: only ${compared} points to compare`);
  check(bad.length === 0, `${what}: ${bad.length} of ${compared} pixels off by more than 1 level with window ${JSON.stringify(s.window)}:\n${bad.slice(0, 8).join('\n')}`);
  return compared;
}

const result = { expectedSlices, spacing };
let step = 'start';
try {
  step = 'open the study';
  const url = new URL(`/viewer/?study=${encodeURIComponent(studyUid)}`, base).href;
  await page.goto(url);
  const first = await shown(0, step);
  result.firstImageMs = first.firstImageMs;
  result.firstPixelsMs = first.firstPixelsMs;
  check(first.sliceCount === expectedSlices, `the viewer has ${first.sliceCount} slices, the study JSON ${expectedSlices}`);
  if (smoke) {
    // another kind of image: the first frame must match the hub's decoded frame, windowed here
    step = `${smoke}: pixels`;
    result.pixelsCompared = await checkWindowedPixels(smoke);
    result.format = (await frameOf(series0.instances[0])).format;
    if (result.format !== 'rgb8') {
      step = `${smoke}: window/level drag`;
      const box = await page.locator('#viewport').boundingBox();
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      await page.mouse.down();
      for (let k = 1; k <= 5; k++) await page.mouse.move(box.x + box.width / 2 + 15 * k, box.y + box.height / 2 - 5 * k);
      await page.mouse.up();
      await until('the window to change', async () => (await state()).window.width > first.window.width);
      await sleep(100);
      result.pixelsComparedAfterDrag = await checkWindowedPixels(`${smoke} after the drag`);
    }
    await page.screenshot({ path: path.join(artifactDir, `${smoke}.png`) });
    check(pageErrors.length === 0, pageErrors.join('\n'));
    console.log(`RESULT ${JSON.stringify(result)}`);
    await browser.close();
    process.exit(0);
  }
  check(first.seriesInstanceUid === series0.seriesInstanceUid, `series ${first.seriesInstanceUid} open, expected ${series0.seriesInstanceUid}`);
  const w0 = series0.instances[0];
  if (Number.isFinite(w0.windowCenter) && Number.isFinite(w0.windowWidth)) {
    check(first.window.center === w0.windowCenter && first.window.width === w0.windowWidth,
      `initial window ${JSON.stringify(first.window)}, the header says ${w0.windowCenter}/${w0.windowWidth}`);
  }
  const thumbs = await page.locator('#series-list button').count();
  check(thumbs === studyJson.series.length, `${thumbs} series buttons for ${studyJson.series.length} series`);

  step = 'overlay';
  const st = studyJson.study;
  const ovPatient = await page.locator('#ov-patient').innerText();
  const ovSeries = await page.locator('#ov-series').innerText();
  const ovDisplay = await page.locator('#ov-display').innerText();
  const pid = String(st.patientId ?? '').split('^')[0];
  check(pid && ovPatient.includes(pid), `the patient overlay does not show the patient id ${pid}: ${JSON.stringify(ovPatient)}`);
  const family = String(st.patientName ?? '').split('^')[0];
  check(!family || ovPatient.includes(family), `the patient overlay does not show the name ${family}: ${JSON.stringify(ovPatient)}`);
  if (st.studyDate) {
    const d = String(st.studyDate).replace(/-/g, '');
    check(ovPatient.includes(`${d.slice(0, 4)}-${d.slice(4, 6)}-${d.slice(6, 8)}`), `the overlay does not show the study date ${st.studyDate}: ${JSON.stringify(ovPatient)}`);
  }
  check(ovSeries.includes(`Slice 1/${expectedSlices}`), `the series overlay does not say "Slice 1/${expectedSlices}": ${JSON.stringify(ovSeries)}`);
  check(/W -?\d+ L -?\d+/.test(ovDisplay) && /Zoom \d+\.\d+×/.test(ovDisplay), `the display overlay lacks W/L or zoom: ${JSON.stringify(ovDisplay)}`);
  result.pixelsComparedFirst = await checkWindowedPixels('the first image');
  const px0 = await grab();
  check(nonBlack(px0) > px0.length / 20, `the first image is (almost) black: ${nonBlack(px0)} of ${px0.length} samples lit`);

  step = 'scroll by wheel';
  const box = await page.locator('#viewport').boundingBox();
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  await page.mouse.move(cx, cy);
  for (let k = 0; k < 3; k++) {
    await page.mouse.wheel(0, 100);
    await sleep(30);
  }
  await shown(3, step);
  const px3 = await grab();
  result.wheelChangedSamples = changed(px0, px3);
  check(result.wheelChangedSamples > 50, `scrolling from slice 1 to 4 changed only ${result.wheelChangedSamples} sampled pixels`);
  check((await page.locator('#ov-series').innerText()).includes(`Slice 4/${expectedSlices}`), 'the overlay does not say slice 4 after the wheel');
  await page.mouse.wheel(0, -100);
  await shown(2, 'scroll back by wheel');

  step = 'scroll by keys';
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('ArrowDown');
  await shown(4, 'ArrowDown twice');
  const px4 = await grab();
  result.keyChangedSamples = changed(px3, px4);
  check(result.keyChangedSamples > 50, `ArrowDown from slice 4 to 5 changed only ${result.keyChangedSamples} sampled pixels`);
  await page.keyboard.press('End');
  await shown(expectedSlices - 1, 'End');
  const pxEnd = await grab();
  check(changed(px4, pxEnd) > 50, 'the last slice looks like slice 5');
  await page.keyboard.press('PageUp');
  const page10 = Math.max(1, Math.round(expectedSlices / 10));
  await shown(expectedSlices - 1 - page10, 'PageUp');
  await page.keyboard.press('Home');
  await shown(0, 'Home');
  const pxHome = await grab();
  check(changed(px0, pxHome) === 0, `slice 1 drawn again differs from its first drawing in ${changed(px0, pxHome)} samples`);

  step = 'scroll by slider';
  const mid = Math.floor(expectedSlices / 2);
  await page.locator('#slider').fill(String(mid + 1));
  await shown(mid, step);

  step = 'window/level drag';
  const before = await state();
  const pxBefore = await grab();
  await page.mouse.move(cx, cy);
  await page.mouse.down();
  for (let k = 1; k <= 10; k++) await page.mouse.move(cx + 12 * k, cy - 6 * k);
  await page.mouse.up();
  const after = await until('the window to change after the drag', async () => {
    const s = await state();
    return s.window.center !== before.window.center && s.window.width !== before.window.width && s.drawCount > before.drawCount ? s : null;
  });
  await sleep(100); // the last draw of the drag
  const pxAfter = await grab();
  result.windowBefore = before.window;
  result.windowAfter = (await state()).window;
  result.wlChangedSamples = changed(pxBefore, pxAfter);
  check(after.window.width > before.window.width, `dragging right widened nothing: ${JSON.stringify(before.window)} → ${JSON.stringify(after.window)}`);
  check(result.wlChangedSamples > 50, `the W/L drag changed only ${result.wlChangedSamples} sampled pixels`);
  await until('the new window width in the overlay', async () => (await page.locator('#ov-display').innerText()).includes(`W ${Math.round(result.windowAfter.width)}`));
  result.pixelsComparedAfterDrag = await checkWindowedPixels('after the W/L drag');

  step = 'window preset';
  await page.locator('#preset').selectOption('lung');
  await until('the lung window', async () => {
    const s = await state();
    return s.window.center === -600 && s.window.width === 1500;
  });
  await sleep(100);
  const pxLung = await grab();
  result.presetChangedSamples = changed(pxAfter, pxLung);
  check(result.presetChangedSamples > 50, `the lung preset changed only ${result.presetChangedSamples} sampled pixels`);
  await checkWindowedPixels('lung preset');

  step = 'zoom';
  const z0 = (await state()).zoom;
  await page.getByRole('button', { name: 'Zoom in' }).click();
  const z1 = (await until('zoom in', async () => ((await state()).zoom > z0 * 1.2 ? state() : null))).zoom;
  await page.keyboard.press('0');
  await until('fit again', async () => Math.abs((await state()).zoom - z0) < 1e-6);
  result.zoom = { fit: z0, zoomedIn: z1 };

  step = 'length measurement';
  await page.getByRole('button', { name: 'Length' }).click();
  check((await state()).tool === 'length', 'the Length button did not select the length tool');
  const zoom = (await state()).zoom; // CSS pixels per image pixel
  const dxCss = 200;
  await page.mouse.move(cx - dxCss / 2, cy);
  await page.mouse.down();
  for (let k = 1; k <= 10; k++) await page.mouse.move(cx - dxCss / 2 + (dxCss * k) / 10, cy);
  await page.mouse.up();
  const m = await until('a finished length measurement', async () => (await state()).lastMeasurement);
  const shownText = await until('the length shown in the overlay', async () => {
    const t = await page.locator('#ov-measure').innerText();
    return t.includes('Length') ? t : null;
  });
  result.length = { value: m.value, unit: m.unit, text: shownText, zoom };
  check(m.type === 'length', `the last measurement is a ${m.type}`);
  if (Array.isArray(spacing)) {
    const expectedMm = (dxCss / zoom) * spacing[1];
    result.length.expectedMm = expectedMm;
    check(m.unit === 'mm', `a length over pixel spacing ${spacing} is in ${m.unit}`);
    check(Math.abs(m.value - expectedMm) <= Math.max(0.5, expectedMm * 0.02),
      `length ${m.value} mm, expected ${expectedMm.toFixed(2)} mm (${dxCss} CSS px at ${zoom.toFixed(3)} px/pixel × ${spacing[1]} mm)`);
    const mm = /Length (\d+(?:\.\d+)?) mm/.exec(shownText);
    check(mm, `no "Length … mm" shown: ${JSON.stringify(shownText)}`);
    check(Math.abs(Number(mm[1]) - m.value) < 0.06, `the overlay says ${mm[1]} mm, the measurement is ${m.value}`);
  } else {
    check(/Length \d+ px/.test(shownText), `no "Length … px" shown: ${JSON.stringify(shownText)}`);
  }

  step = 'angle measurement';
  await page.getByRole('button', { name: 'Angle' }).click();
  await page.mouse.click(cx + 80, cy - 60);
  await page.mouse.click(cx, cy - 60);
  await page.mouse.click(cx, cy + 20);
  const a = (await until('a finished angle', async () => {
    const s = await state();
    return s.lastMeasurement?.type === 'angle' ? s : null;
  })).lastMeasurement;
  result.angle = a.value;
  const square = !Array.isArray(spacing) || Math.abs(spacing[0] - spacing[1]) < 1e-6;
  if (square) check(Math.abs(a.value - 90) < 1, `a right angle measured ${a.value}°`);
  await until('the angle shown in the overlay', async () => (await page.locator('#ov-measure').innerText()).includes(`Angle ${a.value.toFixed(1)}°`));

  step = 'screenshot';
  await page.screenshot({ path: path.join(artifactDir, 'viewer.png') });
  await page.keyboard.press('w');

  step = 'cine';
  await page.getByRole('button', { name: 'Play' }).click();
  const cineFrom = (await state()).slice;
  await until('cine to move on', async () => (await state()).slice !== cineFrom, 15000);
  await page.getByRole('button', { name: 'Pause' }).click();
  check(!(await state()).cine.playing, 'cine still playing after Pause');

  step = 'touch: one-finger window/level, two-finger pinch zoom';
  const cdp = await context.newCDPSession(page);
  const touch = (type, points) => cdp.send('Input.dispatchTouchEvent', { type, touchPoints: points.map(([x, y], id) => ({ x, y, id })) });
  await page.keyboard.press('w');
  const t0 = await state();
  await touch('touchStart', [[cx, cy]]);
  for (let k = 1; k <= 8; k++) await touch('touchMove', [[cx + 10 * k, cy + 5 * k]]);
  await touch('touchEnd', []);
  const t1 = await until('the window to change after a one-finger drag', async () => {
    const v = await state();
    return v.window.width !== t0.window.width && v.window.center !== t0.window.center ? v : null;
  });
  check(t1.window.width > t0.window.width, `a finger dragged right narrowed the window: ${JSON.stringify(t0.window)} → ${JSON.stringify(t1.window)}`);
  check(Math.abs(t1.zoom - t0.zoom) < 1e-9, 'a one-finger W/L drag changed the zoom');
  await touch('touchStart', [[cx - 50, cy], [cx + 50, cy]]);
  for (let k = 1; k <= 10; k++) await touch('touchMove', [[cx - 50 - 5 * k, cy], [cx + 50 + 5 * k, cy]]);
  await touch('touchEnd', []);
  const t2 = await until('the zoom to change after a pinch', async () => {
    const v = await state();
    return v.zoom > t1.zoom * 1.5 ? v : null;
  });
  result.pinch = { from: t1.zoom, to: t2.zoom };
  check(Math.abs(t2.zoom / t1.zoom - 2) < 0.1, `spreading two fingers from 100 to 200 px zoomed ${(t2.zoom / t1.zoom).toFixed(3)}×, expected 2×`);
  check(t2.window.width === t1.window.width, 'the pinch changed the window');
  await page.keyboard.press('0');

  step = 'report';
  if ((studyJson.reports ?? []).length > 0) {
    if (await page.locator('#report').isHidden()) await page.locator('#report-toggle').click();
    const s = await until('the report text', async () => {
      const v = await state();
      return v.reportShown ? v : null;
    });
    const text = await page.locator('#report-body').innerText();
    check(text.trim().length > 20, `the report pane shows ${JSON.stringify(text)}`);
    check((await page.locator('#report-body script').count()) === 0, 'the report pane holds a script element');
    for (const t of reportTexts) check(text.includes(t), `the report pane does not show ${JSON.stringify(t)}: ${JSON.stringify(text.slice(0, 500))}`);
    result.report = { documentUniqueId: s.reportShown, chars: text.length };
  } else {
    check(reportTexts.length === 0, `the study lists no report, expected one showing ${JSON.stringify(reportTexts)}`);
    check(await page.locator('#report-toggle').isHidden(), 'a Report button for a study without reports');
    result.report = null;
  }

  step = 'portrait tablet';
  await page.setViewportSize({ width: 768, height: 1024 });
  await until('the viewport to fill the portrait screen', async () => {
    const s = await state();
    return s.canvas.width >= 700 && s.canvas.height >= 300;
  });
  const vb = await page.locator('#viewport').boundingBox();
  const sb = await page.locator('#series-list').boundingBox();
  check(vb.width >= 700, `the image is ${vb.width} px wide on a 768 px screen`);
  check(sb && sb.y >= vb.y + vb.height - 1, 'the series strip is not below the image in portrait');
  const portraitFrom = (await state()).slice;
  await page.keyboard.press(portraitFrom + 1 < expectedSlices ? 'ArrowDown' : 'ArrowUp');
  await shown(portraitFrom + 1 < expectedSlices ? portraitFrom + 1 : portraitFrom - 1, 'arrow key in portrait');
  const pxPortrait = await grab();
  check(nonBlack(pxPortrait) > pxPortrait.length / 40, 'the portrait image is (almost) black');
  await page.screenshot({ path: path.join(artifactDir, 'viewer-portrait.png') });

  step = "the patient's studies page";
  const pidFull = studyJson.study.patientId;
  if (pidFull) {
    const listPage = await context.newPage();
    listPage.on('pageerror', (e) => pageErrors.push(`patient page error: ${e.message}`));
    await listPage.goto(new URL(`/viewer/?patient=${encodeURIComponent(pidFull)}`, base).href);
    const link = listPage.locator(`#patient-studies a[href*="${encodeURIComponent(studyUid)}"]`).first();
    await link.waitFor();
    await link.click();
    await listPage.waitForFunction((uid) => window.hiehubViewer?.state().studyInstanceUid === uid && window.hiehubViewer?.state().displayedSource === 'pixels', studyUid);
    await listPage.close();
    result.patientPage = true;
  }

  step = 'an unknown study';
  {
    const bad = await context.newPage();
    const badErrors = [];
    bad.on('pageerror', (e) => badErrors.push(e.message));
    await bad.goto(new URL('/viewer/?study=1.2.999.999.1', base).href);
    const banner = bad.locator('#banner');
    await banner.waitFor({ state: 'visible' });
    const text = await banner.innerText();
    check(/\b404\b/.test(text), `the banner for an unknown study does not say 404: ${JSON.stringify(text)}`);
    check(badErrors.length === 0, `page errors on an unknown study: ${badErrors.join('; ')}`);
    await bad.close();
  }

  step = 'page errors';
  check(pageErrors.length === 0, pageErrors.join('\n'));
  result.seconds = (Date.now() - started) / 1000;
  console.log(`RESULT ${JSON.stringify(result)}`);
  await browser.close();
  process.exit(0);
} catch (e) {
  console.error(`viewer.mjs: step "${step}" failed: ${e.message}`);
  if (pageErrors.length) console.error(pageErrors.join('\n'));
  try {
    console.error(`state: ${JSON.stringify(await state())}`);
    await page.screenshot({ path: path.join(artifactDir, 'viewer-failure.png') });
  } catch {
    // the page is gone: nothing more to show
  }
  await browser.close();
  process.exit(1);
}
