// The hiehub DICOM viewer. `?study=<StudyInstanceUID>` opens a study (optional `&series=<uid>`,
// `&report=<documentUniqueId>`); `?patient=<CX id>` lists the patient's imaging studies.
//
// The hub decodes every transfer syntax server-side: the viewer shows the server's 8-bit JPEG for
// first display, then fetches the decoded 16-bit frame and computes window/level itself (render.js),
// so scrolling and windowing never wait for a codec. `window.hiehubViewer.state()` is a read-only
// snapshot for tests and benchmarks.

import * as api from './api.js';
import { FrameStore } from './frames.js';
import { angle as angleOf, label, length as lengthOf } from './measure.js';
import { PRESETS, modalityRange, renderFrame } from './render.js';
import { sanitize } from './report.js';
import { Viewport } from './viewport.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);

// ---------------------------------------------------------------------------------------------
// small DOM helpers

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

function showError(err) {
  const banner = $('banner');
  if (!err) {
    banner.hidden = true;
    banner.textContent = '';
    return;
  }
  banner.textContent = err instanceof Error ? err.message : String(err);
  banner.hidden = false;
}

/** DICOM PN "Family^Given^Middle^Prefix^Suffix" as "Family, Given Middle". */
function personName(pn) {
  if (!pn) return '';
  const alpha = String(pn).split('=')[0];
  const [family = '', given = '', middle = '', prefix = '', suffix = ''] = alpha.split('^');
  const first = [prefix, given, middle].filter(Boolean).join(' ');
  return [family, first].filter(Boolean).join(', ') + (suffix ? ` ${suffix}` : '');
}

/** A CX patient id "4711^^^&1.2.3&ISO" as "4711 (1.2.3)". */
function patientIdText(cx) {
  if (!cx) return '';
  const [id, , , authority = ''] = String(cx).split('^');
  const [namespace, universal] = authority.split('&');
  const auth = namespace || universal;
  return auth ? `${id} (${auth})` : id;
}

/** DICOM DA "YYYYMMDD" (or ISO) as "YYYY-MM-DD". */
function date(da) {
  if (!da) return '';
  const m = /^(\d{4})-?(\d{2})-?(\d{2})/.exec(String(da));
  return m ? `${m[1]}-${m[2]}-${m[3]}` : String(da);
}

function time(tm) {
  const m = /^(\d{2}):?(\d{2})/.exec(String(tm ?? ''));
  return m ? `${m[1]}:${m[2]}` : '';
}

const num = (v, d = 0) => (Number.isFinite(v) ? Number(v).toFixed(d) : '–');

// ---------------------------------------------------------------------------------------------
// the state of the open study

const S = {
  mode: null, // 'study' | 'patient'
  study: null, // the API's study object
  series: [], // the API's series array
  reports: [],
  seriesIndex: -1,
  slices: [], // [{instance, frame}] of the open series, in display order
  slice: 0, // the slice asked for
  displayed: -1, // the slice on screen
  displayedSource: null, // 'pixels' (16-bit, windowed here) | 'rendered' (server JPEG)
  direction: 1,
  window: null, // {center, width} in modality units
  defaultWindow: null,
  invert: false, // the user's inversion (MONOCHROME1 is inverted on top of this)
  tool: 'wl',
  measurements: new Map(), // slice → [measurement]
  pending: null, // measurement being drawn
  lastMeasurement: null,
  cine: { playing: false, fps: 10 },
  frames: null,
  firstImageMs: null,
  firstPixelsMs: null,
  drawCount: 0,
  reportShown: null, // documentUniqueId in the pane
  reportText: '',
  error: null,
};

let viewport;
let rendered = null; // {slice, img}: the server JPEG used for first display
const imageCanvas = document.createElement('canvas');
let imageData = null;

// ---------------------------------------------------------------------------------------------
// the test hook

