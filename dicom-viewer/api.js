// The hub's viewer API (/viewer/api/...): study and patient JSON, decoded pixel frames, report
// fragments. Every failure becomes an ApiError that says which URL answered what.

/** A request that did not succeed: the HTTP status (0: no answer) and the reason. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

const seg = encodeURIComponent;
/** Where the viewer is served (`/viewer/`): the API sits beside it, DICOMweb one level up. */
const BASE = new URL('./', import.meta.url);
const at = (rel) => new URL(rel, BASE).href;

async function send(url, accept, signal, started = null) {
  let resp;
  try {
    resp = await (started ?? fetch(url, { headers: { accept }, signal }));
  } catch (e) {
    if (e.name === 'AbortError') throw e;
    throw new ApiError(0, `${url}: the server could not be reached (${e.message})`);
  }
  if (!resp.ok) {
    const text = (await resp.text().catch(() => '')).trim();
    let message = text.slice(0, 300);
    try {
      const body = JSON.parse(text);
      if (body && typeof body.error === 'string') message = body.error;
    } catch {
      // not JSON: the text itself is the message
    }
    throw new ApiError(resp.status, `${url}: ${resp.status} ${resp.statusText}${message ? ` — ${message}` : ''}`);
  }
  return resp;
}

async function json(url, started = null) {
  const resp = await send(url, 'application/json', undefined, started);
  const text = await resp.text();
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ApiError(resp.status, `${url}: the answer is not JSON (${e.message})`);
  }
}

/** `GET /viewer/api/studies/{uid}`: the study, its series (instances in display order), reports. */
export function study(studyUid) {
  const url = at(`api/studies/${seg(studyUid)}`);
  const early = window.hiehubEarlyStudy; // started by early.js while the modules loaded
  if (early && early.url === url) {
    window.hiehubEarlyStudy = null;
    return json(url, early.response);
  }
  return json(url);
}

/** `GET /viewer/api/patients/{id}/studies`: the patient and their imaging studies. */
export function patientStudies(patientId) {
  return json(at(`api/patients/${seg(patientId)}/studies`));
}

/** `GET` a report fragment (text/html) at `url` as the study listed it. */
export async function reportHtml(url) {
  const resp = await send(at(url), 'text/html');
  return resp.text();
}

/** The URL of one decoded frame (1-based `frame`). */
export function pixelsUrl(studyUid, seriesUid, sopUid, frame) {
  return at(`api/pixels/${seg(studyUid)}/${seg(seriesUid)}/${seg(sopUid)}/${frame}`);
}

/** The server-rendered 8-bit JPEG of one frame, for first display while the 16-bit frame loads. */
export function renderedUrl(studyUid, seriesUid, sopUid, frame, center, width) {
  const base = at(`../dicomweb/studies/${seg(studyUid)}/series/${seg(seriesUid)}/instances/${seg(sopUid)}/frames/${frame}/rendered`);
  return Number.isFinite(center) && Number.isFinite(width) ? `${base}?window=${center},${width},linear` : base;
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Fetches one decoded frame. Resolves to `{format, rows, columns, data}` where `data` is an
 * Int16Array / Uint16Array (monochrome stored values) or a Uint8Array of RGB triplets.
 */
export async function pixels(url, signal) {
  const resp = await send(url, 'application/octet-stream', signal);
  const format = resp.headers.get('x-pixel-format');
  const rows = Number(resp.headers.get('x-rows'));
  const columns = Number(resp.headers.get('x-columns'));
  const buf = await resp.arrayBuffer();
  if (!(rows > 0 && columns > 0)) {
    throw new ApiError(resp.status, `${url}: X-Rows/X-Columns missing or invalid (${rows}×${columns})`);
  }
  const n = rows * columns;
  let data;
  if (format === 'int16' || format === 'uint16') {
    if (buf.byteLength !== 2 * n) {
      throw new ApiError(resp.status, `${url}: ${buf.byteLength} bytes for ${rows}×${columns} ${format} (expected ${2 * n})`);
    }
    data = format === 'int16' ? new Int16Array(buf) : new Uint16Array(buf);
    if (!LITTLE_ENDIAN) data = swap16(data);
  } else if (format === 'rgb8') {
    if (buf.byteLength !== 3 * n) {
      throw new ApiError(resp.status, `${url}: ${buf.byteLength} bytes for ${rows}×${columns} rgb8 (expected ${3 * n})`);
    }
    data = new Uint8Array(buf);
  } else {
    throw new ApiError(resp.status, `${url}: unknown X-Pixel-Format ${JSON.stringify(format)}`);
  }
  return { format, rows, columns, data };
}

function swap16(a) {
  const v = new DataView(a.buffer);
  const out = new a.constructor(a.length);
  const signed = a instanceof Int16Array;
  for (let i = 0; i < a.length; i++) out[i] = signed ? v.getInt16(2 * i, true) : v.getUint16(2 * i, true);
  return out;
}
