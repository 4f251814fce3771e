// Grey-scale rendering in the browser: stored 16-bit values → modality LUT (rescale slope and
// intercept) → linear VOI window (PS3.3 C.11.2.1.2.1) → MONOCHROME1 inversion → 8-bit RGBA.
// One 65536-entry lookup table per (window, rescale, sign, inversion), so a frame renders with one
// table read per pixel.

/** Window presets (centre/width in Hounsfield units) as radiology departments commonly use them. */
export const PRESETS = [
  { key: 'brain', label: 'CT brain', center: 40, width: 80 },
  { key: 'lung', label: 'CT lung', center: -600, width: 1500 },
  { key: 'bone', label: 'CT bone', center: 400, width: 1800 },
  { key: 'abdomen', label: 'CT abdomen', center: 40, width: 400 },
  { key: 'soft', label: 'CT soft tissue', center: 50, width: 350 },
];

const OPAQUE = 0xff000000;
const GREY32 = new Uint32Array(256);
for (let g = 0; g < 256; g++) GREY32[g] = (OPAQUE | (g << 16) | (g << 8) | g) >>> 0;
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** The 8-bit output of the linear VOI function for modality value `x`. */
export function voiLinear(x, center, width) {
  const w = Math.max(1, width);
  const lo = center - 0.5 - (w - 1) / 2;
  const hi = center - 0.5 + (w - 1) / 2;
  if (x <= lo) return 0;
  if (x > hi) return 255;
  return Math.round(((x - (center - 0.5)) / (w - 1) + 0.5) * 255);
}

const lutCache = new Map();

/**
 * The table from stored value (offset by 32768 when signed) to an opaque RGBA pixel as a
 * little-endian Uint32. Kept for the last few windows, since cine and scrolling reuse them.
 */
export function lut({ signed, slope, intercept, center, width, invert }) {
  const key = `${signed ? 's' : 'u'}|${slope}|${intercept}|${center}|${width}|${invert ? 1 : 0}`;
  let table = lutCache.get(key);
  if (table) {
    lutCache.delete(key);
    lutCache.set(key, table);
    return table;
  }
  table = new Uint32Array(65536);
  const offset = signed ? -32768 : 0;
  const w = Math.max(1, width);
  const lo = center - 0.5 - (w - 1) / 2;
  const hi = center - 0.5 + (w - 1) / 2;
  const scale = 255 / (w - 1 || 1);
  for (let i = 0; i < 65536; i++) {
    const x = (i + offset) * slope + intercept;
    let g;
    if (x <= lo) g = 0;
    else if (x > hi) g = 255;
    else g = Math.round((x - (center - 0.5)) * scale + 127.5);
    if (g < 0) g = 0;
    else if (g > 255) g = 255;
    if (invert) g = 255 - g;
    table[i] = GREY32[g];
  }
  if (!LITTLE_ENDIAN) {
    for (let i = 0; i < 65536; i++) {
      const v = table[i];
      table[i] = ((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24);
    }
  }
  lutCache.set(key, table);
  if (lutCache.size > 8) lutCache.delete(lutCache.keys().next().value);
  return table;
}

/**
 * Renders a decoded frame into `image` (an ImageData of the frame's size).
 * `frame`: {format, data}; `params`: {slope, intercept, center, width, invert}.
 */
export function renderFrame(frame, image, params) {
  const n = image.width * image.height;
  if (frame.format === 'rgb8') {
    const src = frame.data;
    const dst = image.data;
    if (params.invert) {
      for (let i = 0, j = 0; i < n; i++, j += 3) {
        dst[4 * i] = 255 - src[j];
        dst[4 * i + 1] = 255 - src[j + 1];
        dst[4 * i + 2] = 255 - src[j + 2];
        dst[4 * i + 3] = 255;
      }
    } else {
      for (let i = 0, j = 0; i < n; i++, j += 3) {
        dst[4 * i] = src[j];
        dst[4 * i + 1] = src[j + 1];
        dst[4 * i + 2] = src[j + 2];
        dst[4 * i + 3] = 255;
      }
    }
    return;
  }
  const signed = frame.format === 'int16';
  const table = lut({ signed, ...params });
  const out = new Uint32Array(image.data.buffer, image.data.byteOffset, n);
  const src = frame.data;
  if (signed) {
    for (let i = 0; i < n; i++) out[i] = table[src[i] + 32768];
  } else {
    for (let i = 0; i < n; i++) out[i] = table[src[i]];
  }
}

/** Minimum and maximum modality value of a grey frame: a window when the header gives none. */
export function modalityRange(frame, slope, intercept) {
  const src = frame.data;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < src.length; i++) {
    const v = src[i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const a = min * slope + intercept;
  const b = max * slope + intercept;
  return { min: Math.min(a, b), max: Math.max(a, b) };
}