function snapshot() {
  const inst = S.slices[S.slice]?.instance;
  const series = S.series[S.seriesIndex];
  return structuredClone({
    mode: S.mode,
    studyInstanceUid: S.study?.studyInstanceUid ?? null,
    seriesInstanceUid: series?.seriesInstanceUid ?? null,
    seriesIndex: S.seriesIndex,
    seriesCount: S.series.length,
    slice: S.slice,
    sliceCount: S.slices.length,
    displayedSlice: S.displayed,
    displayedSource: S.displayedSource,
    sopInstanceUid: inst?.sopInstanceUid ?? null,
    window: S.window ? { ...S.window } : null,
    invert: S.invert,
    zoom: viewport ? viewport.scale() : null,
    zoomRelative: viewport ? viewport.zoom : null,
    pan: viewport ? { ...viewport.pan } : null,
    tool: S.tool,
    measurementCount: (S.measurements.get(S.slice) ?? []).length,
    lastMeasurement: S.lastMeasurement
      ? { type: S.lastMeasurement.type, value: S.lastMeasurement.value, unit: S.lastMeasurement.unit, text: label(S.lastMeasurement), points: S.lastMeasurement.points, slice: S.lastMeasurement.slice }
      : null,
    cine: { ...S.cine },
    loadedFrames: S.frames ? S.frames.loadedCount : 0,
    cachedBytes: S.frames ? S.frames.bytes : 0,
    firstImageMs: S.firstImageMs,
    firstPixelsMs: S.firstPixelsMs,
    drawCount: S.drawCount,
    reportShown: S.reportShown,
    reportText: S.reportText,
    canvas: { width: viewport?.canvas.width ?? 0, height: viewport?.canvas.height ?? 0, dpr: viewport?.dpr ?? 1 },
    error: S.error,
  });
}

Object.defineProperty(window, 'hiehubViewer', {
  value: Object.freeze({ version: 1, state: snapshot }),
  writable: false,
  configurable: false,
});

// ---------------------------------------------------------------------------------------------
// drawing

let drawQueued = false;

/** Draws the current slice at the next animation frame (many wheel events → one draw). */
function scheduleDraw() {
  if (drawQueued) return;
  drawQueued = true;
  requestAnimationFrame(() => {
    drawQueued = false;
    draw();
  });
}

function instanceParams(inst) {
  const slope = Number.isFinite(inst.rescaleSlope) && inst.rescaleSlope !== 0 ? inst.rescaleSlope : 1;
  const intercept = Number.isFinite(inst.rescaleIntercept) ? inst.rescaleIntercept : 0;
  const mono1 = inst.photometricInterpretation === 'MONOCHROME1';
  return { slope, intercept, mono1 };
}

function draw() {
  if (!viewport || !S.slices.length) return;
  viewport.resize();
  const i = S.slice;
  const { instance } = S.slices[i];
  const frame = S.frames.peek(i);
  let drew = false;
  if (frame) {
    const p = instanceParams(instance);
    if (!S.window) {
      const r = modalityRange(frame, p.slope, p.intercept);
      S.window = { center: Math.round((r.min + r.max) / 2), width: Math.max(1, Math.round(r.max - r.min)) };
      S.defaultWindow = { ...S.window };
    }
    if (imageCanvas.width !== frame.columns || imageCanvas.height !== frame.rows || !imageData) {
      imageCanvas.width = frame.columns;
      imageCanvas.height = frame.rows;
      imageData = new ImageData(frame.columns, frame.rows);
    }
    renderFrame(frame, imageData, {
      slope: p.slope,
      intercept: p.intercept,
      center: S.window.center,
      width: S.window.width,
      invert: p.mono1 !== S.invert,
    });
    imageCanvas.getContext('2d').putImageData(imageData, 0, 0);
    viewport.setGeometry(frame.columns, frame.rows, instance.pixelSpacing);
    viewport.draw(imageCanvas);
    S.displayed = i;
    S.displayedSource = 'pixels';
    drew = true;
    if (S.firstPixelsMs === null) {
      S.firstPixelsMs = performance.now();
      // the first image is up: the preview and thumbnails no longer need spare connections
      S.frames.concurrency = 6;
      S.frames.pump();
    }
  } else if (rendered && rendered.slice === i && S.displayedSource !== 'pixels') {
    viewport.setGeometry(instance.columns, instance.rows, instance.pixelSpacing);
    viewport.draw(rendered.img);
    S.displayed = i;
    S.displayedSource = 'rendered';
    drew = true;
  } else if (viewport.source) {
    viewport.draw(); // zoom/pan changed while the next slice loads: redraw what is there
  }
  if (drew) {
    S.drawCount++;
    if (S.firstImageMs === null) S.firstImageMs = performance.now();
  }
  $('loading').hidden = S.displayed === i || !!S.error;
  viewport.drawAnnotations(S.measurements.get(i) ?? [], S.pending);
  updateOverlay();
  if (drew) window.dispatchEvent(new CustomEvent('hiehub-viewer-drawn', { detail: { slice: i, source: S.displayedSource } }));
}

