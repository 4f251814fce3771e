// Unit checks of the viewer's pure modules in node (no browser): the window/level tables of
// dicom-viewer/render.js against the PS3.3 C.11.2.1.2.1 formula written out here, MONOCHROME1,
// signed/unsigned stored values and rescale; the measurements of dicom-viewer/measure.js with
// anisotropic pixel spacing. Run by tests/it/viewer_browser.rs.
//
//   node tests/browser/viewer_units.mjs
// Exits 0 when every check passed, 1 listing the failures.
import { fileURLToPath } from 'node:url';

const root = new URL('../../dicom-viewer/', import.meta.url);
const { lut, renderFrame, voiLinear, PRESETS, modalityRange } = await import(new URL('render.js', root));
const { length, angle, label } = await import(new URL('measure.js', root));

const failures = [];
let checks = 0;
function check(cond, message) {
  checks++;
  if (!cond) failures.push(message);
}

/** The standard's linear function, 8-bit output, unrounded. */
function reference(x, c, w) {
  if (x <= c - 0.5 - (w - 1) / 2) return 0;
  if (x > c - 0.5 + (w - 1) / 2) return 255;
  return ((x - (c - 0.5)) / (w - 1) + 0.5) * 255;
}

// globalThis.ImageData stand-in: renderFrame only needs width, height and data
const image = (w, h) => ({ width: w, height: h, data: new Uint8ClampedArray(4 * w * h) });

const windows = [[40, 400], [-600, 1500], [400, 1800], [40, 80], [0, 1], [2048, 4096], [50.5, 350.5]];
const rescales = [[1, -1024], [1, 0], [0.5, -100], [2, -2048]];
for (const [center, width] of windows) {
  for (const [slope, intercept] of rescales) {
    for (const signed of [true, false]) {
      for (const invert of [false, true]) {
        const table = lut({ signed, slope, intercept, center, width, invert });
        let worst = 0;
        let at = null;
        for (let i = 0; i < 65536; i += 7) {
          const stored = signed ? i - 32768 : i;
          const want = reference(stored * slope + intercept, center, width);
          const g = table[i] & 0xff;
          const got = invert ? 255 - g : g;
          const alpha = table[i] >>> 24;
          const grey = ((table[i] >>> 8) & 0xff) === g && ((table[i] >>> 16) & 0xff) === g;
          if (alpha !== 255 || !grey) {
            worst = Infinity;
            at = `stored ${stored}: not an opaque grey (0x${table[i].toString(16)})`;
            break;
          }
          const d = Math.abs(got - want);
          if (d > worst) {
            worst = d;
            at = `stored ${stored} → ${got}, formula ${want.toFixed(2)}`;
          }
        }
        check(worst <= 0.5 + 1e-9, `window ${center}/${width}, rescale ${slope}/${intercept}, ${signed ? 'signed' : 'unsigned'}${invert ? ', inverted' : ''}: off by ${worst} (${at})`);
      }
    }
  }
}
check(voiLinear(-1000, 40, 400) === 0 && voiLinear(1000, 40, 400) === 255, 'voiLinear saturates');
check(Math.abs(voiLinear(40, 40, 400) - 128) <= 1, `voiLinear(centre) = ${voiLinear(40, 40, 400)}`);