function updateOverlay() {
  const st = S.study ?? {};
  const series = S.series[S.seriesIndex];
  const entry = S.slices[S.slice];
  const inst = entry?.instance;
  const lines = (node, ...ls) => node.replaceChildren(...ls.filter(Boolean).map((t) => el('div', {}, t)));
  lines(
    $('ov-patient'),
    personName(st.patientName) || '(no name)',
    `ID ${patientIdText(st.patientId)}`,
    [st.patientBirthDate ? `*${date(st.patientBirthDate)}` : '', st.patientSex ?? ''].filter(Boolean).join(' '),
    [date(st.studyDate), time(st.studyTime)].filter(Boolean).join(' '),
    st.description,
  );
  const frameText = entry && inst.numberOfFrames > 1 ? ` frame ${entry.frame}/${inst.numberOfFrames}` : '';
  lines(
    $('ov-series'),
    series ? `Series ${series.seriesNumber ?? ''} ${series.modality ?? ''}`.trim() : '',
    series?.description,
    S.slices.length ? `Slice ${S.slice + 1}/${S.slices.length}${frameText}` : '',
    inst && Number.isFinite(inst.sliceLocation) ? `Loc ${num(inst.sliceLocation, 1)} mm` : '',
    inst && Number.isFinite(inst.instanceNumber) ? `Im ${inst.instanceNumber}` : '',
  );
  const isColour = S.frames?.peek(S.slice)?.format === 'rgb8' || inst?.samplesPerPixel === 3;
  lines(
    $('ov-display'),
    S.window && !isColour ? `W ${num(S.window.width)} L ${num(S.window.center)}` : '',
    viewport ? `Zoom ${viewport.scale().toFixed(2)}×` : '',
    S.displayedSource === 'rendered' ? 'preview (loading 16-bit frame)' : '',
  );
  const ms = S.measurements.get(S.slice) ?? [];
  lines($('ov-measure'), ...ms.map(label), S.pending?.value !== undefined ? label(S.pending) : '');
  const status = S.slices.length ? `${S.slice + 1} / ${S.slices.length}` : '';
  $('slice-status').textContent = status;
  $('slider').value = String(S.slice + 1);
  $('slider').setAttribute('aria-valuetext', `slice ${status}`);
}

// ---------------------------------------------------------------------------------------------
// navigation

function goTo(i, direction = Math.sign(i - S.slice) || S.direction) {
  if (!S.slices.length) return;
  const n = S.slices.length;
  const next = Math.min(n - 1, Math.max(0, i));
  if (direction) S.direction = direction;
  S.pending = null;
  S.slice = next;
  S.frames.setFocus(next, S.direction);
  if (!S.frames.has(next)) {
    S.frames.get(next).then(() => {
      if (S.slice === next) scheduleDraw();
    }, () => {});
  }
  scheduleDraw();
}

const step = (d) => goTo(S.slice + d, Math.sign(d));

function openSeries(index) {
  if (index < 0 || index >= S.series.length) return;
  stopCine();
  if (S.frames) S.frames.close();
  S.seriesIndex = index;
  const series = S.series[index];
  S.slices = [];
  for (const instance of series.instances ?? []) {
    const frames = Math.max(1, Number(instance.numberOfFrames) || 1);
    for (let f = 1; f <= frames; f++) S.slices.push({ instance, frame: f });
  }
  const studyUid = S.study.studyInstanceUid;
  const urls = S.slices.map(({ instance, frame }) => api.pixelsUrl(studyUid, series.seriesInstanceUid, instance.sopInstanceUid, frame));
  S.frames = new FrameStore(urls, {
    concurrency: 4, // of Chromium's 6 connections per host: leave room for the preview, thumbnails, report
    onLoaded: () => updateLoadedIndicator(),
    onError: (i, e) => {
      if (i === S.slice) {
        S.error = e.message;
        showError(e);
        $('loading').hidden = true;
      }
    },
  });
  S.measurements = new Map();
  S.pending = null;
  S.displayed = -1;
  S.displayedSource = null;
  rendered = null;
  const first = S.slices[0]?.instance;
  S.window = first && Number.isFinite(first.windowCenter) && Number.isFinite(first.windowWidth) && first.windowWidth > 0
    ? { center: first.windowCenter, width: first.windowWidth }
    : null;
  S.defaultWindow = S.window ? { ...S.window } : null;
  S.invert = false;
  $('invert').setAttribute('aria-pressed', 'false');
  viewport.fit();
  if (viewport.source) viewport.source = null;
  const slider = $('slider');
  slider.max = String(Math.max(1, S.slices.length));
  slider.disabled = S.slices.length < 2;
  for (const [k, item] of [...$('series-list').children].entries()) {
    const b = item.querySelector('button');
    if (b) b.setAttribute('aria-current', k === index ? 'true' : 'false');
  }
  const start = 0; // the first slice in display order
  S.slice = start;
  if (!S.slices.length) {
    showError(`Series ${series.seriesNumber ?? series.seriesInstanceUid} has no images`);
    return;
  }
  // first display: the server's 8-bit render, unless the 16-bit frame wins the race
  const { instance, frame } = S.slices[start];
  const img = new Image();
  img.decoding = 'async';
  img.fetchPriority = 'high';
  img.onload = () => {
    if (S.seriesIndex !== index) return;
    rendered = { slice: start, img };
    if (S.displayed === -1) scheduleDraw();
  };
  img.src = api.renderedUrl(studyUid, series.seriesInstanceUid, instance.sopInstanceUid, frame, S.window?.center, S.window?.width);
  $('loading').hidden = false;
  goTo(start, 1);
  const u = new URL(location.href);
  u.searchParams.set('series', series.seriesInstanceUid);
  history.replaceState(null, '', u);
}

function updateLoadedIndicator() {
  const series = S.series[S.seriesIndex];
  const item = $('series-list').children[S.seriesIndex];
  const meter = item?.querySelector('.loaded');
  if (meter && series) meter.textContent = `${S.frames.loadedCount}/${S.slices.length} loaded`;
}

// ---------------------------------------------------------------------------------------------
// window/level, zoom, tools

function setWindow(center, width) {
  S.window = { center: Math.round(center * 10) / 10, width: Math.max(1, Math.round(width * 10) / 10) };
  $('preset').value = '';
  scheduleDraw();
}

function applyPreset(key) {
  const p = PRESETS.find((x) => x.key === key);
  if (p) {
    setWindow(p.center, p.width);
    $('preset').value = key;
  }
}

/** Modality units per pixel of mouse movement when dragging the window. */
function windowSensitivity() {
  const w = S.defaultWindow?.width ?? S.window?.width ?? 256;
  return Math.max(0.25, w / 256);
}

function setTool(tool) {
  S.tool = tool;
  S.pending = null;
  for (const b of document.querySelectorAll('[data-tool]')) b.setAttribute('aria-pressed', b.dataset.tool === tool ? 'true' : 'false');
  $('viewport').dataset.tool = tool;
  scheduleDraw();
}

function zoomBy(f, at) {
  viewport.zoomBy(f, at);
  scheduleDraw();
}

function reset() {
  viewport.fit();
  S.invert = false;
  $('invert').setAttribute('aria-pressed', 'false');
  if (S.defaultWindow) S.window = { ...S.defaultWindow };
  $('preset').value = '';
  scheduleDraw();
}

function finishMeasurement(m) {
  const inst = S.slices[S.slice].instance;
  const r = m.type === 'length' ? lengthOf(m.points[0], m.points[1], inst.pixelSpacing) : angleOf(m.points[0], m.points[1], m.points[2], inst.pixelSpacing);
  const done = { type: m.type, points: m.points.map((p) => ({ x: p.x, y: p.y })), value: r.value, unit: r.unit, slice: S.slice };
  const list = S.measurements.get(S.slice) ?? [];
  list.push(done);
  S.measurements.set(S.slice, list);
  S.lastMeasurement = done;
  S.pending = null;
  scheduleDraw();
}

function updatePending() {
  const m = S.pending;
  if (!m) return;
  const inst = S.slices[S.slice].instance;
  if (m.type === 'length' && m.points.length === 2) Object.assign(m, lengthOf(m.points[0], m.points[1], inst.pixelSpacing));
  else if (m.type === 'angle' && m.points.length === 3) Object.assign(m, angleOf(m.points[0], m.points[1], m.points[2], inst.pixelSpacing));
  else delete m.value;
}

// ---------------------------------------------------------------------------------------------
// cine

let cineHandle = 0;
let cineLast = 0;