// a 2×2 signed frame through renderFrame: HU -1000, 40, 240, 3000 with window 40/400
{
  const data = new Int16Array([-1000 + 1024, 40 + 1024, 240 + 1024, 3000 + 1024]);
  const img = image(2, 2);
  renderFrame({ format: 'int16', data }, img, { slope: 1, intercept: -1024, center: 40, width: 400, invert: false });
  const greys = [0, 1, 2, 3].map((i) => img.data[4 * i]);
  const want = [0, Math.round(reference(40, 40, 400)), Math.round(reference(240, 40, 400)), 255];
  check(greys.every((g, i) => Math.abs(g - want[i]) <= 0.5), `renderFrame int16: ${greys} (expected ${want})`);
  check([0, 1, 2, 3].every((i) => img.data[4 * i + 3] === 255), 'renderFrame leaves transparent pixels');
  const mono1 = image(2, 2);
  renderFrame({ format: 'int16', data }, mono1, { slope: 1, intercept: -1024, center: 40, width: 400, invert: true });
  check([0, 1, 2, 3].every((i) => mono1.data[4 * i] === 255 - img.data[4 * i]), 'MONOCHROME1 is not the inverse of MONOCHROME2');
  const r = modalityRange({ data }, 1, -1024);
  check(r.min === -1000 && r.max === 3000, `modalityRange ${JSON.stringify(r)}`);
}
// unsigned 12-bit values in uint16
{
  const data = new Uint16Array([0, 2048, 4095]);
  const img = image(3, 1);
  renderFrame({ format: 'uint16', data }, img, { slope: 1, intercept: 0, center: 2048, width: 4096, invert: false });
  const greys = [0, 1, 2].map((i) => img.data[4 * i]);
  check(greys[0] === 0 && Math.abs(greys[1] - 128) <= 1 && greys[2] === 255, `renderFrame uint16 12-bit: ${greys}`);
}
// RGB passes through
{
  const img = image(1, 1);
  renderFrame({ format: 'rgb8', data: new Uint8Array([10, 200, 30]) }, img, { slope: 1, intercept: 0, center: 0, width: 1, invert: false });
  check(img.data[0] === 10 && img.data[1] === 200 && img.data[2] === 30 && img.data[3] === 255, `rgb8: ${Array.from(img.data)}`);
}
// presets as departments use them
const preset = Object.fromEntries(PRESETS.map((p) => [p.key, [p.center, p.width]]));
check(JSON.stringify(preset.brain) === '[40,80]' && JSON.stringify(preset.lung) === '[-600,1500]' && JSON.stringify(preset.abdomen) === '[40,400]', `presets ${JSON.stringify(preset)}`);

// measurements: Pixel Spacing is [row spacing (vertical), column spacing (horizontal)]
{
  const l = length({ x: 0, y: 0 }, { x: 100, y: 0 }, [0.5, 0.8]);
  check(l.unit === 'mm' && Math.abs(l.value - 80) < 1e-9, `horizontal 100 px at column spacing 0.8: ${JSON.stringify(l)}`);
  const v = length({ x: 0, y: 0 }, { x: 0, y: 100 }, [0.5, 0.8]);
  check(Math.abs(v.value - 50) < 1e-9, `vertical 100 px at row spacing 0.5: ${JSON.stringify(v)}`);
  const d = length({ x: 0, y: 0 }, { x: 30, y: 40 }, [1, 1]);
  check(Math.abs(d.value - 50) < 1e-9, `3-4-5: ${JSON.stringify(d)}`);
  const p = length({ x: 0, y: 0 }, { x: 3, y: 4 }, null);
  check(p.unit === 'px' && p.value === 5, `no spacing: ${JSON.stringify(p)}`);
  check(label({ type: 'length', value: 42.25, unit: 'mm' }) === 'Length 42.3 mm' || label({ type: 'length', value: 42.25, unit: 'mm' }) === 'Length 42.2 mm', 'length label');
  const right = angle({ x: 10, y: 0 }, { x: 0, y: 0 }, { x: 0, y: 10 }, [1, 1]);
  check(Math.abs(right.value - 90) < 1e-9, `right angle: ${right.value}`);
  const diag = angle({ x: 10, y: 0 }, { x: 0, y: 0 }, { x: 10, y: 10 }, [1, 1]);
  check(Math.abs(diag.value - 45) < 1e-9, `45°: ${diag.value}`);
  // 10 px right and 10 px down is not 45° when rows are twice as far apart as columns
  const aniso = angle({ x: 10, y: 0 }, { x: 0, y: 0 }, { x: 10, y: 10 }, [2, 1]);
  check(Math.abs(aniso.value - (Math.atan2(20, 10) * 180) / Math.PI) < 1e-9, `anisotropic angle: ${aniso.value}`);
  check(label({ type: 'angle', value: 87.46, unit: '°' }) === 'Angle 87.5°', 'angle label');
}

if (failures.length) {
  console.error(`${fileURLToPath(import.meta.url)}: ${failures.length} of ${checks} checks failed:\n${failures.join('\n')}`);
  process.exit(1);
}
console.log(`viewer_units: ${checks} checks passed`);