function startCine() {
  if (S.slices.length < 2) return;
  S.cine.playing = true;
  $('cine').setAttribute('aria-pressed', 'true');
  $('cine').textContent = 'Pause';
  cineLast = performance.now();
  const tick = (now) => {
    if (!S.cine.playing) return;
    const interval = 1000 / S.cine.fps;
    if (now - cineLast >= interval) {
      const next = (S.slice + 1) % S.slices.length;
      // wait for the next frame rather than skip it
      if (S.frames.has(next)) {
        cineLast = now - ((now - cineLast) % interval);
        goTo(next, 1);
      } else {
        S.frames.setFocus(S.slice, 1);
        S.frames.get(next).catch(() => {});
      }
    }
    cineHandle = requestAnimationFrame(tick);
  };
  cineHandle = requestAnimationFrame(tick);
}

function stopCine() {
  S.cine.playing = false;
  cancelAnimationFrame(cineHandle);
  $('cine').setAttribute('aria-pressed', 'false');
  $('cine').textContent = 'Play';
}

// ---------------------------------------------------------------------------------------------
// input: pointer (mouse, pen, touch), wheel, keys

const pointers = new Map(); // pointerId → {x, y}
let drag = null; // {kind, start, last, moved, ...}
let pinch = null;

function local(e) {
  const r = $('viewport').getBoundingClientRect();
  return { x: e.clientX - r.left, y: e.clientY - r.top };
}

function onPointerDown(e) {
  const vp = $('viewport');
  vp.focus({ preventScroll: true });
  vp.setPointerCapture(e.pointerId);
  const p = local(e);
  pointers.set(e.pointerId, p);
  if (pointers.size === 2) {
    // a second finger: pinch zoom and pan; abandon the one-finger action
    drag = null;
    if (S.pending && S.pending.type === 'length') S.pending = null;
    const [a, b] = [...pointers.values()];
    pinch = { dist: Math.hypot(a.x - b.x, a.y - b.y), mid: { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 } };
    scheduleDraw();
    return;
  }
  if (pointers.size > 2) return;
  let kind = S.tool;
  if (e.pointerType === 'mouse' && e.button === 2) kind = 'wl';
  else if (e.pointerType === 'mouse' && e.button === 1) kind = 'pan';
  else if (e.pointerType === 'mouse' && e.button !== 0) return;
  e.preventDefault();
  drag = { kind, start: p, last: p, moved: 0 };
  if (kind === 'length') {
    const ip = viewport.toImage(p);
    if (S.pending?.type === 'length' && S.pending.points.length === 2 && S.pending.clicked) {
      // second click of a click-click length
      S.pending.points[1] = ip;
      drag.finishOnUp = true;
    } else {
      S.pending = { type: 'length', points: [ip, { ...ip }] };
    }
    updatePending();
    scheduleDraw();
  }
}

function onPointerMove(e) {
  const p = local(e);
  if (pointers.has(e.pointerId)) pointers.set(e.pointerId, p);
  if (pinch && pointers.size >= 2) {
    const [a, b] = [...pointers.values()];
    const dist = Math.hypot(a.x - b.x, a.y - b.y);
    const mid = { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 };
    if (pinch.dist > 0 && dist > 0) viewport.zoomBy(dist / pinch.dist, mid);
    viewport.pan.x += mid.x - pinch.mid.x;
    viewport.pan.y += mid.y - pinch.mid.y;
    pinch = { dist, mid };
    scheduleDraw();
    return;
  }
  if (!drag) {
    // hover preview of the next point of an unfinished measurement
    if (S.pending && (S.pending.clicked || S.pending.type === 'angle') && pointers.size === 0) {
      const ip = viewport.toImage(p);
      const pts = S.pending.points;
      pts[pts.length - 1] = ip;
      updatePending();
      scheduleDraw();
    }
    return;
  }
  const dx = p.x - drag.last.x;
  const dy = p.y - drag.last.y;
  drag.moved += Math.abs(dx) + Math.abs(dy);
  drag.last = p;
  if (drag.kind === 'wl' && S.window) {
    const k = windowSensitivity();
    setWindow(S.window.center + dy * k, S.window.width + dx * k);
  } else if (drag.kind === 'pan') {
    viewport.pan.x += dx;
    viewport.pan.y += dy;
    scheduleDraw();
  } else if (drag.kind === 'length' && S.pending) {
    S.pending.points[1] = viewport.toImage(p);
    updatePending();
    scheduleDraw();
  }
}

function onPointerUp(e) {
  pointers.delete(e.pointerId);
  if (pinch) {
    if (pointers.size < 2) pinch = null;
    return;
  }
  if (!drag) return;
  const p = local(e);
  const d = drag;
  drag = null;
  if (e.type === 'pointercancel') return;
  if (d.kind === 'length' && S.pending) {
    S.pending.points[1] = viewport.toImage(p);
    if (d.finishOnUp || d.moved > 4) finishMeasurement(S.pending);
    else {
      S.pending.clicked = true; // a click: the second click ends it
      updatePending();
      scheduleDraw();
    }
  } else if (d.kind === 'angle' && d.moved <= 6) {
    const ip = viewport.toImage(p);
    if (!S.pending || S.pending.type !== 'angle') S.pending = { type: 'angle', points: [ip, { ...ip }] };
    else {
      const pts = S.pending.points;
      pts[pts.length - 1] = ip;
      if (pts.length === 3) {
        finishMeasurement(S.pending);
        return;
      }
      pts.push({ ...ip });
    }
    updatePending();
    scheduleDraw();
  }
}

let wheelRest = 0;

function onWheel(e) {
  e.preventDefault();
  const unit = e.deltaMode === 1 ? 40 : e.deltaMode === 2 ? 800 : 1;
  const delta = e.deltaY * unit;
  if (e.ctrlKey || e.metaKey) {
    zoomBy(Math.exp(-delta / 500), local(e));
    return;
  }
  wheelRest += delta;
  const notch = 50; // a mouse notch is 100 px in Chromium; trackpads send small deltas
  const steps = Math.trunc(wheelRest / notch);
  if (steps) {
    wheelRest -= steps * notch;
    step(Math.sign(steps) * Math.max(1, Math.round(Math.abs(steps) / 2)));
  }
}

function onKey(e) {
  if (e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement || e.target instanceof HTMLTextAreaElement) return;
  if (e.altKey || e.ctrlKey || e.metaKey) return;
  if (S.mode !== 'study' || !S.slices.length) return;
  const page = Math.max(1, Math.round(S.slices.length / 10));
  const k = windowSensitivity() * 8;
  const actions = {
    ArrowDown: () => step(1),
    ArrowUp: () => step(-1),
    PageDown: () => step(page),
    PageUp: () => step(-page),
    Home: () => goTo(0, -1),
    End: () => goTo(S.slices.length - 1, 1),
    ArrowRight: () => S.window && (e.shiftKey ? setWindow(S.window.center + k, S.window.width) : setWindow(S.window.center, S.window.width + k)),
    ArrowLeft: () => S.window && (e.shiftKey ? setWindow(S.window.center - k, S.window.width) : setWindow(S.window.center, S.window.width - k)),
    '+': () => zoomBy(1.25),
    '=': () => zoomBy(1.25),
    '-': () => zoomBy(0.8),
    0: () => {
      viewport.fit();
      scheduleDraw();
    },
    w: () => setTool('wl'),
    p: () => setTool('pan'),
    l: () => setTool('length'),
    a: () => setTool('angle'),
    i: () => $('invert').click(),
    r: reset,
    ' ': () => $('cine').click(),
    Delete: () => $('clear').click(),
    Backspace: () => $('clear').click(),
    Escape: () => {
      if (!$('help').hidden) toggleHelp(false);
      else {
        S.pending = null;
        scheduleDraw();
      }
    },
    '?': () => toggleHelp(),
  };
  PRESETS.forEach((p, n) => {
    actions[String(n + 1)] = () => applyPreset(p.key);
  });
  const key = e.key.length === 1 ? e.key.toLowerCase() : e.key;
  const act = actions[key] ?? actions[e.key];
  if (!act) return;
  // space and arrows on a button or the slider keep their own meaning
  if ((e.target instanceof HTMLButtonElement) && (key === ' ' || key === 'Enter')) return;
  e.preventDefault();
  act();
}

function toggleHelp(show = $('help').hidden) {
  $('help').hidden = !show;
  $('help-toggle').setAttribute('aria-expanded', String(show));
  if (show) $('help-close').focus();
  else $('viewport').focus();
}

// ---------------------------------------------------------------------------------------------
// report pane

function setReportOpen(open) {
  $('report').hidden = !open;
  $('report-toggle').setAttribute('aria-expanded', String(open));
  document.body.classList.toggle('with-report', open);
  requestAnimationFrame(() => {
    if (viewport?.resize()) scheduleDraw();
  });
}

async function showReport(documentUniqueId) {
  const r = S.reports.find((x) => x.documentUniqueId === documentUniqueId) ?? S.reports[0];
  if (!r) return;
  $('report-select').value = r.documentUniqueId;
  const body = $('report-body');
  body.replaceChildren(el('p', { class: 'muted' }, 'Loading the report…'));
  setReportOpen(true);
  try {
    const html = await api.reportHtml(r.url ?? `/viewer/api/reports/${encodeURIComponent(r.documentUniqueId)}`);
    body.replaceChildren(sanitize(html));
    S.reportShown = r.documentUniqueId;
    S.reportText = body.innerText.replace(/\s+/g, ' ').trim().slice(0, 2000);
  } catch (e) {
    body.replaceChildren(el('p', { class: 'error' }, e.message));
  }
}

// ---------------------------------------------------------------------------------------------
// pages

async function openStudy(uid) {
  S.mode = 'study';
  $('study-view').hidden = false;
  viewport = new Viewport($('viewport'), $('image'), $('annotations'));
  wireStudyControls();
  let data;
  try {
    data = await api.study(uid);
  } catch (e) {
    S.error = e.message;
    showError(e);
    $('loading').hidden = true;
    return;
  }
  S.study = data.study ?? {};
  // series without images (a KOS manifest, SR, a presentation state) have nothing to show here
  const hasPixels = (i) => i.hasPixelData !== false && i.rows !== 0;
  S.series = (data.series ?? []).filter((s) => (s.instances ?? []).some(hasPixels));
  for (const s of S.series) s.instances = s.instances.filter(hasPixels);
  S.reports = data.reports ?? [];
  const st = S.study;
  document.title = `${personName(st.patientName) || st.patientId || 'Study'} · ${date(st.studyDate)} · hiehub viewer`;
  $('study-title').textContent = [personName(st.patientName), patientIdText(st.patientId), date(st.studyDate), st.description].filter(Boolean).join(' · ');
  if (st.patientId) {
    const link = $('patient-link');
    link.href = `?patient=${encodeURIComponent(st.patientId)}`;
    link.hidden = false;
  }
  buildSeriesList();
  buildReportList();
  if (!S.series.length) {
    showError('The hub holds no images of this study.');
    $('loading').hidden = true;
  } else {
    const wanted = S.series.findIndex((s) => s.seriesInstanceUid === params.get('series'));
    openSeries(wanted >= 0 ? wanted : 0);
  }
  if (S.reports.length) {
    const requested = params.get('report');
    if (requested || window.matchMedia('(min-width: 1000px)').matches) showReport(requested ?? S.reports[0].documentUniqueId);
  }
}

function buildSeriesList() {
  const list = $('series-list');
  list.replaceChildren(
    ...S.series.map((s, i) => {
      const n = (s.instances ?? []).reduce((a, x) => a + Math.max(1, Number(x.numberOfFrames) || 1), 0);
      const name = `Series ${s.seriesNumber ?? i + 1} ${s.modality ?? ''}`.trim();
      const thumb = s.thumbnail ? el('img', { src: s.thumbnail, alt: '', loading: 'lazy', width: 96, height: 96 }) : el('span', { class: 'nothumb' }, s.modality ?? '?');
      const b = el('button', { type: 'button', class: 'series-item', 'aria-current': 'false', 'aria-label': `${name}${s.description ? `, ${s.description}` : ''}, ${n} images` },
        thumb,
        el('span', { class: 'series-name' }, name),
        s.description ? el('span', { class: 'series-desc' }, s.description) : null,
        el('span', { class: 'series-count' }, `${n} image${n === 1 ? '' : 's'}`),
        el('span', { class: 'loaded' }, ''));
      b.addEventListener('click', () => openSeries(i));
      return el('li', {}, b);
    }),
  );
}

function buildReportList() {
  const sel = $('report-select');
  sel.replaceChildren(...S.reports.map((r) => el('option', { value: r.documentUniqueId }, `${r.title || 'Report'}${r.creationTime ? ` (${date(r.creationTime)})` : ''}`)));
  $('report-toggle').hidden = S.reports.length === 0;
  $('report-toggle').textContent = S.reports.length > 1 ? `Reports (${S.reports.length})` : 'Report';
}

let wired = false;

function wireStudyControls() {
  if (wired) return;
  wired = true;
  const vp = $('viewport');
  vp.addEventListener('pointerdown', onPointerDown);
  vp.addEventListener('pointermove', onPointerMove);
  vp.addEventListener('pointerup', onPointerUp);
  vp.addEventListener('pointercancel', onPointerUp);
  vp.addEventListener('wheel', onWheel, { passive: false });
  vp.addEventListener('contextmenu', (e) => e.preventDefault());
  document.addEventListener('keydown', onKey);
  for (const b of document.querySelectorAll('[data-tool]')) b.addEventListener('click', () => setTool(b.dataset.tool));
  const preset = $('preset');
  PRESETS.forEach((p, n) => preset.append(el('option', { value: p.key }, `${n + 1} ${p.label} (${p.width}/${p.center})`)));
  preset.addEventListener('change', () => applyPreset(preset.value));
  $('zoom-in').addEventListener('click', () => zoomBy(1.25));
  $('zoom-out').addEventListener('click', () => zoomBy(0.8));
  $('zoom-fit').addEventListener('click', () => {
    viewport.fit();
    scheduleDraw();
  });
  $('reset').addEventListener('click', reset);
  $('invert').addEventListener('click', () => {
    S.invert = !S.invert;
    $('invert').setAttribute('aria-pressed', String(S.invert));
    scheduleDraw();
  });
  $('clear').addEventListener('click', () => {
    S.measurements.delete(S.slice);
    S.pending = null;
    scheduleDraw();
  });
  $('cine').addEventListener('click', () => (S.cine.playing ? stopCine() : startCine()));
  $('fps').addEventListener('change', () => {
    const v = Math.round(Number($('fps').value));
    S.cine.fps = Math.min(60, Math.max(1, Number.isFinite(v) ? v : 10));
    $('fps').value = String(S.cine.fps);
  });
  $('slider').addEventListener('input', () => goTo(Number($('slider').value) - 1));
  $('report-toggle').addEventListener('click', () => {
    if ($('report').hidden) showReport($('report-select').value);
    else setReportOpen(false);
  });
  $('report-close').addEventListener('click', () => {
    setReportOpen(false);
    $('report-toggle').focus();
  });
  $('report-select').addEventListener('change', () => showReport($('report-select').value));
  $('help-toggle').addEventListener('click', () => toggleHelp());
  $('help-close').addEventListener('click', () => toggleHelp(false));
  new ResizeObserver(() => {
    if (viewport.resize()) {
      viewport.draw();
      scheduleDraw();
    }
  }).observe(vp);
}

async function openPatient(pid) {
  S.mode = 'patient';
  $('patient-view').hidden = false;
  let data;
  try {
    data = await api.patientStudies(pid);
  } catch (e) {
    S.error = e.message;
    showError(e);
    return;
  }
  const p = data.patient ?? {};
  $('patient-heading').textContent = `Imaging studies of ${personName(p.name) || p.id || pid}`;
  document.title = `${personName(p.name) || pid} · hiehub viewer`;
  $('patient-facts').textContent = [`ID ${patientIdText(p.id ?? pid)}`, p.birthDate ? `born ${date(p.birthDate)}` : '', p.sex ? `sex ${p.sex}` : ''].filter(Boolean).join(' · ');
  const studies = data.studies ?? [];
  $('patient-empty').hidden = studies.length > 0;
  $('patient-studies').hidden = studies.length === 0;
  const href = (s, report) => `?study=${encodeURIComponent(s.studyInstanceUid)}${report ? `&report=${encodeURIComponent(report)}` : ''}`;
  $('patient-studies').tBodies[0].replaceChildren(
    ...studies.map((s) =>
      el('tr', {},
        el('td', {}, [date(s.studyDate), time(s.studyTime)].filter(Boolean).join(' ')),
        el('td', {}, el('a', { href: href(s) }, s.description || s.studyInstanceUid)),
        el('td', {}, (s.modalities ?? []).join(', ')),
        el('td', {}, s.accessionNumber ?? ''),
        el('td', {}, `${s.numberOfSeries ?? '?'} / ${s.numberOfInstances ?? '?'}`),
        el('td', {}, ...(s.reports ?? []).flatMap((r, k) => [k ? ', ' : '', el('a', { href: href(s, r.documentUniqueId) }, r.title || 'Report')])))),
  );
}

const study = params.get('study');
const patient = params.get('patient');
if (study) openStudy(study);
else if (patient) openPatient(patient);
else showError('Open a study with ?study=<StudyInstanceUID>, or a patient\'s studies with ?patient=<patient id>.');
